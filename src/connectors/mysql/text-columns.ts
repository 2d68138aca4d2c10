// Rows of MySQL's text protocol straight into column batches (core/columns.ts): each field is a
// length-encoded string; integers, decimals, dates and datetimes are parsed from their ASCII
// digits where they lie in the packet, text and binary values copied as they are (the session's
// character set is utf8mb4). No field becomes a JavaScript string. A value with no column form
// (a zero date, a tinyint(1) other than 0 or 1, …) throws: the caller reads the chunk as rows,
// where the plan's policies for such values apply.
import { daysFromCivil } from '../../core/calendar.js';
import {
  BatchBuilder,
  ColumnBuilder,
  columnDecoder,
  columnLayout,
  noColumnarForm,
  writeIntLE,
  type ColumnDecoder,
} from '../../core/columns.js';
import type { CanonicalType } from '../../core/types.js';

// What becomes of a field; TextColumnBatcher.row switches on it (see postgres/binary-columns.ts for why).
const INT32 = 0;
const INT64 = 1;
const DECIMAL = 2;
const FLOAT = 3;
const BOOL = 4;
const DATE = 5;
const DATETIME = 6;
const BYTES = 7;

/** The decoder of a canonical type's text values into its column layout, or undefined when it has none here. */
export function textColumnDecoderFor(t: CanonicalType): ColumnDecoder | undefined {
  const layout = columnLayout(t);
  if (!layout) return undefined;
  const op = (code: number): ColumnDecoder => columnDecoder(t, layout, code);
  switch (t.kind) {
    case 'int':
      return op(layout === 'int64' ? INT64 : INT32);
    case 'decimal':
      return op(DECIMAL);
    case 'float':
      return op(FLOAT);
    case 'bool':
      return op(BOOL);
    case 'date':
      return op(DATE);
    case 'timestamp':
      // TIMESTAMP columns are read in a UTC session: both kinds are a UTC wall clock
      return op(DATETIME);
    case 'string':
    case 'enum':
    case 'json':
    case 'bytes':
      return op(BYTES);
    default:
      return undefined;
  }
}

const US_PER_DAY = 86_400_000_000;
/** days from 1970 within which a day's microseconds stay below 2^53 */
const SAFE_DAYS = 104_000;
const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function text(buf: Buffer, at: number, len: number): string {
  return buf.toString('latin1', at, at + len);
}

/** `n` ASCII digits from `at` as a number (n <= 15). */
function digits(buf: Buffer, at: number, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const d = buf[at + i]! - 48;
    if (d < 0 || d > 9) throw noColumnarForm(`the value "${text(buf, at, n)}"`);
    acc = acc * 10 + d;
  }
  return acc;
}

/** A signed ASCII integer as a number while exact (up to 15 digits), else a bigint. */
function integer(buf: Buffer, at: number, len: number): number | bigint {
  const negative = buf[at] === 45;
  const n = negative ? len - 1 : len;
  if (n > 15) return BigInt(text(buf, at, len));
  const v = digits(buf, negative ? at + 1 : at, n);
  return negative ? -v : v;
}

/** A decimal's text ("-123.45") as the unscaled integer at `scale`. */
function decimal(b: ColumnBuilder, buf: Buffer, at: number, len: number, scale: number, width: 8 | 16): void {
  const end = at + len;
  let p = at;
  const negative = buf[p] === 45;
  if (negative) p++;
  let acc = 0;
  let count = 0;
  let places = -1;
  for (; p < end; p++) {
    const d = buf[p]! - 48;
    if (d === -2 && places < 0) places = 0;
    else if (d < 0 || d > 9) throw noColumnarForm(`the decimal "${text(buf, at, len)}"`);
    else {
      acc = acc * 10 + d;
      count++;
      if (places >= 0) places++;
    }
  }
  if (places < 0) places = 0;
  if (places > scale) throw noColumnarForm(`a decimal with ${places} places in a column of scale ${scale}`);
  if (count <= 15) {
    const unscaled = acc * 10 ** (scale - places);
    if (Number.isSafeInteger(unscaled)) return writeIntLE(b, negative ? -unscaled : unscaled, width);
  }
  const big = BigInt(text(buf, at, len).replace('.', '')) * 10n ** BigInt(scale - places);
  writeIntLE(b, big, width);
}

/** "YYYY-MM-DD" from `at` as days since 1970-01-01; zero and impossible dates have no column form. */
function days(buf: Buffer, at: number): number {
  const y = digits(buf, at, 4);
  const m = digits(buf, at + 5, 2);
  const d = digits(buf, at + 8, 2);
  if (
    buf[at + 4] !== 45 ||
    buf[at + 7] !== 45 ||
    y === 0 ||
    m === 0 ||
    m > 12 ||
    d === 0 ||
    d > DAYS_IN_MONTH[m]! ||
    (m === 2 && d === 29 && (y % 4 !== 0 || (y % 100 === 0 && y % 400 !== 0)))
  )
    throw noColumnarForm(`the date ${text(buf, at, 10)}`);
  return daysFromCivil(y, m, d);
}

/** "YYYY-MM-DD HH:MM:SS[.ffffff]" as microseconds since 1970-01-01 00:00. */
function datetime(b: ColumnBuilder, buf: Buffer, at: number, len: number): void {
  if (
    len < 19 ||
    len === 20 ||
    len > 26 ||
    buf[at + 10] !== 32 ||
    buf[at + 13] !== 58 ||
    buf[at + 16] !== 58 ||
    (len > 19 && buf[at + 19] !== 46)
  )
    throw noColumnarForm(`the datetime "${text(buf, at, len)}"`);
  const day = days(buf, at);
  const h = digits(buf, at + 11, 2);
  const mi = digits(buf, at + 14, 2);
  const s = digits(buf, at + 17, 2);
  const places = len > 19 ? len - 20 : 0;
  const us =
    ((h * 60 + mi) * 60 + s) * 1_000_000 + (places > 0 ? digits(buf, at + 20, places) * 10 ** (6 - places) : 0);
  if (day > -SAFE_DAYS && day < SAFE_DAYS) writeIntLE(b, day * US_PER_DAY + us, 8);
  else writeIntLE(b, BigInt(day) * BigInt(US_PER_DAY) + BigInt(us), 8);
}

/** Complete text-protocol rows into column batches of `batchRows` rows. */
export class TextColumnBatcher extends BatchBuilder {
  /** One row: the fields of a packet's payload, buf[at..end). */
  row(buf: Buffer, at: number, end: number): void {
    const { decoders, builders } = this;
    let p = at;
    for (let i = 0; i < decoders.length; i++) {
      const b = builders[i]!;
      // a length-encoded string: 0xfb is NULL, 0xfc to 0xfe announce a 2, 3 or 8-byte length
      let len = buf[p++]!;
      if (len >= 0xfb) {
        if (len === 0xfb) {
          b.null();
          continue;
        }
        if (len === 0xfc) {
          len = buf[p]! | (buf[p + 1]! << 8);
          p += 2;
        } else if (len === 0xfd) {
          len = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16);
          p += 3;
        } else {
          len = buf.readUInt32LE(p) + buf.readUInt32LE(p + 4) * 4294967296;
          p += 8;
        }
      }
      const d = decoders[i]!;
      switch (d.op) {
        case INT32:
          b.int32(int32Of(buf, p, len));
          break;
        case INT64:
          writeIntLE(b, integer(buf, p, len), 8);
          break;
        case DECIMAL:
          decimal(b, buf, p, len, d.scale, d.width);
          break;
        case FLOAT:
          b.float64(Number(text(buf, p, len)));
          break;
        case BOOL: {
          const v = buf[p]! - 48;
          if (len !== 1 || (v !== 0 && v !== 1)) throw noColumnarForm(`the tinyint(1) value ${text(buf, p, len)}`);
          b.bool(v);
          break;
        }
        case DATE:
          if (len !== 10) throw noColumnarForm(`the date "${text(buf, p, len)}"`);
          b.int32(days(buf, p));
          break;
        case DATETIME:
          datetime(b, buf, p, len);
          break;
        case BYTES:
          b.bytes(buf, p, len);
          break;
      }
      p += len;
    }
    if (p !== end)
      throw noColumnarForm(`a row of ${decoders.length} fields that takes ${end - at} bytes, not ${p - at},`);
    this.endRow();
  }
}

/** A signed integer of the int32 layout's types. */
function int32Of(buf: Buffer, at: number, len: number): number {
  const v = integer(buf, at, len);
  if (typeof v !== 'number' || v > 2147483647 || v < -2147483648)
    throw noColumnarForm(`the integer ${String(v)} in a 32-bit column`);
  return v;
}
