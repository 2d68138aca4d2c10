// Where backups are kept: a local folder, or S3 and S3-compatible object storage
// (s3://bucket/prefix?region=…&endpoint=…&forcePathStyle=true, credentials from the AWS chain).
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FerryError } from '../../core/errors.js';
import { hasLiteralPassword, redact } from '../../core/secrets.js';

export interface StoredFile {
  bytes: number;
  sha256: string;
}

export interface BackupStore {
  /** where it is: a folder, or an s3:// URL with its parameters (never credentials), to open it again */
  readonly location: string;
  /** a file of the store, for messages */
  describe(path: string): string;
  /** the folder of a local store (to keep keys out of it) */
  readonly localDir?: string;
  write(path: string, data: Readable): Promise<StoredFile>;
  /** the file's bytes; BACKUP_INVALID naming it when it is missing */
  read(path: string): Promise<Readable>;
  /** size in bytes, undefined when missing */
  size(path: string): Promise<number | undefined>;
  /** a store for a folder below this one */
  sub(path: string): BackupStore;
}

/** Counts and hashes what passes through. */
export class Tally extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    done(null, chunk);
  }
  result(): StoredFile {
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}

function missing(where: string): FerryError {
  return new FerryError('BACKUP_INVALID', `${where} is missing`, 'the backup is incomplete: use another backup');
}

class FolderStore implements BackupStore {
  readonly location: string;
  constructor(readonly localDir: string) {
    this.location = localDir;
  }

  describe(path: string): string {
    return join(this.localDir, path);
  }

  async write(path: string, data: Readable): Promise<StoredFile> {
    const file = join(this.localDir, path);
    mkdirSync(dirname(file), { recursive: true });
    const tally = new Tally();
    const partial = `${file}.partial`;
    try {
      await pipeline(data, tally, createWriteStream(partial));
      const fd = openSync(partial, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      rmSync(partial, { force: true });
      throw e;
    }
    renameSync(partial, file);
    return tally.result();
  }

  async read(path: string): Promise<Readable> {
    const file = join(this.localDir, path);
    if (!existsSync(file)) throw missing(file);
    return createReadStream(file);
  }

  async size(path: string): Promise<number | undefined> {
    const file = join(this.localDir, path);
    return existsSync(file) ? statSync(file).size : undefined;
  }

  sub(path: string): BackupStore {
    return new FolderStore(join(this.localDir, path));
  }
}

type S3Sdk = typeof import('@aws-sdk/client-s3');

interface S3Place {
  bucket: string;
  prefix: string;
  /** the location's parameters ("?endpoint=…"), or "" */
  query: string;
  client: InstanceType<S3Sdk['S3Client']>;
  sdk: S3Sdk;
}

class S3BackupStore implements BackupStore {
  readonly location: string;
  constructor(private readonly place: S3Place) {
    this.location = `s3://${place.bucket}/${place.prefix.replace(/\/$/, '')}${place.query}`;
  }

  describe(path: string): string {
    return `s3://${this.place.bucket}/${this.place.prefix}${path}`;
  }

  private failure(err: unknown, what: string): FerryError {
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    return new FerryError(
      'BACKUP_INVALID',
      `${what}: ${e.name ?? 'error'}: ${(e.message ?? String(err)).split('\n')[0]}`,
      status === 403
        ? 'grant the credentials s3:PutObject and s3:GetObject on the backup prefix'
        : 'check the bucket, the region and the endpoint in the backup location',
      { transient: status !== undefined && status >= 500, cause: err },
    );
  }

  async write(path: string, data: Readable): Promise<StoredFile> {
    // staged in a local file: a PutObject of a stream needs its length
    const stage = mkdtempSync(join(tmpdir(), 'ferry-backup-'));
    try {
      const file = join(stage, 'part');
      const tally = new Tally();
      await pipeline(data, tally, createWriteStream(file));
      const stored = tally.result();
      const key = this.place.prefix + path;
      try {
        await this.place.client.send(
          new this.place.sdk.PutObjectCommand({
            Bucket: this.place.bucket,
            Key: key,
            Body: createReadStream(file),
            ContentLength: stored.bytes,
          }),
        );
      } catch (err) {
        throw this.failure(err, `cannot write s3://${this.place.bucket}/${key}`);
      }
      return stored;
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }

  async read(path: string): Promise<Readable> {
    const key = this.place.prefix + path;
    try {
      const out = await this.place.client.send(
        new this.place.sdk.GetObjectCommand({ Bucket: this.place.bucket, Key: key }),
      );
      return out.Body as Readable;
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') throw missing(this.describe(path));
      throw this.failure(err, `cannot read s3://${this.place.bucket}/${key}`);
    }
  }

  async size(path: string): Promise<number | undefined> {
    const key = this.place.prefix + path;
    try {
      const out = await this.place.client.send(
        new this.place.sdk.HeadObjectCommand({ Bucket: this.place.bucket, Key: key }),
      );
      return out.ContentLength;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw this.failure(err, `cannot read s3://${this.place.bucket}/${key}`);
    }
  }

  sub(path: string): BackupStore {
    return new S3BackupStore({ ...this.place, prefix: `${this.place.prefix}${path.replace(/\/$/, '')}/` });
  }
}

/** Opens the place a backup location names: a folder path, or s3://bucket/prefix?… */
export async function openBackupStore(location: string): Promise<BackupStore> {
  if (!/^s3:\/\//i.test(location)) return new FolderStore(resolve(location.replace(/^file:(\/\/)?/i, '')));
  if (hasLiteralPassword(location) || /^s3:\/\/[^/]*@/i.test(location))
    throw new FerryError(
      'URL_INVALID',
      `the backup location ${redact(location)} holds credentials`,
      'leave them out: ferry takes S3 credentials from the AWS credential chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, a role)',
    );
  const u = new URL(location);
  const params = u.searchParams;
  const known = new Set(['region', 'endpoint', 'forcePathStyle']);
  for (const k of params.keys())
    if (!known.has(k))
      throw new FerryError(
        'URL_INVALID',
        `unknown parameter "${k}" in the backup location ${redact(location)}`,
        'use region, endpoint and forcePathStyle',
      );
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const sdk = await import('@aws-sdk/client-s3');
  const endpoint = params.get('endpoint') ?? undefined;
  const client = new sdk.S3Client({
    region: params.get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint,
    forcePathStyle: params.get('forcePathStyle') === 'true',
    // S3-compatible stores often refuse the SDK's default trailing checksums
    requestChecksumCalculation: endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    responseChecksumValidation: endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
  });
  const prefix = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return new S3BackupStore({
    bucket: u.hostname,
    prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix,
    query: u.search,
    client,
    sdk,
  });
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
