// Parquet encoding off the main thread: each chunk written from column batches is a stream of
// batches to the encoding thread (encode-worker.ts), which sends back the files' bytes. The main
// thread copies each batch into one buffer (its own buffers go back to the reader at once) and
// moves that buffer over, so it only reads and decodes while the thread encodes and compresses.
import { Worker } from 'node:worker_threads';
import type { ColumnBatch } from '../../../core/columns.js';
import type { Column } from '../../../core/types.js';
import {
  LAYOUTS,
  type PackedBatch,
  type EncodeOptions,
  type EncodeReply,
  type EncodeRequest,
} from './encode-protocol.js';

/** What a stream's files become: called in the order the thread wrote them. */
export interface EncodedFiles {
  /** the next bytes of file number `file` (numbered from 0) */
  bytes(file: number, data: Buffer): void;
  /** file number `file` is complete: `rows` rows, `bytes` bytes */
  file(file: number, rows: number, bytes: number): void;
}

/**
 * Bytes of batches sent to the thread and not yet encoded, over all streams: past it, senders
 * wait. A few batches keep the thread busy; more would only hold memory while it catches up.
 */
const QUEUED_BYTES = 4 * 1024 * 1024;

/**
 * Batches go to the thread about a megabyte at a time: a message costs the main thread 0.1–0.25 ms
 * of CPU (measured, with its reply), and on a busy machine it also hands the core to the thread it
 * wakes (a profile of 3,000 messages of one batch each showed 1.8 s of 16 in postMessage).
 */
const POST_BYTES = 1024 * 1024;
/** the outbox's size: a batch past POST_BYTES fits without a second buffer */
const OUTBOX_BYTES = POST_BYTES + 256 * 1024;

const YOUNG_GENERATION_MB = 4;
/** outbox buffers kept for reuse: about those in flight at once (QUEUED_BYTES) */
const SPARE_OUTBOXES = 4;

const pad8 = (n: number) => (n + 7) & ~7;

interface StreamState {
  files: EncodedFiles;
  queued: number;
  failure?: Error;
  finished?: { resolve: () => void; reject: (e: Error) => void };
}

class EncodeThread {
  private worker?: Worker;
  private nextStream = 0;
  private readonly streams = new Map<number, StreamState>();
  private queued = 0;
  private waiters: (() => void)[] = [];
  /** outbox buffers the thread gave back: fresh ones cost page faults, and their release unmapping them */
  private readonly spare: ArrayBuffer[] = [];

  private start(): Worker {
    if (this.worker) return this.worker;
    // its heap holds little (the batches and pages are buffers outside it): a small young
    // generation is collected often and keeps about 10 MB less resident (measured: 193 MB peak
    // against 205 MB for 3M narrow rows)
    const w = new Worker(new URL('./encode-worker.js', import.meta.url), {
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    w.unref();
    w.on('message', (m: EncodeReply) => this.reply(m));
    w.on('error', (e) => {
      this.worker = undefined;
      for (const id of [...this.streams.keys()]) this.fail(id, e);
    });
    this.worker = w;
    return w;
  }

  private reply(m: EncodeReply): void {
    const s = this.streams.get(m.stream);
    if (!s) return;
    switch (m.t) {
      case 'taken':
        this.release(s, m.data.byteLength);
        if (m.data.byteLength === OUTBOX_BYTES && this.spare.length < SPARE_OUTBOXES) this.spare.push(m.data);
        break;
      case 'bytes':
        s.files.bytes(m.file, Buffer.from(m.data));
        break;
      case 'file':
        s.files.file(m.file, m.rows, m.bytes);
        break;
      case 'finished':
        this.close(m.stream);
        s.finished?.resolve();
        break;
      case 'failed':
        this.fail(m.stream, new Error(m.message));
        break;
    }
  }

  private release(s: StreamState, bytes: number): void {
    s.queued -= bytes;
    this.queued -= bytes;
    if (this.queued < QUEUED_BYTES) for (const wake of this.waiters.splice(0)) wake();
  }

  private close(id: number): void {
    const s = this.streams.get(id)!;
    this.release(s, s.queued);
    this.streams.delete(id);
    if (this.streams.size === 0) this.worker?.unref();
  }

  private fail(id: number, e: Error): void {
    const s = this.streams.get(id);
    if (!s) return;
    s.failure = e;
    this.close(id);
    s.finished?.reject(e);
  }

  private post(m: EncodeRequest, transfer: ArrayBuffer[] = []): void {
    this.start().postMessage(m, transfer);
  }

  open(columns: Column[], options: EncodeOptions, files: EncodedFiles): EncodeStream {
    const id = this.nextStream++;
    const state: StreamState = { files, queued: 0 };
    this.streams.set(id, state);
    this.post({ t: 'open', stream: id, columns, options });
    this.worker!.ref();
    let outbox: Outbox | undefined;
    const sendOutbox = () => {
      if (!outbox) return;
      const data = outbox.buffer;
      state.queued += data.byteLength;
      this.queued += data.byteLength;
      this.post({ t: 'batches', stream: id, batches: outbox.batches, data }, [data]);
      outbox = undefined;
    };
    return {
      send: async (batch) => {
        if (state.failure) throw state.failure;
        const size = packedSize(batch);
        if (outbox && outbox.at + size > outbox.buffer.byteLength) sendOutbox();
        outbox ??= newOutbox(size <= OUTBOX_BYTES ? this.spare.pop() : undefined, size);
        pack(batch, outbox);
        if (outbox.at >= POST_BYTES) sendOutbox();
        while (this.queued >= QUEUED_BYTES && !state.failure) await new Promise<void>((r) => this.waiters.push(r));
        if (state.failure) throw state.failure;
      },
      finish: () => {
        if (state.failure) return Promise.reject(state.failure);
        sendOutbox();
        const done = new Promise<void>((resolve, reject) => (state.finished = { resolve, reject }));
        this.post({ t: 'finish', stream: id });
        return done;
      },
      abort: () => {
        if (!this.streams.has(id)) return;
        this.close(id);
        this.post({ t: 'abort', stream: id });
      },
    };
  }
}

/** One chunk's batches on their way to the encoding thread. */
export interface EncodeStream {
  /** Sends a batch (copied: the caller may recycle it at once); waits while the thread is far behind. */
  send(batch: ColumnBatch): Promise<void>;
  /** Closes the last file; resolves once every file's bytes and end were given to the EncodedFiles. */
  finish(): Promise<void>;
  /** Drops the stream (after a failure elsewhere). */
  abort(): void;
}

/** Batches copied into one buffer, to be moved to the thread in one message. */
interface Outbox {
  buffer: ArrayBuffer;
  bytes: Uint8Array;
  at: number;
  batches: PackedBatch[];
}

function newOutbox(spare: ArrayBuffer | undefined, size: number): Outbox {
  // a buffer of its own (not from Node's pool, not zeroed), so that moving it moves nothing else
  const buffer = spare ?? (Buffer.allocUnsafeSlow(Math.max(size, OUTBOX_BYTES)).buffer as ArrayBuffer);
  return { buffer, bytes: new Uint8Array(buffer), at: 0, batches: [] };
}

function packedSize(batch: ColumnBatch): number {
  let size = 0;
  for (const v of batch.columns) {
    size += pad8(v.offsets ? v.offsets[v.count]! - v.offsets[0]! : v.data.byteLength);
    if (v.offsets) size += pad8(4 * (v.count + 1));
    if (v.nulls) size += pad8(batch.rows);
  }
  return size;
}

/** A batch's columns copied into the outbox, each part aligned to 8 bytes (encode-protocol.ts: VECTOR_FIELDS). */
function pack(batch: ColumnBatch, out: Outbox): void {
  const vectors: number[] = [];
  const put = (part: Uint8Array): number => {
    const start = out.at;
    out.bytes.set(part, start);
    out.at += pad8(part.byteLength);
    return start;
  };
  for (const v of batch.columns) {
    const data = v.offsets ? v.data.subarray(v.offsets[0]!, v.offsets[v.count]!) : v.data;
    const dataAt = put(data);
    const offsetsAt = v.offsets ? put(new Uint8Array(v.offsets.buffer, v.offsets.byteOffset, 4 * (v.count + 1))) : -1;
    const nullsAt = v.nulls ? put(v.nulls.subarray(0, batch.rows)) : -1;
    vectors.push(LAYOUTS.indexOf(v.layout), v.count, dataAt, data.byteLength, offsetsAt, nullsAt);
  }
  out.batches.push({ rows: batch.rows, vectors });
}

let thread: EncodeThread | undefined;

/** Opens a stream of column batches into Parquet files of `columns`. */
export function encodeColumns(columns: Column[], options: EncodeOptions, files: EncodedFiles): EncodeStream {
  return (thread ??= new EncodeThread()).open(columns, options, files);
}
