// Column batches (core/columns.ts) into Parquet's PLAIN encoding: most layouts are already the
// leaf's bytes (little-endian integers and doubles, text with its 4-byte lengths), so a column
// of a batch is one copy; decimals get their big-endian fixed-length form.
import { daysFromCivil } from '../../../core/calendar.js';
import { columnLayout, type ColumnLayout, type ColumnVector } from '../../../core/columns.js';
import type { Column } from '../../../core/types.js';
import { int64FromWords, type ByteBuf } from './codec.js';
import { RowRefused } from '../temporal.js';
import { parseNative, type Leaf } from '../typemap.js';

/** Appends the non-null values of a column to a page's value buffer; returns their min and max for INT32/INT64 leaves. */
export type ColumnAppender = (
  v: ColumnVector,
  out: ByteBuf,
) => { min: number | bigint; max: number | bigint } | undefined;

function copyAll(bytes: Uint8Array, out: ByteBuf): void {
  out.ensure(bytes.length);
  out.buf.set(bytes, out.pos);
  out.pos += bytes.length;
}

function int32Range(v: ColumnVector): { min: number; max: number } | undefined {
  if (v.count === 0) return undefined;
  const a = new Int32Array(v.data.buffer, v.data.byteOffset, v.count);
  let min = a[0]!;
  let max = min;
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    if (x < min) min = x;
    else if (x > max) max = x;
  }
  return { min, max };
}

/** min and max of little-endian int64 values, compared by their 32-bit halves. */
function int64Range(v: ColumnVector): { min: number | bigint; max: number | bigint } | undefined {
  if (v.count === 0) return undefined;
  const hi = new Int32Array(v.data.buffer, v.data.byteOffset, v.count * 2);
  const lo = new Uint32Array(v.data.buffer, v.data.byteOffset, v.count * 2);
  let minHi = hi[1]!;
  let minLo = lo[0]!;
  let maxHi = minHi;
  let maxLo = minLo;
  for (let k = 2; k < v.count * 2; k += 2) {
    const h = hi[k + 1]!;
    const l = lo[k]!;
    if (h < minHi || (h === minHi && l < minLo)) {
      minHi = h;
      minLo = l;
    }
    if (h > maxHi || (h === maxHi && l > maxLo)) {
      maxHi = h;
      maxLo = l;
    }
  }
  return { min: int64FromWords(minHi, minLo), max: int64FromWords(maxHi, maxLo) };
}

/** The low 4 bytes of each 8- or 16-byte value: a decimal of at most 9 digits in an INT32 leaf. */
function narrowToInt32(v: ColumnVector, out: ByteBuf, stride: number): { min: number; max: number } | undefined {
  out.ensure(v.count * 4);
  const view = new DataView(v.data.buffer, v.data.byteOffset, v.data.byteLength);
  let min = Infinity;
  let max = -Infinity;
  for (let p = 0; p < v.count * stride; p += stride) {
    const x = view.getInt32(p, true);
    out.view.setInt32(out.pos, x, true);
    out.pos += 4;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return v.count === 0 ? undefined : { min, max };
}

/** The low `size` bytes of each little-endian value, big-endian: Parquet's fixed-length decimal. */
function bigEndian(v: ColumnVector, out: ByteBuf, stride: number, size: number): void {
  out.ensure(v.count * size);
  const { buf, view } = out;
  const d = v.data;
  const values = new DataView(d.buffer, d.byteOffset, d.byteLength);
  // from 8 bytes up, the low 8 go as two 32-bit words: fewer steps than byte by byte
  const bytewise = size >= 8 ? size - 8 : size;
  let o = out.pos;
  for (let p = 0; p < v.count * stride; p += stride) {
    for (let i = 0; i < bytewise; i++) buf[o + i] = d[p + size - 1 - i]!;
    if (size >= 8) {
      view.setUint32(o + size - 8, values.getUint32(p + 4, true));
      view.setUint32(o + size - 4, values.getUint32(p, true));
    }
    o += size;
  }
  out.pos = o;
}

/** How a column of `layout` goes into `leaf`, or undefined when it cannot go as it is. */
export function columnAppender(layout: ColumnLayout, leaf: Leaf): ColumnAppender | undefined {
  const logical = leaf.logical;
  const unsigned = logical?.type === 'INTEGER' && !logical.signed;
  switch (layout) {
    case 'int32':
      if (leaf.physical !== 'INT32' || (unsigned && logical.bits === 32)) return undefined;
      return (v, out) => (copyAll(v.data, out), int32Range(v));
    case 'int64':
    case 'int128': {
      const stride = layout === 'int64' ? 8 : 16;
      if (logical?.type === 'DECIMAL') {
        if (leaf.physical === 'INT32') return (v, out) => narrowToInt32(v, out, stride);
        if (leaf.physical === 'INT64' && layout === 'int64') return (v, out) => (copyAll(v.data, out), int64Range(v));
        if (leaf.physical === 'FIXED_LEN_BYTE_ARRAY' && leaf.typeLength! <= stride) {
          const size = leaf.typeLength!;
          return (v, out) => (bigEndian(v, out, stride, size), undefined);
        }
        return undefined;
      }
      if (layout !== 'int64' || leaf.physical !== 'INT64' || unsigned) return undefined;
      // timestamps in microseconds as they are; milliseconds would need a division and a check
      if ((logical?.type === 'TIMESTAMP' || logical?.type === 'TIME') && logical.unit !== 'MICROS') return undefined;
      return (v, out) => (copyAll(v.data, out), int64Range(v));
    }
    case 'float64':
      if (leaf.physical === 'DOUBLE') return (v, out) => (copyAll(v.data, out), undefined);
      if (leaf.physical !== 'FLOAT') return undefined;
      return (v, out) => {
        const src = new DataView(v.data.buffer, v.data.byteOffset, v.data.byteLength);
        out.ensure(v.count * 4);
        for (let k = 0; k < v.count; k++) out.view.setFloat32(out.pos + 4 * k, src.getFloat64(8 * k, true), true);
        out.pos += v.count * 4;
        return undefined;
      };
    case 'bool':
      return leaf.physical === 'BOOLEAN' ? (v, out) => (copyAll(v.data, out), undefined) : undefined;
    case 'bytes':
      return leaf.physical === 'BYTE_ARRAY'
        ? (v, out) => (copyAll(v.data.subarray(v.offsets![0], v.offsets![v.count]), out), undefined)
        : undefined;
  }
}

/** How each column goes into its leaf from a column batch, or undefined when one cannot (a list, a layout its leaf does not take as it is). */
export function flatColumnAppenders(columns: Column[]): ColumnAppender[] | undefined {
  const out: ColumnAppender[] = [];
  for (const c of columns) {
    const kind = columnLayout(c.type);
    const { shape } = parseNative(c.nativeType);
    if (!kind || !('leaf' in shape)) return undefined;
    const append = columnAppender(kind, shape.leaf);
    if (!append) return undefined;
    const native = c.nativeType.toUpperCase();
    out.push(native === 'DATE' || native.startsWith('TIMESTAMP(') ? withinYears(append, native, shape.leaf) : append);
  }
  return out;
}

/** Parquet counts days in 32 bits and microseconds in 64: about 5.8 million and 292,000 years from 1970. */
export function yearLimit(native: string): number {
  return native === 'DATE' ? 5_000_000 : 290_000;
}

/**
 * An appender that refuses dates and timestamps outside the years valueCheck() lets through
 * in rows (their column form fits the leaf, but rows and columns must agree), in the leaf's unit.
 */
function withinYears(append: ColumnAppender, native: string, leaf: Leaf): ColumnAppender {
  const limit = yearLimit(native);
  const perDay = leaf.logical?.type === 'TIMESTAMP' ? 86_400_000_000n : 1n;
  const low = BigInt(daysFromCivil(-limit, 1, 1)) * perDay;
  const high = BigInt(daysFromCivil(limit + 1, 1, 1)) * perDay;
  return (v, out) => {
    const range = append(v, out);
    if (range && (range.min < low || range.max >= high))
      throw new RowRefused(`a value is outside the years Parquet ${native} holds`);
    return range;
  };
}
