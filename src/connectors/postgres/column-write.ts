// Writing COPY ... FROM STDIN (FORMAT binary) from column batches (core/columns.ts): each value
// goes from its column's buffer into the COPY's bytes with no JavaScript value in between (an
// integer's or a timestamp's bytes turned big-endian, text's UTF-8 copied as it lies).
import type { ColumnBatch, ColumnLayout, ColumnVector } from '../../core/columns.js';
import type { CanonicalType } from '../../core/types.js';
import { BinaryWriter, writeFloat4, writeNumeric, writeNumericGroups } from './binary-write.js';
import { ValueError } from './temporal.js';
import type { Family } from './wire.js';

// What becomes of a column's values; encodeColumns switches on it (a call per value through an
// array of closures is slower, see binary-columns.ts).
const INT2 = 0;
const INT4 = 1;
const DATE = 2;
const INT8 = 3;
const TIMESTAMP = 4;
const NUMERIC64 = 5;
const NUMERIC128 = 6;
const FLOAT4 = 7;
const FLOAT8 = 8;
const BOOL = 9;
const BYTES = 10;
const JSONB = 11;

/** How one column's values become binary COPY fields. */
export interface ColumnEncoder {
  op: number;
  /** a decimal's scale */
  scale: number;
}

/** The families a layout's values are written into as they are, by the operation that writes them. */
const OPS: Record<ColumnLayout, Partial<Record<Family, number>>> = {
  int32: { int2: INT2, int4: INT4, date: DATE },
  int64: { int8: INT8, timestamp: TIMESTAMP, timestamptz: TIMESTAMP, numeric: NUMERIC64 },
  int128: { numeric: NUMERIC128 },
  float64: { float4: FLOAT4, float8: FLOAT8 },
  bool: { bool: BOOL },
  bytes: { text: BYTES, bytea: BYTES, jsonb: JSONB },
};

/**
 * The encoder of a column of canonical type `t` (in its column layout) into a column of `family`,
 * or undefined when its values cannot go as they are (the chunk then goes as rows).
 */
export function columnEncoderFor(layout: ColumnLayout, t: CanonicalType, family: Family): ColumnEncoder | undefined {
  const op = OPS[layout][family];
  if (op === undefined) return undefined;
  // a date's days or a timestamp's microseconds only as the same kind: an int32 is not a date
  if ((op === DATE) !== (t.kind === 'date') || (op === TIMESTAMP) !== (t.kind === 'timestamp')) return undefined;
  if ((op === NUMERIC64 || op === NUMERIC128) !== (t.kind === 'decimal')) return undefined;
  if (op === INT8 && t.kind !== 'int') return undefined;
  return { op, scale: t.kind === 'decimal' ? (t.scale ?? 0) : 0 };
}

/** days and microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01 */
const EPOCH_DAYS = 10_957;
const EPOCH_US = 946_684_800_000_000;
const TWO_32 = 4294967296;
/** the high word of an int64 below which hi * 2^32 + lo is exact */
const SAFE_HIGH = 1 << 20;

/** Where each column's next value is: its value index, and a view of its buffer. */
interface Cursor {
  v: ColumnVector;
  view: DataView;
  k: number;
}

/**
 * Appends the rows of `batch` to `w` as binary COPY tuples; `flush` takes what is written each
 * time it reaches the writer's flush size. A value the column's type refuses throws a ValueError
 * naming the column.
 */
export async function encodeColumns(
  w: BinaryWriter,
  batch: ColumnBatch,
  encoders: ColumnEncoder[],
  names: string[],
  flush: (data: Buffer) => Promise<void>,
): Promise<void> {
  const n = encoders.length;
  const cursors: Cursor[] = batch.columns.map((v) => ({
    v,
    view: new DataView(v.data.buffer, v.data.byteOffset, v.data.byteLength),
    k: 0,
  }));
  let i = 0;
  try {
    for (let r = 0; r < batch.rows; r++) {
      w.ensure(2);
      w.int16(n);
      for (i = 0; i < n; i++) {
        const c = cursors[i]!;
        if (c.v.nulls?.[r]) {
          w.ensure(4);
          w.int32(-1);
        } else writeValue(w, c, encoders[i]!);
      }
      if (w.pos >= w.flushAt) await flush(w.take());
    }
  } catch (e) {
    if (e instanceof ValueError) throw new ValueError(`column ${names[i]}: ${e.message}`);
    throw e;
  }
}

function writeValue(w: BinaryWriter, c: Cursor, e: ColumnEncoder): void {
  const { view } = c;
  const k = c.k++;
  switch (e.op) {
    case INT2: {
      const n = view.getInt32(4 * k, true);
      if (n !== (n << 16) >> 16) throw new ValueError(`${n} is not a smallint`);
      w.ensure(6);
      w.int32(2);
      w.int16(n);
      return;
    }
    case INT4:
      w.ensure(8);
      w.int32(4);
      w.int32(view.getInt32(4 * k, true));
      return;
    case DATE:
      w.ensure(8);
      w.int32(4);
      w.int32(view.getInt32(4 * k, true) - EPOCH_DAYS);
      return;
    case INT8: {
      w.ensure(12);
      w.int32(8);
      // little-endian to big-endian, byte by byte
      const src = c.v.data;
      const b = w.buf;
      const from = 8 * k;
      const p = w.pos;
      for (let j = 0; j < 8; j++) b[p + j] = src[from + 7 - j]!;
      w.pos = p + 8;
      return;
    }
    case TIMESTAMP: {
      w.ensure(12);
      w.int32(8);
      const hi = view.getInt32(8 * k + 4, true);
      if (hi < SAFE_HIGH && hi > -SAFE_HIGH) w.int64(hi * TWO_32 + view.getUint32(8 * k, true) - EPOCH_US);
      else {
        w.buf.writeBigInt64BE(view.getBigInt64(8 * k, true) - BigInt(EPOCH_US), w.pos);
        w.pos += 8;
      }
      return;
    }
    case NUMERIC64: {
      const hi = view.getInt32(8 * k + 4, true);
      if (hi < SAFE_HIGH && hi > -SAFE_HIGH && e.scale <= MAX_NUMBER_SCALE)
        writeUnscaled(w, hi * TWO_32 + view.getUint32(8 * k, true), e.scale);
      else writeNumeric(w, decimalText(view.getBigInt64(8 * k, true), e.scale));
      return;
    }
    case NUMERIC128: {
      // most values of a wide decimal are small: the upper half only repeats the sign
      const at = 16 * k;
      const hi = view.getInt32(at + 4, true);
      const sign = hi < 0 ? -1 : 0;
      if (
        view.getInt32(at + 8, true) === sign &&
        view.getInt32(at + 12, true) === sign &&
        hi < SAFE_HIGH &&
        hi > -SAFE_HIGH &&
        e.scale <= MAX_NUMBER_SCALE
      )
        writeUnscaled(w, hi * TWO_32 + view.getUint32(at, true), e.scale);
      else writeNumeric(w, decimalText((view.getBigInt64(at + 8, true) << 64n) | view.getBigUint64(at, true), e.scale));
      return;
    }
    case FLOAT4:
      writeFloat4(w, view.getFloat64(8 * k, true));
      return;
    case FLOAT8:
      w.ensure(12);
      w.int32(8);
      w.buf.writeDoubleBE(view.getFloat64(8 * k, true), w.pos);
      w.pos += 8;
      return;
    case BOOL:
      w.ensure(5);
      w.int32(1);
      w.buf[w.pos++] = c.v.data[k]!;
      return;
    case BYTES:
    case JSONB: {
      const offsets = c.v.offsets!;
      const start = offsets[k]! + 4;
      const len = offsets[k + 1]! - start;
      const version = e.op === JSONB ? 1 : 0;
      w.ensure(4 + version + len);
      w.int32(len + version);
      if (version) w.buf[w.pos++] = 1;
      copyBytes(c.v.data, start, len, w);
      return;
    }
  }
}

/** `len` bytes of `src` from `at` to the writer's position (room ensured). */
function copyBytes(src: Uint8Array, at: number, len: number, w: BinaryWriter): void {
  const b = w.buf;
  const p = w.pos;
  // short values (most text) by a loop: a call into the copy costs more than the bytes
  if (len < 48) for (let j = 0; j < len; j++) b[p + j] = src[at + j]!;
  else b.set(src.subarray(at, at + len), p);
  w.pos = p + len;
}

/** A decimal's unscaled integer at `scale` as its text, for the general path. */
function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const point = digits.length - scale;
  return `${negative ? '-' : ''}${digits.slice(0, point)}${scale > 0 ? '.' + digits.slice(point) : ''}`;
}

/** the largest scale writeUnscaled takes: the fraction, padded to whole groups of four digits, stays exact */
const MAX_NUMBER_SCALE = 12;
const POW10 = [1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16];
const groups = new Uint16Array(16);

/**
 * numeric's binary form of an unscaled integer (|n| < 2^53) at `scale` (at most
 * MAX_NUMBER_SCALE): base-10000 digit groups around the point, with no text in between.
 */
function writeUnscaled(w: BinaryWriter, n: number, scale: number): void {
  const negative = n < 0;
  const abs = negative ? -n : n;
  const unit = POW10[scale]!;
  let whole = Math.floor(abs / unit);
  const fracGroups = (scale + 3) >> 2;
  // the fraction left-aligned in whole groups: 0.5 at scale 1 is the group 5000
  let frac = (abs - whole * unit) * POW10[fracGroups * 4 - scale]!;
  let wholeGroups = 0;
  for (let t = whole; t > 0; t = Math.floor(t / 10000)) wholeGroups++;
  const total = wholeGroups + fracGroups;
  for (let g = total - 1; g >= wholeGroups; g--) {
    groups[g] = frac % 10000;
    frac = Math.floor(frac / 10000);
  }
  for (let g = wholeGroups - 1; g >= 0; g--) {
    groups[g] = whole % 10000;
    whole = Math.floor(whole / 10000);
  }
  writeNumericGroups(w, groups, total, wholeGroups, negative, scale);
}
