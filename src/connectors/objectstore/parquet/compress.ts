// Page compression for Parquet: zstd (zstd-napi) and snappy (snappy), native libraries
// loaded only when a plan asks for them. Writers compress on a thread of their own
// (compress-worker.ts); readers decompress in place.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { CompressReply, CompressRequest } from './compress-worker.js';

export type ParquetCompression = 'zstd' | 'snappy' | 'none';

export interface Codec {
  /** Parquet's CompressionCodec id */
  id: number;
  /** the name and level it was loaded with (another thread loads its own from them) */
  name: ParquetCompression;
  level?: number;
  /** zstd gives a buffer of its own (not a view of a larger one) */
  compress(raw: Buffer): Buffer;
  decompress(body: Buffer): Buffer;
  /** compresses the concatenation of `parts` off the main thread; the parts may be reused at once */
  compressParts(parts: Buffer[]): Promise<Buffer>;
  /** sends the pages that wait to be compressed on their way: a writer calls it before it waits for its pages */
  flush(): void;
}

/**
 * One thread for every writer's pages; it keeps the process alive only while it has work.
 * Pages travel a few megabytes at a time (or when a writer waits for them): each message cost
 * the main thread about half a millisecond (measured: 1,100 messages for 3M rows took 0.6 s in
 * postMessage, as many with the pages copied as transferred).
 */
class CompressionThread {
  private worker?: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  private outbox: CompressRequest['pages'] = [];
  private outboxBytes = 0;
  /** page buffers the thread gave back, for the next pages (fewer fresh buffers, fewer garbage collections) */
  private spare: ArrayBuffer[] = [];

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./compress-worker.js', import.meta.url));
    w.unref();
    w.on('message', (m: CompressReply) => {
      for (const page of m.pages) {
        if (this.spare.length < MAX_SPARE_PAGES) this.spare.push(page.raw);
        const p = this.pending.get(page.id)!;
        this.pending.delete(page.id);
        if (page.body) p.resolve(Buffer.from(page.body));
        else p.reject(new Error(`page compression failed: ${page.error}`));
      }
      if (this.pending.size === 0) w.unref();
    });
    w.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker = undefined;
    });
    this.worker = w;
    return w;
  }

  compress(codec: ParquetCompression, level: number | undefined, parts: Buffer[]): Promise<Buffer> {
    let total = 0;
    for (const p of parts) total += p.length;
    // a buffer of its own (not from Node's pool, not zeroed), so that transferring it moves nothing
    // else; new ones are rounded up so that they fit the next pages, which differ a little in size
    const fit = this.spare.findIndex((b) => b.byteLength >= total);
    const buffer =
      fit >= 0
        ? this.spare.splice(fit, 1)[0]!
        : (Buffer.allocUnsafeSlow(Math.ceil(total / PAGE_ROUNDING) * PAGE_ROUNDING).buffer as ArrayBuffer);
    const raw = new Uint8Array(buffer);
    let at = 0;
    for (const p of parts) {
      raw.set(p, at);
      at += p.length;
    }
    const id = this.nextId++;
    this.outbox.push({ id, codec, level, raw: buffer, length: total });
    this.outboxBytes += total;
    const compressed = new Promise<Buffer>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (this.outboxBytes >= POST_BYTES) this.flush();
    return compressed;
  }

  flush(): void {
    if (this.outbox.length === 0) return;
    const pages = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    const w = this.start();
    w.ref();
    w.postMessage(
      { pages } satisfies CompressRequest,
      pages.map((p) => p.raw),
    );
  }
}

/** page buffers kept for reuse: about the pages in flight at once */
const MAX_SPARE_PAGES = 16;
const PAGE_ROUNDING = 64 * 1024;
/** raw bytes of pages sent to the thread in one message */
const POST_BYTES = 4 * 1024 * 1024;

let thread: CompressionThread | undefined;
const compressionThread = () => (thread ??= new CompressionThread());
const offThread = (codec: ParquetCompression, level: number | undefined) => ({
  compressParts: (parts: Buffer[]) => compressionThread().compress(codec, level, parts),
  flush: () => thread?.flush(),
});

const CODEC_IDS: Record<string, number> = { none: 0, snappy: 1, gzip: 2, zstd: 6 };

const identity: Codec = {
  id: 0,
  name: 'none',
  compress: (b) => b,
  decompress: (b) => b,
  compressParts: async (parts) => Buffer.concat(parts),
  flush: () => {},
};

export async function loadCodec(name: ParquetCompression, level?: number): Promise<Codec> {
  if (name === 'none') return identity;
  if (name === 'snappy') {
    const snappy = await import('snappy');
    return {
      id: CODEC_IDS.snappy!,
      name,
      level,
      compress: (b) => snappy.compressSync(b),
      decompress: (b) => snappy.uncompressSync(b) as Buffer,
      ...offThread(name, level),
    };
  }
  const zstd = await import('zstd-napi');
  // the native binding is a CommonJS module whose exports an ESM import cannot name
  const native = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');
  const context = new native.CCtx();
  const compressionLevel = level ?? 3;
  // one output buffer for every page, and the result copied into a buffer of its own and of its
  // size: zstd-napi's Compressor allocates a bound-sized buffer per page and leaves it as
  // garbage, which the compression thread's small heap collected so rarely that it held tens
  // of megabytes of them
  let scratch = Buffer.alloc(0);
  const compress = (raw: Buffer): Buffer => {
    const bound = native.compressBound(raw.length);
    if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(bound);
    const n = context.compress(scratch, raw, compressionLevel);
    const out = Buffer.allocUnsafeSlow(n);
    scratch.copy(out, 0, 0, n);
    return out;
  };
  const decompressor = new zstd.Decompressor();
  return {
    id: CODEC_IDS.zstd!,
    name,
    level,
    compress,
    decompress: (b) => decompressor.decompress(b),
    ...offThread(name, level),
  };
}

const readers = new Map<number, Promise<Codec>>();

/** The codec of a Parquet CompressionCodec id, for reading. */
export function codecById(id: number): Promise<Codec> {
  const name = Object.entries(CODEC_IDS).find(([, v]) => v === id)?.[0];
  if (name !== 'none' && name !== 'snappy' && name !== 'zstd')
    return Promise.reject(new Error(`Parquet compression codec ${id} is not one ferry writes`));
  let codec = readers.get(id);
  if (!codec) readers.set(id, (codec = loadCodec(name)));
  return codec;
}
