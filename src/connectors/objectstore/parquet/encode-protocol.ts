// The messages between the main thread (encode-thread.ts) and the encoding thread (encode-worker.ts).
import type { ColumnLayout } from '../../../core/columns.js';
import type { Column } from '../../../core/types.js';
import type { ParquetCompression } from './compress.js';

export interface EncodeOptions {
  codec: ParquetCompression;
  level?: number;
  pageBytes: number;
  rowGroupBytes: number;
  rowGroupRows: number;
  /** a file is closed after the row group that takes it to this size */
  fileBytes: number;
  metadata: Record<string, string>;
  createdBy: string;
}

export const LAYOUTS: ColumnLayout[] = ['int32', 'int64', 'int128', 'float64', 'bool', 'bytes'];
/** numbers per column in a batch message: layout, count, data start and length, offsets start, nulls start (-1: none) */
export const VECTOR_FIELDS = 6;

export interface PackedBatch {
  rows: number;
  vectors: number[];
}

export type EncodeRequest =
  | { t: 'open'; stream: number; columns: Column[]; options: EncodeOptions }
  /** batches, their columns packed in `data`, placed as each one's `vectors` says (VECTOR_FIELDS numbers a column) */
  | { t: 'batches'; stream: number; batches: PackedBatch[]; data: ArrayBuffer }
  | { t: 'finish'; stream: number }
  | { t: 'abort'; stream: number };

export type EncodeReply =
  /** a message of batches is encoded: its buffer comes back for the next batches */
  | { t: 'taken'; stream: number; data: ArrayBuffer }
  /** the next bytes of file number `file` of the stream */
  | { t: 'bytes'; stream: number; file: number; data: ArrayBuffer }
  /** file number `file` is complete */
  | { t: 'file'; stream: number; file: number; rows: number; bytes: number }
  | { t: 'finished'; stream: number }
  | { t: 'failed'; stream: number; message: string };
