// The thread that turns column batches into Parquet files (encode-thread.ts sends them): pages,
// levels, statistics, compression, row groups and footers, so that the main thread only reads
// and decodes the source. Each stream is one chunk's files; its messages are handled in order.
import { parentPort } from 'node:worker_threads';
import { sliceColumns, type ColumnBatch, type ColumnVector } from '../../../core/columns.js';
import type { Column } from '../../../core/types.js';
import { flatColumnAppenders, type ColumnAppender } from './columns.js';
import { ByteBuf } from './codec.js';
import { loadCodec, type Codec } from './compress.js';
import {
  LAYOUTS,
  VECTOR_FIELDS,
  type EncodeOptions,
  type EncodeReply,
  type EncodeRequest,
  type PackedBatch,
} from './encode-protocol.js';
import { ParquetFileWriter, type ParquetOptions } from './write.js';

/** A codec that compresses on this thread: the pages are ready when the row group is written. */
function inThread(codec: Codec): Codec {
  const scratch = new ByteBuf(256 * 1024);
  return {
    ...codec,
    compressParts: async (parts) => {
      if (codec.id === 0) return Buffer.concat(parts);
      scratch.pos = 0;
      for (const p of parts) {
        scratch.ensure(p.length);
        scratch.buf.set(p, scratch.pos);
        scratch.pos += p.length;
      }
      return codec.compress(scratch.bytes());
    },
    flush: () => {},
  };
}

/** A packed batch back into a column batch (offsets made relative to the packed bytes). */
function unpack(b: PackedBatch, data: ArrayBuffer): ColumnBatch {
  const columns: ColumnVector[] = [];
  const v = b.vectors;
  for (let i = 0; i < v.length; i += VECTOR_FIELDS) {
    const layout = LAYOUTS[v[i]!]!;
    const count = v[i + 1]!;
    const column: ColumnVector = { layout, count, data: new Uint8Array(data, v[i + 2]!, v[i + 3]!) };
    if (v[i + 4]! >= 0) {
      const offsets = new Int32Array(data, v[i + 4]!, count + 1);
      const base = offsets[0]!;
      if (base !== 0) for (let k = 0; k <= count; k++) offsets[k]! -= base;
      column.offsets = offsets;
    }
    if (v[i + 5]! >= 0) column.nulls = new Uint8Array(data, v[i + 5]!, b.rows);
    columns.push(column);
  }
  return { rows: b.rows, columns };
}

/** bytes of a file gathered before they are sent to the main thread */
const SEND_BYTES = 1024 * 1024;

const post = (m: EncodeReply, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

/** One chunk's files: a Parquet writer at a time, rolled over at the file size. */
class Stream {
  private writer?: ParquetFileWriter;
  private file = -1;
  private written: Buffer[] = [];
  private writtenBytes = 0;

  constructor(
    private readonly id: number,
    private readonly columns: Column[],
    private readonly options: EncodeOptions,
    private readonly parquet: ParquetOptions,
    private readonly appenders: ColumnAppender[],
  ) {}

  private open(): ParquetFileWriter {
    if (this.writer) return this.writer;
    this.file++;
    this.writer = new ParquetFileWriter(this.columns, this.parquet, async (...chunks) => {
      for (const c of chunks) this.written.push(c);
      for (const c of chunks) this.writtenBytes += c.length;
      // a row group goes a column at a time: its pages are let go as they go, not held twice
      if (this.writtenBytes >= SEND_BYTES) this.sendWritten();
    });
    return this.writer;
  }

  /** Sends what the writer wrote since the last time, as one buffer of its own. */
  private sendWritten(): void {
    if (this.writtenBytes === 0) return;
    const out = Buffer.allocUnsafeSlow(this.writtenBytes);
    let at = 0;
    for (const c of this.written) {
      out.set(c, at);
      at += c.length;
    }
    this.written = [];
    this.writtenBytes = 0;
    post({ t: 'bytes', stream: this.id, file: this.file, data: out.buffer as ArrayBuffer }, [
      out.buffer as ArrayBuffer,
    ]);
  }

  private async close(): Promise<void> {
    const file = await this.writer!.finish();
    this.writer = undefined;
    this.sendWritten();
    post({ t: 'file', stream: this.id, file: this.file, rows: file.rows, bytes: file.bytes });
  }

  async add(batch: ColumnBatch): Promise<void> {
    let from = 0;
    while (from < batch.rows) {
      const w = this.open();
      // a row group holds at most rowGroupRows rows: a batch that crosses the limit is split
      const to = Math.min(batch.rows, from + w.roomInRowGroup());
      w.addColumns(from === 0 && to === batch.rows ? batch : sliceColumns(batch, from, to), this.appenders);
      if (w.needsFlush) {
        await w.flushRowGroup();
        if (w.written >= this.options.fileBytes) await this.close();
        else this.sendWritten();
      }
      from = to;
    }
  }

  /** Closes the open file; a chunk without rows leaves one empty file, so readers see the table and its columns. */
  async finish(): Promise<void> {
    if (this.writer || this.file < 0) {
      this.open();
      await this.close();
    }
    post({ t: 'finished', stream: this.id });
  }
}

const streams = new Map<number, Stream>();
const codecs = new Map<string, Promise<Codec>>();

async function handle(m: EncodeRequest): Promise<void> {
  if (m.t === 'open') {
    const key = `${m.options.codec}:${m.options.level ?? ''}`;
    let codec = codecs.get(key);
    if (!codec) codecs.set(key, (codec = loadCodec(m.options.codec, m.options.level).then(inThread)));
    const appenders = flatColumnAppenders(m.columns);
    if (!appenders) throw new Error('the columns cannot be written from column batches');
    const { codec: _name, level: _level, fileBytes: _fileBytes, ...rest } = m.options;
    streams.set(m.stream, new Stream(m.stream, m.columns, m.options, { ...rest, codec: await codec }, appenders));
    return;
  }
  const stream = streams.get(m.stream);
  // a stream that failed was dropped: what its sender had already sent is let go
  if (!stream) return;
  if (m.t === 'batches') {
    for (const b of m.batches) await stream.add(unpack(b, m.data));
    // the batches' values are in the pages now
    post({ t: 'taken', stream: m.stream, data: m.data }, [m.data]);
  } else if (m.t === 'finish') {
    streams.delete(m.stream);
    await stream.finish();
  } else streams.delete(m.stream);
}

let queue = Promise.resolve();
parentPort!.on('message', (m: EncodeRequest) => {
  queue = queue.then(() =>
    handle(m).catch((e: Error) => {
      streams.delete(m.stream);
      post({ t: 'failed', stream: m.stream, message: e.message });
    }),
  );
});
