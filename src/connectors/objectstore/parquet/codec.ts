// Canonical values <-> Parquet's PLAIN encoding of each leaf type, one function per column
// chosen up front, so the per-value work is a direct write into the page buffer.
import { normalizeDecimal } from '../../../core/values.js';
import type { CanonicalType } from '../../../core/types.js';
import {
  formatDays,
  formatTime,
  formatTimestamp,
  parseDate,
  parseTime,
  parseTimestamp,
  RowRefused,
} from '../temporal.js';
import type { Leaf } from '../typemap.js';

/** A growable byte buffer that encoders write into directly (numbers through a DataView, which V8 inlines). */
export class ByteBuf {
  buf: Buffer;
  view: DataView;
  pos = 0;
  /** `cap`: the size doubling stops at (a page's buffer need not grow much past the page size) */
  constructor(
    size = 64 * 1024,
    private readonly cap = Infinity,
  ) {
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(Math.min(this.buf.length * 2, this.cap), this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/**
 * Writes one non-null value; returns the physical number for INT32/INT64 leaves (for the
 * column statistics), undefined for the others.
 */
export type ValueEncoder = (v: unknown, out: ByteBuf) => number | bigint | undefined;
/** Reads one value at `pos` of `buf`. */
export type ValueDecoder = (buf: Buffer, pos: number) => unknown;

const TWO_32 = 4294967296;

/** Writes an integer that a number holds exactly (below 2^53) as 8 little-endian bytes. */
function writeInt64Number(n: number, out: ByteBuf): void {
  out.ensure(8);
  out.view.setUint32(out.pos, n >>> 0, true);
  out.view.setInt32(out.pos + 4, Math.floor(n / TWO_32) | 0, true);
  out.pos += 8;
}

function writeInt64(n: number | bigint, out: ByteBuf): void {
  if (typeof n === 'number') return writeInt64Number(n, out);
  out.ensure(8);
  out.view.setBigInt64(out.pos, n, true);
  out.pos += 8;
}

/** An int64 from its high (signed) and low (unsigned) 32-bit words: a number when exact, else a bigint. */
export function int64FromWords(hi: number, lo: number): number | bigint {
  return hi >= -0x200000 && hi < 0x200000 ? hi * TWO_32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}

/** An INT64 as a number when exact, else a bigint. */
export function readInt64(buf: Buffer, pos: number): number | bigint {
  return int64FromWords(buf.readInt32LE(pos + 4), buf.readUInt32LE(pos));
}

function writeInt32(n: number, out: ByteBuf): number {
  out.ensure(4);
  out.view.setInt32(out.pos, n, true);
  out.pos += 4;
  return n;
}

// below this length a JavaScript loop over ASCII text beats a call into the UTF-8 encoder
const SHORT_TEXT = 48;

/** Buffer's own UTF-8 writer, without the argument checks of buf.write (the capacity is ensured). */
const utf8Write = (Buffer.prototype as unknown as { utf8Write(this: Buffer, s: string, offset: number): number })
  .utf8Write;

function writeText(s: string, out: ByteBuf): void {
  const len = s.length;
  out.ensure(len * 3 + 4);
  const { buf, pos } = out;
  if (len < SHORT_TEXT) {
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos + 4 + i] = c;
    }
    if (i === len) {
      out.view.setUint32(pos, len, true);
      out.pos = pos + 4 + len;
      return;
    }
  }
  const n = utf8Write.call(buf, s, pos + 4);
  out.view.setUint32(pos, n, true);
  out.pos = pos + 4 + n;
}

function writeBytes(b: Uint8Array, out: ByteBuf): void {
  out.ensure(b.length + 4);
  out.view.setUint32(out.pos, b.length, true);
  out.buf.set(b, out.pos + 4);
  out.pos += 4 + b.length;
}

/** The unscaled integer of an exact decimal string at `scale` (a number while exact). */
export function unscaled(v: unknown, scale: number): number | bigint {
  let s = String(v);
  let neg = false;
  let start = 0;
  if (s.charCodeAt(0) === 45) {
    neg = true;
    start = 1;
  }
  let n = 0;
  let digits = 0;
  let frac = -1;
  let plain = true;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 && frac < 0) frac = 0;
    else if (c >= 48 && c <= 57) {
      if (digits > 0 || c !== 48) digits++;
      n = n * 10 + (c - 48);
      if (frac >= 0) frac++;
    } else {
      plain = false;
      break;
    }
  }
  if (!plain) {
    // exponent notation or a leading "+": normalise, then read again
    s = normalizeDecimal(s);
    if (!/^-?\d+(\.\d+)?$/.test(s)) throw new RowRefused(`"${String(v)}" is not a decimal number`);
    return unscaled(s, scale);
  }
  if (frac < 0) frac = 0;
  if (frac > scale) throw new RowRefused(`${s} has ${frac} decimal places, more than the scale ${scale} of its column`);
  if (digits + scale - frac <= 15) {
    const r = n * 10 ** (scale - frac);
    return neg ? -r : r;
  }
  const body = s.slice(start).replace('.', '') + '0'.repeat(scale - frac);
  const b = BigInt(body);
  return neg ? -b : b;
}

function decimalText(u: number | bigint, scale: number): string {
  if (scale === 0) return String(u);
  let s = String(u);
  const neg = s.charCodeAt(0) === 45;
  if (neg) s = s.slice(1);
  s = s.padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`;
}

/** Big-endian two's complement of `size` bytes (Parquet's decimal in a fixed-length byte array). */
function writeBigEndian(u: number | bigint, size: number, out: ByteBuf): void {
  out.ensure(size);
  const { buf, pos } = out;
  if (typeof u === 'number') {
    let x = u;
    for (let i = size - 1; i >= 0; i--) {
      const q = Math.floor(x / 256);
      buf[pos + i] = x - q * 256;
      x = q;
    }
  } else {
    let x = u;
    for (let i = size - 1; i >= 0; i--) {
      buf[pos + i] = Number(x & 255n);
      x >>= 8n;
    }
  }
  out.pos += size;
}

function readBigEndian(buf: Buffer, pos: number, size: number): bigint {
  let x = 0n;
  for (let i = 0; i < size; i++) x = (x << 8n) | BigInt(buf[pos + i]!);
  return buf[pos]! & 0x80 ? x - (1n << BigInt(8 * size)) : x;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function uuidBytes(v: unknown, out: ByteBuf): void {
  const hex = String(v).replace(/-/g, '');
  if (hex.length !== 32) throw new RowRefused(`"${String(v)}" is not a UUID`);
  out.ensure(16);
  for (let i = 0; i < 16; i++) {
    const b = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    if (Number.isNaN(b)) throw new RowRefused(`"${String(v)}" is not a UUID`);
    out.buf[out.pos + i] = b;
  }
  out.pos += 16;
}

function uuidText(buf: Buffer, pos: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += HEX[buf[pos + i]!];
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
  }
  return s;
}

/** The encoder of a leaf for values of canonical type `t`. Booleans are packed by the column writer. */
export function leafEncoder(leaf: Leaf, t: CanonicalType): ValueEncoder {
  const logical = leaf.logical;
  switch (logical?.type) {
    case 'DECIMAL': {
      const { scale } = logical;
      if (leaf.physical === 'INT32') return (v, out) => writeInt32(unscaled(v, scale) as number, out);
      if (leaf.physical === 'INT64')
        return (v, out) => {
          const u = unscaled(v, scale);
          writeInt64(u, out);
          return u;
        };
      const size = leaf.typeLength!;
      return (v, out) => {
        writeBigEndian(unscaled(v, scale), size, out);
        return undefined;
      };
    }
    case 'DATE':
      return (v, out) => writeInt32(parseDate(v as string), out);
    case 'TIME':
      if (logical.unit === 'MILLIS')
        return (v, out) => {
          const us = parseTime(v as string);
          if (us % 1000 !== 0)
            throw new RowRefused(
              `${String(v)} has a fraction of a second finer than the milliseconds this column keeps`,
            );
          return writeInt32(us / 1000, out);
        };
      return (v, out) => {
        const us = parseTime(v as string);
        writeInt64Number(us, out);
        return us;
      };
    case 'TIMESTAMP': {
      const unit = logical.unit;
      return (v, out) => {
        const n = parseTimestamp(v as string, unit);
        writeInt64(n, out);
        return n;
      };
    }
    case 'UUID':
      return (v, out) => {
        uuidBytes(v, out);
        return undefined;
      };
  }
  switch (leaf.physical) {
    case 'BOOLEAN':
      return (v, out) => {
        out.ensure(1);
        out.buf[out.pos++] = v ? 1 : 0;
        return undefined;
      };
    case 'INT32':
      if (logical?.type === 'INTEGER' && !logical.signed && logical.bits === 32)
        return (v, out) => {
          out.ensure(4);
          out.view.setUint32(out.pos, v as number, true);
          out.pos += 4;
          return v as number;
        };
      return (v, out) => writeInt32(v as number, out);
    case 'INT64':
      if (logical?.type === 'INTEGER' && !logical.signed)
        return (v, out) => {
          out.ensure(8);
          out.view.setBigUint64(out.pos, BigInt(v as bigint), true);
          out.pos += 8;
          return v as bigint;
        };
      return (v, out) => {
        writeInt64(typeof v === 'number' ? v : (v as bigint), out);
        return v as bigint;
      };
    case 'FLOAT':
      return (v, out) => {
        out.ensure(4);
        out.view.setFloat32(out.pos, v as number, true);
        out.pos += 4;
        return undefined;
      };
    case 'DOUBLE':
      return (v, out) => {
        out.ensure(8);
        out.view.setFloat64(out.pos, v as number, true);
        out.pos += 8;
        return undefined;
      };
    case 'BYTE_ARRAY':
      if (t.kind === 'bytes')
        return (v, out) => {
          writeBytes(v as Uint8Array, out);
          return undefined;
        };
      return (v, out) => {
        writeText(typeof v === 'string' ? v : String(v), out);
        return undefined;
      };
    case 'FIXED_LEN_BYTE_ARRAY':
      throw new Error(`no encoder for a fixed-length byte array of ${leaf.logical?.type ?? 'no logical type'}`);
  }
}

/** Bytes one PLAIN value of a fixed-width leaf takes; undefined for length-prefixed ones. */
export function fixedWidth(leaf: Leaf): number | undefined {
  switch (leaf.physical) {
    case 'INT32':
    case 'FLOAT':
      return 4;
    case 'INT64':
    case 'DOUBLE':
      return 8;
    case 'FIXED_LEN_BYTE_ARRAY':
      return leaf.typeLength!;
    default:
      return undefined;
  }
}

/**
 * The decoder of a leaf into canonical values of `t`. BOOLEAN values are addressed by bit
 * (`pos` counts bits); BYTE_ARRAY values get their own bytes (the reader strips the length).
 */
export function leafDecoder(leaf: Leaf, t: CanonicalType): ValueDecoder {
  const logical = leaf.logical;
  switch (logical?.type) {
    case 'DECIMAL': {
      const { scale } = logical;
      if (leaf.physical === 'INT32') return (b, p) => decimalText(b.readInt32LE(p), scale);
      if (leaf.physical === 'INT64') return (b, p) => decimalText(readInt64(b, p), scale);
      const size = leaf.typeLength!;
      return (b, p) => decimalText(readBigEndian(b, p, size), scale);
    }
    case 'DATE':
      return (b, p) => formatDays(b.readInt32LE(p));
    case 'TIME':
      return logical.unit === 'MILLIS'
        ? (b, p) => formatTime(b.readInt32LE(p) * 1000)
        : (b, p) => formatTime(readInt64(b, p) as number);
    case 'TIMESTAMP': {
      const { unit, utc } = logical;
      return (b, p) => formatTimestamp(readInt64(b, p), unit, utc);
    }
    case 'UUID':
      return uuidText;
  }
  switch (leaf.physical) {
    case 'BOOLEAN':
      return (b, bit) => ((b[bit >> 3]! >> (bit & 7)) & 1) === 1;
    case 'INT32':
      if (logical?.type === 'INTEGER' && !logical.signed && logical.bits === 32) return (b, p) => b.readUInt32LE(p);
      return (b, p) => b.readInt32LE(p);
    case 'INT64':
      if (logical?.type === 'INTEGER' && !logical.signed) return (b, p) => b.readBigUInt64LE(p);
      return (b, p) => b.readBigInt64LE(p);
    case 'FLOAT':
      return (b, p) => b.readFloatLE(p);
    case 'DOUBLE':
      return (b, p) => b.readDoubleLE(p);
    case 'BYTE_ARRAY':
      // the reader passes the value's own bytes (after the length)
      if (t.kind === 'bytes') return (b, p) => new Uint8Array(b.subarray(p));
      return (b, p) => b.toString('utf8', p);
    default:
      throw new Error(`no decoder for ${leaf.physical}`);
  }
}

/** The statistics bytes of an INT32/INT64 value. */
export function statBytes(leaf: Leaf, v: number | bigint): Buffer {
  if (leaf.physical === 'INT32') {
    const b = Buffer.allocUnsafe(4);
    if ((v as number) > 0x7fffffff) b.writeUInt32LE(v as number);
    else b.writeInt32LE(v as number);
    return b;
  }
  const b = Buffer.allocUnsafe(8);
  const big = BigInt(v);
  if (big > 0x7fffffffffffffffn) b.writeBigUInt64LE(big);
  else b.writeBigInt64LE(big);
  return b;
}
