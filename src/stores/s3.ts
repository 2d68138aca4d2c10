// S3 and S3-compatible stores (MinIO, R2, GCS interoperability, local servers) through the
// AWS SDK for JavaScript v3 and its standard credential chain. Uploads are multipart with a
// bounded number of parts in memory; the SDK retries throttling, 5xx and network errors
// with backoff, and whatever still fails becomes a one-line FerryError.
import { createRequire } from 'node:module';
import type { LockHolder, LockOutcome } from '../core/contracts.js';
import type { ErrorCode, FerryError } from '../core/errors.js';
import type { S3Options } from './options.js';
import { s3Error, type S3Action, type SdkError } from './s3-errors.js';
import { takeLockObject } from './lock-object.js';
import { MultipartWriter } from './s3-upload.js';
import type { ListedObject, ObjectStore, ObjectWriter, RandomAccess } from './store.js';

export type S3Sdk = typeof import('@aws-sdk/client-s3');
type Client = InstanceType<S3Sdk['S3Client']>;

export interface S3Settings extends S3Options {
  bucket: string;
  /** key prefix inside the bucket, "" or ending with "/" */
  prefix: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export class S3Store implements ObjectStore {
  readonly location: string;
  private readonly client: Client;
  private readonly base: { Bucket: string; ExpectedBucketOwner?: string };

  private constructor(
    private readonly sdk: S3Sdk,
    readonly settings: S3Settings,
  ) {
    this.location = `s3://${settings.bucket}/${settings.prefix}`;
    const custom = settings.endpoint !== undefined;
    this.client = new sdk.S3Client({
      region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.credentials,
      maxAttempts: settings.maxAttempts,
      retryMode: 'standard',
      // S3-compatible stores often refuse the SDK's default trailing checksums
      requestChecksumCalculation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      responseChecksumValidation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
    });
    this.base = {
      Bucket: settings.bucket,
      ...(settings.expectedBucketOwner ? { ExpectedBucketOwner: settings.expectedBucketOwner } : {}),
    };
  }

  static async create(settings: S3Settings): Promise<S3Store> {
    // ferry supports Node 20 (package.json engines); the SDK's multi-line notice about its
    // future Node versions would break ferry's one-line messages on stderr
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    // required, not imported: an ESM import of this CommonJS package first scans its source for
    // the names it exports, about 20 ms of every command that talks to S3
    return new S3Store(createRequire(import.meta.url)('@aws-sdk/client-s3') as S3Sdk, settings);
  }

  private key(k: string): string {
    return this.settings.prefix + k;
  }

  /** A FerryError for an SDK error: what was being done, why it failed, what to do. */
  private error(err: unknown, what: string, action: S3Action, code?: ErrorCode): FerryError {
    return s3Error(err, this.settings, what, action, code);
  }

  /** Sends one command of the SDK (their classes share no type the client's overloads accept). */
  private async send<T>(command: object, what: string, action: S3Action, code?: ErrorCode): Promise<T> {
    try {
      return (await this.client.send(command as never)) as T;
    } catch (err) {
      throw this.error(err, what, action, code);
    }
  }

  async check(): Promise<void> {
    // one level of the prefix: as cheap as a single key, and some S3-compatible servers fail on truncated listings
    await this.send(
      new this.sdk.ListObjectsV2Command({ ...this.base, Prefix: this.settings.prefix, Delimiter: '/' }),
      `listing ${this.location}`,
      's3:ListBucket',
      'CONNECT_FAILED',
    );
  }

  private encryption(): Record<string, string> {
    const { kmsKeyId } = this.settings;
    // a KMS key names SSE-KMS without saying so
    const sse = this.settings.sse ?? (kmsKeyId ? 'aws:kms' : undefined);
    return { ...(sse ? { ServerSideEncryption: sse } : {}), ...(kmsKeyId ? { SSEKMSKeyId: kmsKeyId } : {}) };
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    await this.send(
      new this.sdk.PutObjectCommand({ ...this.base, Key: this.key(key), Body: body, ...this.encryption() }),
      `writing s3://${this.settings.bucket}/${this.key(key)}`,
      's3:PutObject',
    );
  }

  /** A lock object at the prefix's root (lock-object.ts), written with If-None-Match. */
  lock(name: string, me: LockHolder): Promise<LockOutcome> {
    return takeLockObject(
      {
        get: (key) => this.get(key),
        put: (key, body) => this.put(key, body),
        delete: (keys) => this.delete(keys),
        putIfAbsent: async (key, body) => {
          try {
            await this.client.send(
              new this.sdk.PutObjectCommand({
                ...this.base,
                Key: this.key(key),
                Body: body,
                IfNoneMatch: '*',
                ...this.encryption(),
              }),
            );
            return true;
          } catch (err) {
            const e = err as SdkError;
            if (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412) return false;
            throw this.error(
              err,
              `writing s3://${this.settings.bucket}/${this.key(key)}`,
              's3:PutObject',
              'WRITE_FAILED',
            );
          }
        },
      },
      `.${name}.lock`,
      me,
    );
  }

  writer(key: string): ObjectWriter {
    return new MultipartWriter(this, this.sdk, this.key(key), this.base, this.encryption());
  }

  /** For the multipart writer: one command, errors made FerryErrors. */
  run<T>(command: object, what: string): Promise<T> {
    return this.send<T>(command, what, 's3:PutObject');
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new this.sdk.GetObjectCommand({ ...this.base, Key: this.key(key) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if ((err as SdkError).name === 'NoSuchKey') return undefined;
      throw this.error(err, `reading s3://${this.settings.bucket}/${this.key(key)}`, 's3:GetObject', 'READ_FAILED');
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const out = await this.client.send(new this.sdk.HeadObjectCommand({ ...this.base, Key: this.key(key) }));
      return out.ContentLength ?? 0;
    } catch (err) {
      const e = err as SdkError;
      if (e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw this.error(err, `reading s3://${this.settings.bucket}/${this.key(key)}`, 's3:GetObject', 'READ_FAILED');
    }
  }

  open(key: string, size: number): RandomAccess {
    const full = this.key(key);
    return {
      size,
      read: async (start: number, end: number): Promise<Buffer> => {
        if (end <= start) return Buffer.alloc(0);
        const out = await this.send<{ Body?: { transformToByteArray(): Promise<Uint8Array> } }>(
          new this.sdk.GetObjectCommand({ ...this.base, Key: full, Range: `bytes=${start}-${end - 1}` }),
          `reading s3://${this.settings.bucket}/${full}`,
          's3:GetObject',
          'READ_FAILED',
        );
        return Buffer.from(await out.Body!.transformToByteArray());
      },
    };
  }

  async *stream(key: string): AsyncIterable<Buffer> {
    const what = `reading s3://${this.settings.bucket}/${this.key(key)}`;
    const out = await this.send<{ Body?: AsyncIterable<Buffer> }>(
      new this.sdk.GetObjectCommand({ ...this.base, Key: this.key(key) }),
      what,
      's3:GetObject',
      'READ_FAILED',
    );
    try {
      for await (const chunk of out.Body!) yield chunk;
    } catch (err) {
      throw this.error(err, what, 's3:GetObject', 'READ_FAILED');
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    let token: string | undefined;
    do {
      const out = await this.send<{
        Contents?: { Key?: string; Size?: number; ETag?: string }[];
        NextContinuationToken?: string;
        IsTruncated?: boolean;
      }>(
        new this.sdk.ListObjectsV2Command({ ...this.base, Prefix: this.key(prefix), ContinuationToken: token }),
        `listing s3://${this.settings.bucket}/${this.key(prefix)}`,
        's3:ListBucket',
        'READ_FAILED',
      );
      for (const o of out.Contents ?? [])
        yield { key: o.Key!.slice(this.settings.prefix.length), size: o.Size ?? 0, version: o.ETag ?? '' };
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async folders(prefix: string): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.send<{
        CommonPrefixes?: { Prefix?: string }[];
        NextContinuationToken?: string;
        IsTruncated?: boolean;
      }>(
        new this.sdk.ListObjectsV2Command({
          ...this.base,
          Prefix: this.key(prefix),
          Delimiter: '/',
          ContinuationToken: token,
        }),
        `listing s3://${this.settings.bucket}/${this.key(prefix)}`,
        's3:ListBucket',
        'READ_FAILED',
      );
      for (const p of out.CommonPrefixes ?? []) names.push(p.Prefix!.slice(this.key(prefix).length).replace(/\/$/, ''));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return names;
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const what = `deleting ${batch.length} objects under ${this.location}`;
      const out = await this.send<{ Errors?: { Key?: string; Code?: string; Message?: string }[] }>(
        new this.sdk.DeleteObjectsCommand({
          ...this.base,
          Delete: { Objects: batch.map((k) => ({ Key: this.key(k) })), Quiet: true },
        }),
        what,
        's3:DeleteObject',
      );
      const failed = out.Errors?.[0];
      if (failed)
        throw this.error(
          { name: failed.Code, message: failed.Message },
          `deleting s3://${this.settings.bucket}/${failed.Key}`,
          's3:DeleteObject',
        );
    }
  }

  async deleteFolder(prefix: string): Promise<void> {
    const keys: string[] = [];
    for await (const o of this.list(prefix)) keys.push(o.key);
    await this.delete(keys);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
