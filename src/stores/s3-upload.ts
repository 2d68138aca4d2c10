// A streamed upload to S3: one PutObject when the object is smaller than a part, else a
// multipart upload with at most `uploadConcurrency` parts in flight (the memory bound),
// completed only on close, so the object appears whole or not at all.
import type { S3Sdk, S3Store } from './s3.js';
import { Tally, type ObjectWriter } from './store.js';

export class MultipartWriter implements ObjectWriter {
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
    private readonly sdk: S3Sdk,
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
    if (this.buffered >= this.store.settings.partSize) await this.sendPart();
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
