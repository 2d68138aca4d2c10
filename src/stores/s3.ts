// S3 and S3-compatible stores (MinIO, R2, GCS interoperability, local servers) through the
// AWS SDK for JavaScript v3 and its standard credential chain. Uploads are multipart with a
// bounded number of parts in memory; the SDK retries throttling, 5xx and network errors
// with backoff, and whatever still fails becomes a one-line FerryError.
import { createRequire } from 'node:module';
import { FerryError, type ErrorCode } from '../core/errors.js';
import { Tally, type ListedObject, type ObjectStore, type ObjectWriter, type RandomAccess } from './store.js';

type S3 = typeof import('@aws-sdk/client-s3');
type Client = InstanceType<S3['S3Client']>;

export interface S3Settings {
  bucket: string;
  /** key prefix inside the bucket, "" or ending with "/" */
  prefix: string;
  region?: string;
  endpoint?: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  sse?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  expectedBucketOwner?: string;
  partBytes: number;
  uploadConcurrency: number;
  maxAttempts: number;
}

const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'TimeoutError',
  'RequestTimeoutException',
  'NetworkingError',
]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  Code?: string;
}

/** The S3 permission an operation needs, for the message of an AccessDenied. */
export type S3Action = 's3:ListBucket' | 's3:PutObject' | 's3:GetObject' | 's3:DeleteObject';

export class S3Store implements ObjectStore {
  readonly location: string;
  private readonly client: Client;
  private readonly base: { Bucket: string; ExpectedBucketOwner?: string };

  private constructor(
    private readonly sdk: S3,
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
    return new S3Store(createRequire(import.meta.url)('@aws-sdk/client-s3') as S3, settings);
  }

  private key(k: string): string {
    return this.settings.prefix + k;
  }

  /** A FerryError for an SDK error: what was being done, why it failed, what to do. */
  error(err: unknown, what: string, action: S3Action, code: ErrorCode = 'WRITE_FAILED'): FerryError {
    if (err instanceof FerryError) return err;
    const e = err as SdkError;
    const name = e.name ?? e.Code ?? '';
    const status = e.$metadata?.httpStatusCode;
    const where = this.settings.endpoint ? ` at ${this.settings.endpoint}` : '';
    const first = (e.message ?? String(err)).split('\n')[0]!;
    const mk = (c: ErrorCode, message: string, act: string, transient = false) =>
      new FerryError(c, message, act, { transient, cause: err });
    switch (name) {
      case 'NoSuchBucket':
        return mk(
          'DATABASE_NOT_FOUND',
          `bucket ${this.settings.bucket} does not exist${where}`,
          'create the bucket, or correct the bucket name in the target URL (s3://bucket/prefix)',
        );
      case 'InvalidAccessKeyId':
        return mk(
          'AUTH_FAILED',
          `the S3 endpoint${where} does not know the access key id`,
          'check AWS_ACCESS_KEY_ID (or AWS_PROFILE, or the credentials in the URL)',
        );
      case 'SignatureDoesNotMatch':
        return mk(
          'AUTH_FAILED',
          `the S3 endpoint${where} refused the secret access key`,
          'check AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or the credentials in the URL)',
        );
      case 'ExpiredToken':
      case 'InvalidToken':
      case 'TokenRefreshRequired':
        return mk(
          'AUTH_FAILED',
          `the S3 session token is expired or invalid${where}`,
          'renew the credentials (AWS_SESSION_TOKEN, aws sso login, …)',
        );
      case 'CredentialsProviderError':
        return mk(
          'AUTH_FAILED',
          'no AWS credentials were found',
          'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an instance or task role applies',
        );
      case 'AccessDenied':
      case 'AllAccessDisabled':
        return mk(
          'AUTH_FAILED',
          `access denied ${what}`,
          `grant the credentials ${action} on arn:aws:s3:::${this.settings.bucket}${action === 's3:ListBucket' ? '' : `/${this.settings.prefix}*`}${this.settings.expectedBucketOwner ? `, and check that account ${this.settings.expectedBucketOwner} owns the bucket` : ''}`,
        );
      case 'PermanentRedirect':
      case 'AuthorizationHeaderMalformed':
      case 'IllegalLocationConstraintException':
        return mk(
          'CONNECT_FAILED',
          `bucket ${this.settings.bucket} is in another region than ${this.settings.region ?? 'the default one'}`,
          'set region=<the bucket region> in the target URL or target.options',
        );
      case 'InvalidBucketName':
        return mk(
          'URL_INVALID',
          `"${this.settings.bucket}" is not a valid bucket name`,
          'correct the bucket name in the target URL (s3://bucket/prefix)',
        );
      case 'KMS.NotFoundException':
      case 'KMS.DisabledException':
      case 'KMS.AccessDeniedException':
        return mk(
          'AUTH_FAILED',
          `the KMS key refused the encryption ${what}: ${first}`,
          'check target.options.kmsKeyId and the key policy',
        );
    }
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND')
      return mk(
        'CONNECT_FAILED',
        `cannot reach the S3 endpoint${where || ` of region ${this.settings.region ?? 'us-east-1'}`} (${e.code})`,
        'check the endpoint and that the server is running',
        true,
      );
    if (TRANSIENT_NAMES.has(name) || TRANSIENT_CODES.has(e.code ?? '') || (status !== undefined && status >= 500))
      return mk(
        code,
        `${what}: ${name || e.code || 'error'}: ${first}`,
        'ferry retries this; if it persists, check the S3 endpoint',
        true,
      );
    if (status === 403)
      return mk(
        'AUTH_FAILED',
        `access denied ${what} (${name || 'HTTP 403'})`,
        `grant the credentials ${action} on arn:aws:s3:::${this.settings.bucket}/${this.settings.prefix}*`,
      );
    return mk(code, `${what}: ${name ? `${name}: ` : ''}${first}`, 'check the S3 endpoint and the bucket settings');
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
    const { sse, kmsKeyId } = this.settings;
    return { ...(sse ? { ServerSideEncryption: sse } : {}), ...(kmsKeyId ? { SSEKMSKeyId: kmsKeyId } : {}) };
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    await this.send(
      new this.sdk.PutObjectCommand({ ...this.base, Key: this.key(key), Body: body, ...this.encryption() }),
      `writing s3://${this.settings.bucket}/${this.key(key)}`,
      's3:PutObject',
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

/**
 * A streamed upload: one PutObject when the object is smaller than a part, else a multipart
 * upload with at most `uploadConcurrency` parts in flight (the memory bound).
 */
class MultipartWriter implements ObjectWriter {
  private buffers: Buffer[] = [];
  private buffered = 0;
  private uploadId?: Promise<string>;
  private nextPart = 1;
  private readonly parts: { PartNumber: number; ETag?: string }[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly tally = new Tally();
  private readonly what: string;

  constructor(
    private readonly store: S3Store,
    private readonly sdk: S3,
    private readonly key: string,
    private readonly base: { Bucket: string; ExpectedBucketOwner?: string },
    private readonly encryption: Record<string, string>,
  ) {
    this.what = `writing s3://${base.Bucket}/${key}`;
  }

  async write(...chunks: Buffer[]): Promise<void> {
    for (const c of chunks) {
      this.tally.add(c);
      this.buffers.push(c);
      this.buffered += c.length;
    }
    if (this.buffered >= this.store.settings.partBytes) await this.sendPart();
  }

  private async sendPart(): Promise<void> {
    const body = Buffer.concat(this.buffers);
    this.buffers = [];
    this.buffered = 0;
    this.uploadId ??= this.store
      .run<{ UploadId?: string }>(
        new this.sdk.CreateMultipartUploadCommand({ ...this.base, Key: this.key, ...this.encryption }),
        this.what,
      )
      .then((r) => r.UploadId!);
    const uploadId = await this.uploadId;
    const partNumber = this.nextPart++;
    const sent: Promise<void> = this.store
      .run<{ ETag?: string }>(
        new this.sdk.UploadPartCommand({
          ...this.base,
          Key: this.key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
        }),
        this.what,
      )
      .then(
        (r) => {
          this.parts.push({ PartNumber: partNumber, ETag: r.ETag });
        },
        (err: unknown) => {
          this.failure ??= err;
        },
      )
      .finally(() => this.inflight.delete(sent));
    this.inflight.add(sent);
    while (this.inflight.size >= this.store.settings.uploadConcurrency) await Promise.race(this.inflight);
    if (this.failure !== undefined) throw this.failure;
  }

  async close(): Promise<{ bytes: number; sha256: string }> {
    if (this.uploadId === undefined) {
      const written = this.tally.result();
      const body = Buffer.concat(this.buffers);
      // the parts may go while the request is under way
      this.buffers = [];
      const put = new this.sdk.PutObjectCommand({ ...this.base, Key: this.key, Body: body, ...this.encryption });
      // the object's SHA-256, taken as it was written, is the payload hash the request is
      // signed with: the signer need not read the whole body a second time
      put.middlewareStack.add(
        (next) => (args) => {
          (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = written.sha256;
          return next(args);
        },
        { step: 'build', name: 'ferryPayloadHash' },
      );
      await this.store.run(put, this.what);
      return written;
    }
    if (this.buffered > 0) await this.sendPart();
    await Promise.all(this.inflight);
    if (this.failure !== undefined) throw this.failure;
    this.parts.sort((a, b) => a.PartNumber - b.PartNumber);
    await this.store.run(
      new this.sdk.CompleteMultipartUploadCommand({
        ...this.base,
        Key: this.key,
        UploadId: await this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
      this.what,
    );
    return this.tally.result();
  }

  async abort(): Promise<void> {
    if (this.uploadId === undefined) return;
    await Promise.allSettled(this.inflight);
    const uploadId = await this.uploadId.catch(() => undefined);
    if (uploadId)
      await this.store
        .run(new this.sdk.AbortMultipartUploadCommand({ ...this.base, Key: this.key, UploadId: uploadId }), this.what)
        .catch(() => {});
  }
}
