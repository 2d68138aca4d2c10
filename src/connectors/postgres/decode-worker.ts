// The thread that decodes binary COPY into column batches (decode-thread.ts sends it the bytes):
// the framing and every field's decoding, so that the reading thread only takes the socket's
// bytes. Each stream is one COPY; its messages are handled in order.
import { parentPort } from 'node:worker_threads';
import { FerryError } from '../../core/errors.js';
import { ColumnBatcher } from './binary-columns.js';
import { BinaryCopyParser } from './binary-read.js';
import type { DecodeReply, DecodeRequest, MovedBatch } from './decode-protocol.js';

interface Stream {
  batcher: ColumnBatcher;
  parser: BinaryCopyParser;
  /** the bytes parsed last: a row they end with is held as a view of them until the next bytes come */
  previous?: ArrayBuffer;
}

const streams = new Map<number, Stream>();

/** Sends the batches that are ready (and with `last`, the partial one), moving their buffers. */
function send(id: number, s: Stream, taken: ArrayBuffer[], last: boolean): void {
  const batches: MovedBatch[] = s.batcher.ready.splice(0).map(({ rows, columns }) => ({ rows, columns }));
  const rest = last ? s.batcher.rest() : undefined;
  if (rest) batches.push({ rows: rest.rows, columns: rest.columns });
  if (batches.length === 0 && taken.length === 0 && !last) return;
  const transfer = new Set<ArrayBuffer>(taken);
  for (const b of batches)
    for (const v of b.columns) {
      transfer.add(v.data.buffer as ArrayBuffer);
      if (v.offsets) transfer.add(v.offsets.buffer as ArrayBuffer);
      if (v.nulls) transfer.add(v.nulls.buffer as ArrayBuffer);
    }
  post({ t: 'batches', stream: id, batches, taken, last }, [...transfer]);
}

const post = (m: DecodeReply, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

function handle(m: DecodeRequest): void {
  if (m.t === 'open') {
    const batcher = new ColumnBatcher(m.decoders, m.batchRows);
    streams.set(m.stream, { batcher, parser: new BinaryCopyParser(m.decoders.length, batcher) });
    return;
  }
  const s = streams.get(m.stream);
  // a stream that failed or was given up was dropped: what was on its way is let go
  if (!s) return;
  if (m.t === 'bytes') {
    for (const buffers of m.spares) s.batcher.giveBack(buffers);
    s.parser.push(Buffer.from(m.data, 0, m.length));
    const taken = s.previous ? [s.previous] : [];
    s.previous = m.data;
    send(m.stream, s, taken, false);
  } else if (m.t === 'finish') {
    streams.delete(m.stream);
    s.parser.finish();
    send(m.stream, s, s.previous ? [s.previous] : [], true);
  } else streams.delete(m.stream);
}

parentPort!.on('message', (m: DecodeRequest) => {
  try {
    handle(m);
  } catch (e) {
    streams.delete(m.stream);
    const f = e instanceof FerryError ? e : undefined;
    post({
      t: 'failed',
      stream: m.stream,
      code: f?.code ?? 'READ_FAILED',
      message: (e as Error).message,
      action: f?.action ?? 'report this',
    });
  }
});
