// The three file formats behind one writer and one reader interface: Parquet, NDJSON and
// CSV (the last two optionally gzip-compressed).
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import { columnValue, type ColumnBatch } from '../../core/columns.js';
import type { Column } from '../../core/types.js';
import type { RandomAccess } from '../../stores/store.js';
import {
  CsvParser,
  csvDecoder,
  csvEncoder,
  csvField,
  jsonDecoder,
  jsonEncoder,
  LARGE_FIELD,
  largeColumnField,
  largeCsvField,
  largeJsonField,
  ndjsonMembers,
} from './codec-text.js';
import type { Codec } from './parquet/compress.js';
import { ParquetFileWriter, RowTrial, type ParquetOptions, type Sink, type WrittenFile } from './parquet/write.js';
import { readParquet } from './parquet/read.js';
import { RowRefused } from './temporal.js';

export type Format = 'parquet' | 'ndjson' | 'csv';

export interface FormatSettings {
  format: Format;
  /** parquet: the page codec; text formats: gzip or not */
  codec: Codec;
  gzip: boolean;
  gzipLevel?: number;
  pageBytes: number;
  rowGroupBytes: number;
  rowGroupRows: number;
  fileBytes: number;
  createdBy: string;
}

/** One file being written; add() is synchronous, the caller awaits flush when needsFlush is set. */
export interface FormatWriter {
  add(row: unknown[]): void;
  /** NDJSON and CSV: the next row of a column batch (Parquet takes column batches on its encoding thread) */
  addColumnRow?(at: ColumnRows): void;
  needsFlush: boolean;
  flushRowGroup(): Promise<void>;
  finish(): Promise<WrittenFile>;
  /** bytes in memory waiting to be written */
  heldBytes(): number;
  /** bytes given to the sink so far */
  readonly written: number;
  /** drops the file's resources after a failure */
  destroy(): void;
}

export function extension(s: Pick<FormatSettings, 'format' | 'gzip'>): string {
  return s.format === 'parquet' ? 'parquet' : `${s.format}${s.gzip ? '.gz' : ''}`;
}

const TEXT_FLUSH_BYTES = 1 << 20;

/** How far a column batch is written: its next row, and each column's next non-null value (a batch may span files). */
export class ColumnRows {
  row = 0;
  readonly next: Int32Array;

  constructor(readonly batch: ColumnBatch) {
    this.next = new Int32Array(batch.columns.length);
  }

  get done(): boolean {
    return this.row >= this.batch.rows;
  }
}

/** NDJSON or CSV: each row becomes one line (built whole, so a refused row writes nothing). */
class TextFileWriter implements FormatWriter {
  private pending = '';
  /** bytes to be written before `pending`: the lines up to a large field, and the field */
  private encoded: Buffer[] = [];
  private encodedBytes = 0;
  private rows = 0;
  private bytesOut = 0;
  needsFlush = false;
  /**
   * the line of a row, or for a row with large fields its pieces: line text and a large field's
   * bytes in turn, starting and ending with line text; throws RowRefused for a row this file cannot take
   */
  readonly encodeRow: (row: unknown[]) => string | (string | Buffer)[];
  /** a line from its fields: field(i) is column i's text or bytes as the line holds it, null for NULL */
  private readonly line: (field: (i: number) => string | Buffer | null) => string | (string | Buffer)[];
  /** column i's field of a non-NULL canonical value */
  private readonly fieldOf: ((v: unknown) => string | Buffer)[];
  /** column i's field of a large value in a column batch, from its bytes (see largeColumnField) */
  private readonly columnField: ((value: Uint8Array) => Buffer | undefined)[];
  private readonly gz?: Gzip;
  private readonly done?: Promise<void>;

  constructor(
    private readonly columns: Column[],
    format: 'ndjson' | 'csv',
    gzip: boolean,
    level: number | undefined,
    private readonly sink: Sink,
  ) {
    const required = columns.map((c) => !c.nullable);
    const names = columns.map((c) => c.name);
    const nullRefused = (i: number) => new RowRefused(`column ${names[i]} cannot be NULL`);
    this.columnField = columns.map((c) => largeColumnField(c.type, format));
    if (format === 'ndjson') {
      const keys = names.map((n, i) => `${i === 0 ? '{' : ','}${JSON.stringify(n)}:`);
      const encoders = columns.map((c) => jsonEncoder(c.type));
      const large = columns.map((c) => largeJsonField(c.type));
      this.fieldOf = columns.map((_, i) => (v) => large[i]!(v) ?? encoders[i]!(v));
      this.line = (field) => {
        let line = '';
        let pieces: (string | Buffer)[] | undefined;
        for (let i = 0; i < keys.length; i++) {
          const f = field(i);
          if (f === null) {
            if (required[i]) throw nullRefused(i);
            line += keys[i] + 'null';
          } else if (typeof f === 'string' && f.length < LARGE_FIELD) line += keys[i] + f;
          else {
            (pieces ??= []).push(line + keys[i], typeof f === 'string' ? Buffer.from(f, 'utf8') : f);
            line = '';
          }
        }
        line += '}\n';
        return pieces ? [...pieces, line] : line;
      };
    } else {
      const encoders = columns.map((c) => csvEncoder(c.type));
      const large = columns.map((c) => largeCsvField(c.type));
      this.pending = names.map(csvField).join(',') + '\r\n';
      this.fieldOf = columns.map((_, i) => (v) => large[i]!(v) ?? csvField(encoders[i]!(v)));
      this.line = (field) => {
        let line = '';
        let pieces: (string | Buffer)[] | undefined;
        for (let i = 0; i < encoders.length; i++) {
          if (i > 0) line += ',';
          const f = field(i);
          if (f === null) {
            if (required[i]) throw nullRefused(i);
          } else if (typeof f === 'string' && f.length < LARGE_FIELD) line += f;
          else {
            (pieces ??= []).push(line, typeof f === 'string' ? Buffer.from(f, 'utf8') : f);
            line = '';
          }
        }
        line += '\r\n';
        return pieces ? [...pieces, line] : line;
      };
    }
    this.encodeRow = (row) =>
      this.line((i) => {
        const v = row[i];
        return v === null || v === undefined ? null : this.fieldOf[i]!(v);
      });
    if (gzip) {
      this.gz = createGzip({ level });
      const out = new Writable({
        write: (chunk: Buffer, _enc, cb) => {
          this.bytesOut += chunk.length;
          this.sink(chunk).then(() => cb(), cb);
        },
      });
      this.done = pipeline(this.gz, out);
      this.done.catch(() => {});
    }
  }

  add(row: unknown[]): void {
    this.addLine(this.encodeRow(row));
  }

  /**
   * The next row of a column batch: a large text or bytes value is escaped or encoded from the
   * batch's bytes (never a JavaScript string); every other value is written from its canonical
   * value, as add() writes it.
   */
  addColumnRow(at: ColumnRows): void {
    const { columns } = at.batch;
    const r = at.row++;
    this.addLine(
      this.line((i) => {
        const v = columns[i]!;
        if (v.nulls?.[r]) return null;
        const k = at.next[i]!++;
        if (v.layout === 'bytes') {
          const large = this.columnField[i]!(v.data.subarray(v.offsets![k]! + 4, v.offsets![k + 1]!));
          if (large) return large;
        }
        return this.fieldOf[i]!(columnValue(v, k, this.columns[i]!.type));
      }),
    );
  }

  private addLine(line: string | (string | Buffer)[]): void {
    if (typeof line === 'string') this.pending += line;
    else
      for (const piece of line)
        if (typeof piece === 'string') this.pending += piece;
        else {
          this.encode(this.pending);
          this.pending = '';
          this.encoded.push(piece);
          this.encodedBytes += piece.length;
        }
    this.rows++;
    if (this.pending.length + this.encodedBytes >= TEXT_FLUSH_BYTES) this.needsFlush = true;
  }

  private encode(text: string): void {
    if (text === '') return;
    const buf = Buffer.from(text, 'utf8');
    this.encoded.push(buf);
    this.encodedBytes += buf.length;
  }

  async flushRowGroup(): Promise<void> {
    this.needsFlush = false;
    this.encode(this.pending);
    this.pending = '';
    const bufs = this.encoded;
    const bytes = this.encodedBytes;
    this.encoded = [];
    this.encodedBytes = 0;
    if (bufs.length === 0) return;
    if (!this.gz) {
      this.bytesOut += bytes;
      await this.sink(...bufs);
    } else for (const buf of bufs) if (!this.gz.write(buf)) await Promise.race([once(this.gz, 'drain'), this.done]);
  }

  async finish(): Promise<WrittenFile> {
    await this.flushRowGroup();
    if (this.gz) {
      this.gz.end();
      await this.done;
    }
    return { rows: this.rows, bytes: this.bytesOut };
  }

  heldBytes(): number {
    return this.pending.length + this.encodedBytes;
  }

  get written(): number {
    return this.bytesOut;
  }

  destroy(): void {
    this.gz?.destroy();
  }
}

class ParquetWriterAdapter extends ParquetFileWriter implements FormatWriter {
  destroy(): void {}
}

export function createWriter(
  s: FormatSettings,
  columns: Column[],
  metadata: Record<string, string>,
  sink: Sink,
): FormatWriter {
  if (s.format === 'parquet') {
    const opts: ParquetOptions = {
      codec: s.codec,
      pageBytes: s.pageBytes,
      rowGroupBytes: s.rowGroupBytes,
      rowGroupRows: s.rowGroupRows,
      metadata,
      createdBy: s.createdBy,
    };
    return new ParquetWriterAdapter(columns, opts, sink);
  }
  return new TextFileWriter(columns, s.format, s.gzip, s.gzipLevel, sink);
}

/** Why a row cannot be written in this format, checked without writing (for isolating refused rows). */
export function rowChecker(s: FormatSettings, columns: Column[]): (row: unknown[]) => string | undefined {
  if (s.format === 'parquet') {
    const trial = new RowTrial(columns);
    return (row) => trial.check(row);
  }
  const writer = new TextFileWriter(columns, s.format, false, undefined, async () => {});
  return (row) => {
    try {
      writer.encodeRow(row);
      return undefined;
    } catch (e) {
      if (e instanceof RowRefused) return e.message;
      throw e;
    }
  };
}

/** Rows of a written file as canonical values of `columns` (only the `wanted` positions are filled). */
export async function* readFile(
  s: Pick<FormatSettings, 'format' | 'gzip'>,
  open: () => RandomAccess,
  stream: () => AsyncIterable<Buffer>,
  columns: Column[],
  wanted: number[],
  batchRows: number,
): AsyncIterable<unknown[][]> {
  if (s.format === 'parquet') {
    yield* readParquet(open(), columns, wanted, batchRows);
    return;
  }
  let source: AsyncIterable<Buffer> = stream();
  if (s.gzip) {
    const gunzip = createGunzip();
    // pipeline, not pipe: a failed read must end the iteration with its error
    pipeline(Readable.from(source), gunzip).catch((e: unknown) => gunzip.destroy(e as Error));
    source = gunzip;
  }
  const decoder = new StringDecoder('utf8');
  let batch: unknown[][] = [];
  if (s.format === 'ndjson') {
    const decoders = wanted.map((i) => ({ i, name: columns[i]!.name, decode: jsonDecoder(columns[i]!.type) }));
    // the start of a line that goes on in the next chunk, in pieces: a line is searched for its
    // end and joined once, however many chunks it spans
    let rest: string[] = [];
    const lineRow = (line: string) => {
      const members = ndjsonMembers(line);
      const row = new Array<unknown>(columns.length);
      for (const d of decoders) {
        const raw = members.get(d.name);
        row[d.i] = raw === undefined ? null : d.decode(raw);
      }
      batch.push(row);
    };
    const endLine = (last: string) => {
      const line = rest.length > 0 ? rest.join('') + last : last;
      rest = [];
      if (line.trim() !== '') lineRow(line);
    };
    for await (const chunk of source) {
      const text = decoder.write(chunk);
      let start = 0;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        endLine(text.slice(start, end));
        start = end + 1;
      }
      if (start < text.length) rest.push(text.slice(start));
      if (batch.length >= batchRows) {
        yield batch;
        batch = [];
      }
    }
    endLine(decoder.end());
  } else {
    const parser = new CsvParser();
    const decoders = wanted.map((i) => ({ i, decode: csvDecoder(columns[i]!.type) }));
    let positions: number[] | undefined;
    const records: (string | null)[][] = [];
    const take = () => {
      for (const rec of records) {
        if (!positions) {
          positions = wanted.map((i) => rec.indexOf(columns[i]!.name));
          continue;
        }
        const row = new Array<unknown>(columns.length);
        decoders.forEach((d, k) => {
          const f = positions![k]! >= 0 ? rec[positions![k]!] : null;
          row[d.i] = f === null || f === undefined ? null : d.decode(f);
        });
        batch.push(row);
      }
      records.length = 0;
    };
    for await (const chunk of source) {
      parser.push(decoder.write(chunk), records);
      take();
      if (batch.length >= batchRows) {
        yield batch;
        batch = [];
      }
    }
    parser.push(decoder.end(), records);
    parser.end(records);
    take();
  }
  if (batch.length > 0) yield batch;
}
