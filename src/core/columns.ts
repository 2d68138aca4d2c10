// Column batches: the fast path between a source and a target that both speak it. The same
// canonical values as in rows, held column by column in fixed binary layouts, so that a value
// that needs no conversion (an integer, a timestamp's microseconds, text's UTF-8 bytes) goes
// from the source's wire format to the target's without becoming a JavaScript value. Rows
// remain the contract every connector speaks; columns are an optional shortcut for plain
// mappings (no transform, cast or per-value check), and the pipeline falls back to rows
// whenever either side declines.
import { formatDays, formatTimestamp } from './calendar.js';
import { FerryError } from './errors.js';
import type { CanonicalType } from './types.js';

/**
 * How the values of a column are held:
 * - int32: Int32Array — int8/int16/int32, uint8/uint16; date as days since 1970-01-01;
 * - int64: 8 little-endian bytes a value — int64; decimal(p<=18,s) as the unscaled integer
 *   at scale s; timestamp and timestamptz as microseconds since 1970-01-01 00:00 (UTC);
 * - int128: 16 little-endian bytes a value (two's complement) — decimal(p<=38,s), unscaled;
 * - float64: Float64Array — float32 and float64;
 * - bool: Uint8Array of 0 and 1;
 * - bytes: each value as its length (4 little-endian bytes) then its bytes, back to back, with
 *   offsets — text, char, varchar, enum and json as UTF-8; bytes as they are. This is Parquet's
 *   PLAIN form of a BYTE_ARRAY, so that a page of text is one copy.
 */
export type ColumnLayout = 'int32' | 'int64' | 'int128' | 'float64' | 'bool' | 'bytes';

/**
 * One column of a batch. Only non-null values are stored, in row order; `nulls` (one byte a
 * row, 1 for NULL) is present only when the batch has a NULL in this column.
 */
export interface ColumnVector {
  layout: ColumnLayout;
  /** the values, little-endian, `count` of them (bytes: back to back); fixed widths start aligned to their width in the buffer */
  data: Uint8Array;
  /** number of non-null values */
  count: number;
  /** bytes layout: offsets[k]..offsets[k+1] are value k's length and bytes (count + 1 entries) */
  offsets?: Int32Array;
  nulls?: Uint8Array;
}

export interface ColumnBatch {
  rows: number;
  columns: ColumnVector[];
  /**
   * The consumer calls this when it holds nothing of the batch any more: the reader may then
   * write the next batches into its buffers (fewer fresh buffers, far fewer garbage collections).
   */
  recycle?: () => void;
}

/** The layout a canonical type travels in as a column, or undefined when it travels in rows only. */
export function columnLayout(t: CanonicalType): ColumnLayout | undefined {
  switch (t.kind) {
    case 'int':
      return t.bits === 64 ? (t.unsigned ? undefined : 'int64') : t.unsigned && t.bits >= 24 ? undefined : 'int32';
    case 'decimal':
      return t.precision === undefined || t.precision > 38 ? undefined : t.precision <= 18 ? 'int64' : 'int128';
    case 'timestamp':
      return 'int64';
    case 'date':
      return 'int32';
    case 'float':
      return 'float64';
    case 'bool':
      return 'bool';
    case 'string':
    case 'enum':
    case 'json':
    case 'bytes':
      return 'bytes';
    default:
      return undefined;
  }
}

/** Whether a value of `from` needs no change in column form to be a value of `to` (the mapping says it needs none in rows). */
export function sameColumnValues(from: CanonicalType, to: CanonicalType): boolean {
  const layout = columnLayout(from);
  if (!layout || layout !== columnLayout(to)) return false;
  // decimals are held unscaled, timestamps in UTC: the scale and the zone must agree
  if (from.kind === 'decimal') return to.kind === 'decimal' && (from.scale ?? 0) === (to.scale ?? 0);
  if (from.kind === 'timestamp') return to.kind === 'timestamp' && from.tz === to.tz;
  return from.kind === to.kind || (layout === 'bytes' && from.kind !== 'bytes' && to.kind !== 'bytes');
}

/** What a column reader throws for a value it cannot give in columns: the pipeline then reads the chunk as rows. */
export function noColumnarForm(what: string): FerryError {
  return new FerryError('UNSUPPORTED', `${what} has no columnar form`, 'read the chunk as rows');
}

const WIDTH: Record<ColumnLayout, number> = { int32: 4, int64: 8, int128: 16, float64: 8, bool: 1, bytes: 1 };

// Values and offsets are always written before they are read: their memory need not be zeroed
// first (which took about 4% of a PostgreSQL → Parquet run's main thread).
const unzeroedBytes = (bytes: number): Uint8Array => Buffer.allocUnsafeSlow(bytes);
function unzeroedOffsets(entries: number): Int32Array {
  const a = new Int32Array(Buffer.allocUnsafeSlow(4 * entries).buffer, 0, entries);
  a[0] = 0;
  return a;
}

// The DataView of the buffer values were last copied from: readers copy many values from one
// network buffer, so one view serves them all
let lastSource: Uint8Array | undefined;
let lastSourceView: DataView | undefined;
function viewOf(src: Uint8Array): DataView {
  if (src !== lastSource) {
    lastSource = src;
    lastSourceView = new DataView(src.buffer, src.byteOffset, src.byteLength);
  }
  return lastSourceView!;
}

/**
 * How a source's column reader decodes the fields of a column: the column's layout, the
 * reader's own operation code (a switch over it beats a call per field through an array of
 * closures), and for decimals the scale and the unscaled integer's width.
 */
export interface ColumnDecoder {
  layout: ColumnLayout;
  op: number;
  scale: number;
  width: 8 | 16;
}

/** The decoder of `t`'s values in `layout` by a reader's operation `op`: a decimal carries its scale, and its unscaled integer the layout's width. */
export function columnDecoder(t: CanonicalType, layout: ColumnLayout, op: number): ColumnDecoder {
  return { layout, op, scale: t.kind === 'decimal' ? (t.scale ?? 0) : 0, width: layout === 'int128' ? 16 : 8 };
}

/** A column builder's value and offset buffers, whole: what a recycled batch gives back. */
export interface ColumnBuffers {
  data: Uint8Array;
  offsets?: Int32Array;
}

/**
 * Builds one column of a batch. `data`/`view` are public so decoders write values in place;
 * they call `reserve` first, then `value()`.
 */
export class ColumnBuilder {
  data: Uint8Array;
  view: DataView;
  /** bytes written to data */
  pos = 0;
  count = 0;
  rows = 0;
  offsets?: Int32Array;
  nulls?: Uint8Array;
  /** rows of the batch taken last: the size to expect */
  private lastRows = 0;

  constructor(
    readonly layout: ColumnLayout,
    capacityRows: number,
  ) {
    this.data = unzeroedBytes(capacityRows * (layout === 'bytes' ? 32 : WIDTH[layout]));
    this.view = new DataView(this.data.buffer);
    if (layout === 'bytes') this.offsets = unzeroedOffsets(capacityRows + 1);
  }

  reserve(bytes: number): void {
    if (this.pos + bytes <= this.data.length) return;
    const next = unzeroedBytes(Math.max(this.data.length * 2, this.pos + bytes));
    next.set(this.data.subarray(0, this.pos));
    this.data = next;
    this.view = new DataView(next.buffer);
  }

  /** The buffers the builder writes into now (whole, whatever it has written). */
  buffers(): ColumnBuffers {
    return { data: this.data, offsets: this.offsets };
  }

  /** Starts a bytes value of `length` bytes: writes its length; the caller writes the bytes at `pos` and calls `value()`. */
  startBytes(length: number): void {
    this.reserve(4 + length);
    this.view.setInt32(this.pos, length, true);
    this.pos += 4;
  }

  /** Writes a bytes-layout value: `len` bytes of `src` from `at`. */
  bytes(src: Buffer, at: number, len: number): void {
    this.startBytes(len);
    const d = this.data;
    const p = this.pos;
    // below this, moving four bytes at a time beats a call into the copy (and a byte loop by 2–3 times)
    if (len < 96) {
      const from = viewOf(src);
      const to = this.view;
      let i = 0;
      for (; i + 4 <= len; i += 4) to.setUint32(p + i, from.getUint32(at + i));
      for (; i < len; i++) d[p + i] = src[at + i]!;
    } else src.copy(d, p, at, at + len);
    this.pos = p + len;
    this.value();
  }

  /** Writes an int32-layout value. */
  int32(n: number): void {
    this.reserve(4);
    this.view.setInt32(this.pos, n, true);
    this.pos += 4;
    this.value();
  }

  /** Writes a float64-layout value. */
  float64(n: number): void {
    this.reserve(8);
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
    this.value();
  }

  /** Writes a bool-layout value (0 or 1). */
  bool(v: number): void {
    this.reserve(1);
    this.data[this.pos++] = v;
    this.value();
  }

  /** Ends a non-null value (its bytes are written). */
  value(): void {
    if (this.offsets) {
      if (this.count + 1 >= this.offsets.length) {
        const next = unzeroedOffsets(this.offsets.length * 2);
        next.set(this.offsets);
        this.offsets = next;
      }
      this.offsets[this.count + 1] = this.pos;
    }
    if (this.nulls) this.rowFlag(0);
    this.count++;
    this.rows++;
  }

  null(): void {
    // rows before the first NULL are 0 in the fresh array
    this.nulls ??= new Uint8Array(Math.max(64, this.rows * 2, this.lastRows));
    this.rowFlag(1);
    this.rows++;
  }

  private rowFlag(flag: number): void {
    if (this.rows >= this.nulls!.length) {
      const next = new Uint8Array(this.nulls!.length * 2);
      next.set(this.nulls!);
      this.nulls = next;
    }
    this.nulls![this.rows] = flag;
  }

  /**
   * The column so far; the builder starts afresh in `spare` buffers (recycled from an earlier
   * batch) where they are as large as this one needed, else in new ones (the vector keeps its buffers).
   */
  take(spare?: ColumnBuffers): ColumnVector {
    const v: ColumnVector = { layout: this.layout, data: this.data.subarray(0, this.pos), count: this.count };
    if (this.offsets) v.offsets = this.offsets.subarray(0, this.count + 1);
    if (this.nulls) v.nulls = this.nulls.subarray(0, this.rows);
    // the next batch is likely the size of this one: as much room up front as this one needed
    this.data = spare && spare.data.length >= this.data.length ? spare.data : unzeroedBytes(this.data.length);
    this.view = new DataView(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    if (this.offsets)
      this.offsets =
        spare?.offsets && spare.offsets.length >= this.offsets.length
          ? spare.offsets
          : unzeroedOffsets(this.offsets.length);
    this.nulls = undefined;
    this.lastRows = this.rows;
    this.pos = 0;
    this.count = 0;
    this.rows = 0;
    return v;
  }
}

/**
 * The batches of a stream of rows, column by column: a source's reader decodes each row's
 * fields as its `decoders` say into `builders`, then calls `endRow`.
 */
export class BatchBuilder {
  /** full batches, for the reader to take */
  readonly ready: ColumnBatch[] = [];
  protected readonly builders: ColumnBuilder[];
  private rows = 0;
  /** buffers of recycled batches, one set per batch */
  private readonly spares: ColumnBuffers[][] = [];

  constructor(
    protected readonly decoders: ColumnDecoder[],
    private readonly batchRows: number,
  ) {
    this.builders = decoders.map((d) => new ColumnBuilder(d.layout, batchRows));
  }

  protected endRow(): void {
    if (++this.rows >= this.batchRows) this.ready.push(this.take());
  }

  /** The rows of the last, partial batch, if any. */
  rest(): ColumnBatch | undefined {
    return this.rows > 0 ? this.take() : undefined;
  }

  private take(): ColumnBatch {
    const owned = this.builders.map((b) => b.buffers());
    const spare = this.spares.pop();
    const batch: ColumnBatch = { rows: this.rows, columns: this.builders.map((b, i) => b.take(spare?.[i])) };
    let recycled = false;
    batch.recycle = () => {
      // a batch given back twice would be written by two batches at once
      if (recycled) return;
      recycled = true;
      if (this.spares.length < MAX_SPARE_BATCHES) this.spares.push(owned);
    };
    this.rows = 0;
    return batch;
  }
}

/** Recycled batches' buffers a batch builder keeps: enough for the batches in flight between a reader and its writer. */
const MAX_SPARE_BATCHES = 4;

const TWO_32 = 4294967296;

/** Writes an integer (a number, exact below 2^53, or a bigint) as `width` (8 or 16) little-endian two's-complement bytes. */
export function writeIntLE(b: ColumnBuilder, n: number | bigint, width: 8 | 16): void {
  b.reserve(width);
  const { view, pos } = b;
  if (typeof n === 'number') {
    const hi = Math.floor(n / TWO_32);
    view.setUint32(pos, n >>> 0, true);
    view.setInt32(pos + 4, hi | 0, true);
    if (width === 16) {
      const fill = n < 0 ? -1 : 0;
      view.setInt32(pos + 8, fill, true);
      view.setInt32(pos + 12, fill, true);
    }
  } else if (width === 8) view.setBigInt64(pos, n, true);
  else {
    view.setBigUint64(pos, BigInt.asUintN(64, n), true);
    view.setBigInt64(pos + 8, BigInt.asIntN(64, n >> 64n), true);
  }
  b.pos = pos + width;
  b.value();
}

/** Rows [from, to) of a batch (views of its buffers). */
export function sliceColumns(batch: ColumnBatch, from: number, to: number): ColumnBatch {
  return {
    rows: to - from,
    columns: batch.columns.map((v) => {
      let first = from;
      let last = to;
      if (v.nulls) {
        // values are stored for non-null rows only: count the rows before each end that hold one
        first = 0;
        for (let r = 0; r < from; r++) first += 1 - v.nulls[r]!;
        last = first;
        for (let r = from; r < to; r++) last += 1 - v.nulls[r]!;
      }
      const out: ColumnVector = { layout: v.layout, data: v.data, count: last - first };
      if (v.offsets) {
        out.data = v.data.subarray(0, v.offsets[last]!);
        out.offsets = v.offsets.subarray(first, last + 1);
      } else {
        const width = WIDTH[v.layout];
        out.data = v.data.subarray(first * width, last * width);
      }
      if (v.nulls) out.nulls = v.nulls.subarray(from, to);
      return out;
    }),
  };
}

/** The canonical value of a column's k-th non-null value, read back from its layout. */
export function columnValue(v: ColumnVector, k: number, t: CanonicalType): unknown {
  const buf = Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
  switch (v.layout) {
    case 'int32': {
      const n = buf.readInt32LE(4 * k);
      return t.kind === 'date' ? formatDays(n) : n;
    }
    case 'int64':
    case 'int128': {
      const n =
        v.layout === 'int64'
          ? buf.readBigInt64LE(8 * k)
          : (buf.readBigInt64LE(16 * k + 8) << 64n) | buf.readBigUInt64LE(16 * k);
      if (t.kind === 'timestamp') return formatTimestamp(n, 'MICROS', t.tz === true);
      if (t.kind !== 'decimal') return n;
      const digits = (n < 0n ? -n : n).toString().padStart((t.scale ?? 0) + 1, '0');
      const point = digits.length - (t.scale ?? 0);
      return `${n < 0n ? '-' : ''}${digits.slice(0, point)}${t.scale ? '.' + digits.slice(point) : ''}`;
    }
    case 'float64':
      return buf.readDoubleLE(8 * k);
    case 'bool':
      return buf[k] === 1;
    case 'bytes': {
      const value = buf.subarray(v.offsets![k]! + 4, v.offsets![k + 1]!);
      return t.kind === 'bytes' ? new Uint8Array(value) : value.toString('utf8');
    }
  }
}

/**
 * A column batch as rows of canonical values (of `types`, the batch's columns in order): for a
 * consumer that needs rows of what went as columns (the dry run's digest of what it handed over).
 */
export function rowsOfColumns(batch: ColumnBatch, types: CanonicalType[]): unknown[][] {
  const next = batch.columns.map(() => 0);
  const rows: unknown[][] = [];
  for (let r = 0; r < batch.rows; r++)
    rows.push(batch.columns.map((v, i) => (v.nulls?.[r] ? null : columnValue(v, next[i]!++, types[i]!))));
  return rows;
}
