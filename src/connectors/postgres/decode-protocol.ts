// The messages between the reading thread (decode-thread.ts) and the decoding thread (decode-worker.ts).
import type { ColumnBuffers, ColumnDecoder, ColumnVector } from '../../core/columns.js';
import type { ErrorCode } from '../../core/errors.js';

export type DecodeRequest =
  | { t: 'open'; stream: number; decoders: ColumnDecoder[]; batchRows: number }
  /** the stream's next `length` bytes of binary COPY, in `data`; `spares`: buffers of batches the reader is done with */
  | { t: 'bytes'; stream: number; data: ArrayBuffer; length: number; spares: ColumnBuffers[][] }
  /** the stream's bytes have all been sent */
  | { t: 'finish'; stream: number }
  | { t: 'abort'; stream: number };

/** A column batch as it crosses threads (its vectors' buffers are moved, not copied). */
export interface MovedBatch {
  rows: number;
  columns: ColumnVector[];
}

export type DecodeReply =
  /** batches decoded, and byte buffers the thread has parsed; `last`: the stream's final batches */
  | { t: 'batches'; stream: number; batches: MovedBatch[]; taken: ArrayBuffer[]; last: boolean }
  | { t: 'failed'; stream: number; code: ErrorCode; message: string; action: string };
