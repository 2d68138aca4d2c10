// Binary COPY decoded on a thread of its own (decode-worker.ts): the reading thread copies the
// socket's bytes into buffers it moves there, half a megabyte at a time, and gets column
// batches back whose buffers were moved too. Decoding every field was the largest part of the
// reading thread's work in a PostgreSQL → Parquet run, and that thread was the run's critical path.
import { Worker } from 'node:worker_threads';
import type { ColumnBatch, ColumnBuffers, ColumnDecoder, ColumnVector } from '../../core/columns.js';
import { FerryError } from '../../core/errors.js';
import type { DecodeReply, DecodeRequest } from './decode-protocol.js';

/** bytes a message to the thread carries: a message costs 0.1–0.25 ms of CPU, so not one a socket chunk */
const OUTBOX_BYTES = 512 * 1024;
/** a stream's buffers of bytes on their way or being decoded: past it, the socket waits */
const IN_FLIGHT = 4;
/** byte buffers the thread gave back, kept for the next ones (fresh ones cost page faults) */
const SPARE_OUTBOXES = 16;
/** batches' buffers kept to give back to the thread with the next bytes */
const SPARE_BATCHES = 4;
const YOUNG_GENERATION_MB = 4;

class DecodeThread {
  private worker?: Worker;
  private nextStream = 0;
  private readonly streams = new Map<number, ColumnDecodeStream>();
  private readonly spare: ArrayBuffer[] = [];

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./decode-worker.js', import.meta.url), {
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    w.unref();
    w.on('message', (m: DecodeReply) => this.reply(m));
    w.on('error', (e) => {
      this.worker = undefined;
      for (const s of [...this.streams.values()]) s.fail(e);
    });
    this.worker = w;
    return w;
  }

  post(m: DecodeRequest, transfer: ArrayBuffer[] = []): void {
    this.start().postMessage(m, transfer);
  }

  outbox(): Uint8Array {
    return new Uint8Array(this.spare.pop() ?? (Buffer.allocUnsafeSlow(OUTBOX_BYTES).buffer as ArrayBuffer));
  }

  open(decoders: ColumnDecoder[], batchRows: number): ColumnDecodeStream {
    const id = this.nextStream++;
    const s = new ColumnDecodeStream(this, id);
    this.streams.set(id, s);
    this.post({ t: 'open', stream: id, decoders, batchRows });
    this.worker!.ref();
    return s;
  }

  close(id: number): void {
    if (!this.streams.delete(id)) return;
    if (this.streams.size === 0) this.worker?.unref();
  }

  private reply(m: DecodeReply): void {
    const s = this.streams.get(m.stream);
    if (m.t === 'failed') return s?.fail(new FerryError(m.code, m.message, m.action));
    for (const b of m.taken) if (this.spare.length < SPARE_OUTBOXES) this.spare.push(b);
    s?.received(m.taken.length, m.batches, m.last);
  }
}

/**
 * One COPY's bytes on their way to the thread and its batches back, as copy.ts's CopyOut takes
 * them: `push` the bytes, `ready` the batches, `backlogged` while the socket should wait.
 */
export class ColumnDecodeStream {
  readonly ready: ColumnBatch[] = [];
  failure?: Error;
  /** called when batches come or the thread catches up (CopyOut then reads on) */
  wake: () => void = () => {};
  private outbox?: Uint8Array;
  private outboxView?: DataView;
  private used = 0;
  /** the socket chunk bytes were last taken from, and a view of it */
  private chunk?: Buffer;
  private chunkView?: DataView;
  private inFlight = 0;
  private readonly spares: ColumnBuffers[][] = [];
  private ended?: { resolve: () => void; reject: (e: Error) => void };

  constructor(
    private readonly thread: DecodeThread,
    private readonly id: number,
  ) {}

  /** Takes chunk[start..end): the payload of one CopyData message, which PostgreSQL sends a row at a time. */
  push(chunk: Buffer, start: number, end: number): void {
    while (start < end) {
      if (!this.outbox) {
        this.outbox = this.thread.outbox();
        this.outboxView = new DataView(this.outbox.buffer);
      }
      const take = Math.min(end - start, OUTBOX_BYTES - this.used);
      // most rows are short: moving four bytes at a time copies them faster than a call into
      // the copy (which took a tenth of the reading thread's time, a call a row)
      if (take < 96) {
        if (chunk !== this.chunk) {
          this.chunk = chunk;
          this.chunkView = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        }
        const from = this.chunkView!;
        const to = this.outboxView!;
        const p = this.used;
        let i = 0;
        for (; i + 4 <= take; i += 4) to.setUint32(p + i, from.getUint32(start + i));
        for (; i < take; i++) this.outbox[p + i] = chunk[start + i]!;
      } else chunk.copy(this.outbox, this.used, start, start + take);
      this.used += take;
      start += take;
      if (this.used === OUTBOX_BYTES) this.send();
    }
  }

  backlogged(): boolean {
    return this.failure !== undefined || this.ready.length > 0 || this.inFlight >= IN_FLIGHT;
  }

  /** The COPY has ended: resolves once the last batch is in `ready`. */
  end(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.send();
    const done = new Promise<void>((resolve, reject) => (this.ended = { resolve, reject }));
    this.thread.post({ t: 'finish', stream: this.id });
    return done;
  }

  /** Drops the stream (the reader stopped early or failed). */
  abort(): void {
    this.thread.close(this.id);
    this.thread.post({ t: 'abort', stream: this.id });
  }

  private send(): void {
    const outbox = this.outbox;
    if (!outbox) return;
    const spares = this.spares.splice(0);
    const transfer = [outbox.buffer as ArrayBuffer];
    for (const set of spares)
      for (const b of set) {
        transfer.push(b.data.buffer as ArrayBuffer);
        if (b.offsets) transfer.push(b.offsets.buffer as ArrayBuffer);
      }
    this.thread.post(
      { t: 'bytes', stream: this.id, data: outbox.buffer as ArrayBuffer, length: this.used, spares },
      transfer,
    );
    this.inFlight++;
    this.outbox = undefined;
    this.used = 0;
  }

  received(taken: number, batches: { rows: number; columns: ColumnVector[] }[], last: boolean): void {
    this.inFlight -= taken;
    for (const { rows, columns } of batches) {
      let recycled = false;
      const recycle = () => {
        if (recycled || this.spares.length >= SPARE_BATCHES) return;
        recycled = true;
        this.spares.push(
          columns.map((v) => ({
            data: new Uint8Array(v.data.buffer),
            offsets: v.offsets && new Int32Array(v.offsets.buffer),
          })),
        );
      };
      this.ready.push({ rows, columns, recycle });
    }
    if (last) {
      this.thread.close(this.id);
      this.ended?.resolve();
    }
    this.wake();
  }

  fail(e: Error): void {
    this.failure ??= e;
    this.thread.close(this.id);
    this.ended?.reject(this.failure);
    this.wake();
  }
}

let thread: DecodeThread | undefined;

/** Opens a stream of one binary COPY's bytes into column batches of `batchRows` rows. */
export function decodeColumns(decoders: ColumnDecoder[], batchRows: number): ColumnDecodeStream {
  return (thread ??= new DecodeThread()).open(decoders, batchRows);
}
