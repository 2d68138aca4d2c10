// Writing COPY ... FROM STDIN (FORMAT binary): canonical values encoded straight into one
// growing buffer, one encoder per column chosen once per chunk from the live column types.
import { normalizeDecimal } from '../../core/values.js';
import {
  ValueError,
  parseDate,
  parseInterval,
  parseTime,
  parseTimeTz,
  parseTimestamp,
  US_PER_DAY,
} from './temporal.js';
import type { ScalarFamily } from './wire.js';

/** Node's own UTF-8 fast path under Buffer#write, without its argument checks (not in @types/node). */
interface Utf8Writing {
  utf8Write(s: string, offset: number, length: number): number;
}

const EMPTY = Buffer.alloc(0);

export class BinaryWriter {
  buf: Buffer;
  pos = 0;

  /** `flushAt`: the size at which the caller hands the bytes on */
  constructor(readonly flushAt = 1 << 18) {
    this.buf = Buffer.allocUnsafe(flushAt * 2);
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.flushAt * 2, this.buf.length * 2, this.pos + n));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
  }

  /** What was written so far; the next write starts a fresh buffer (this one is still on its way). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = EMPTY;
    this.pos = 0;
    return out;
  }

  int16(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  int32(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >> 24;
    b[p + 1] = v >> 16;
    b[p + 2] = v >> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  /** An integer of at most 53 bits as int64. */
  int64(v: number): void {
    const hi = Math.floor(v / 4294967296);
    this.int32(hi);
    this.int32(v - hi * 4294967296);
  }

  /** UTF-8 at `at` (room for it ensured); returns its length in bytes. */
  utf8(s: string, at: number): number {
    return (this.buf as unknown as Utf8Writing).utf8Write(s, at, this.buf.length - at);
  }

  /** Length-prefixed UTF-8. */
  text(s: string): void {
    this.ensure(4 + s.length * 3);
    const n = this.utf8(s, this.pos + 4);
    this.int32(n);
    this.pos += n;
  }
}

/** Writes one non-NULL value: its length, then its bytes. */
export type Encoder = (w: BinaryWriter, v: unknown) => void;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** signature, flags (none), header extension length (none) */
const BINARY_HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]);

/** A writer of one binary COPY's data, its header written. */
export function binaryCopyWriter(): BinaryWriter {
  const w = new BinaryWriter();
  w.ensure(BINARY_HEADER.length);
  w.buf.set(BINARY_HEADER, 0);
  w.pos = BINARY_HEADER.length;
  return w;
}

/** What `w` holds, with binary COPY's trailer after it: the COPY's last data. */
export function binaryCopyEnd(w: BinaryWriter): Buffer {
  w.ensure(2);
  w.int16(-1);
  return w.take();
}

function num(v: unknown): number {
  return typeof v === 'number'
    ? v
    : typeof v === 'bigint'
      ? Number(v)
      : typeof v === 'boolean'
        ? Number(v)
        : Number(String(v));
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function writeInt64(w: BinaryWriter, v: unknown): void {
  w.ensure(12);
  w.int32(8);
  if (typeof v === 'bigint' && (v > MAX_SAFE || v < -MAX_SAFE)) {
    if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) throw new ValueError(`${v} is out of range for bigint`);
    w.buf.writeBigInt64BE(v, w.pos);
    w.pos += 8;
    return;
  }
  const n = num(v);
  if (!Number.isInteger(n)) throw new ValueError(`${String(v)} is not an integer`);
  w.int64(n);
}

let groups = new Uint16Array(64);

/** numeric's binary form from decimal text: base-10000 digit groups around the point. */
export function writeNumeric(w: BinaryWriter, v: unknown): void {
  let s =
    typeof v === 'string'
      ? v
      : typeof v === 'number' && !Number.isFinite(v)
        ? Number.isNaN(v)
          ? 'NaN'
          : v > 0
            ? 'Infinity'
            : '-Infinity'
        : String(v);
  let i = 0;
  let neg = false;
  const c0 = s.charCodeAt(0);
  if (c0 === 45 || c0 === 43) {
    neg = c0 === 45;
    i = 1;
  }
  let dot = -1;
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 46 && dot < 0) dot = j;
    else if (c < 48 || c > 57) {
      const special = /^([+-]?)(nan|inf|infinity)$/i.exec(s);
      if (special) {
        const sign = /nan/i.test(special[2]!) ? 0xc000 : special[1] === '-' ? 0xf000 : 0xd000;
        w.ensure(12);
        w.int32(8);
        w.int16(0);
        w.int16(0);
        w.int16(sign);
        w.int16(0);
        return;
      }
      if (!/^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$/.test(s)) throw new ValueError(`"${s}" is not a number`);
      return writeNumeric(w, normalizeDecimal(s));
    }
  }
  if (dot < 0) dot = s.length;
  while (i < dot - 1 && s.charCodeAt(i) === 48) i++;
  const intLen = dot - i;
  const fracLen = s.length - dot - 1 > 0 ? s.length - dot - 1 : 0;
  if (intLen === 0 && fracLen === 0) throw new ValueError(`"${s}" is not a number`);
  const intGroups = Math.ceil(intLen / 4);
  const total = intGroups + Math.ceil(fracLen / 4);
  if (groups.length < total) groups = new Uint16Array(total * 2);
  // integer digits, right-aligned in groups of four
  let g = 0;
  let acc = 0;
  let inGroup = intLen - (intGroups - 1) * 4;
  for (let j = i; j < dot; j++) {
    acc = acc * 10 + s.charCodeAt(j) - 48;
    if (--inGroup === 0) {
      groups[g++] = acc;
      acc = 0;
      inGroup = 4;
    }
  }
  // fraction digits, left-aligned in groups of four
  acc = 0;
  let k = 0;
  for (let j = dot + 1; j < s.length; j++) {
    acc = acc * 10 + s.charCodeAt(j) - 48;
    if (++k === 4) {
      groups[g++] = acc;
      acc = 0;
      k = 0;
    }
  }
  if (k > 0) groups[g++] = acc * (k === 1 ? 1000 : k === 2 ? 100 : 10);
  if (fracLen > 0x3fff) throw new ValueError(`"${s.slice(0, 20)}…" has more decimal places than PostgreSQL allows`);
  writeNumericGroups(w, groups, g, intGroups, neg, fracLen);
}

/**
 * numeric's binary form from its base-10000 digit groups (`count` of them, the first
 * `wholeGroups` before the point): leading and trailing zero groups left out, as PostgreSQL does.
 */
export function writeNumericGroups(
  w: BinaryWriter,
  groups: Uint16Array,
  count: number,
  wholeGroups: number,
  negative: boolean,
  scale: number,
): void {
  let first = 0;
  let weight = wholeGroups - 1;
  while (first < count && groups[first] === 0) {
    first++;
    weight--;
  }
  let last = count - 1;
  while (last >= first && groups[last] === 0) last--;
  const ndigits = last - first + 1;
  w.ensure(12 + ndigits * 2);
  w.int32(8 + ndigits * 2);
  w.int16(ndigits);
  w.int16(ndigits === 0 ? 0 : weight);
  w.int16(negative && ndigits > 0 ? 0x4000 : 0);
  w.int16(scale);
  for (let j = first; j <= last; j++) w.int16(groups[j]!);
}

/** real's binary form, refusing a value real cannot hold */
export function writeFloat4(w: BinaryWriter, n: number): void {
  const misfit = float4Misfit(n);
  if (misfit) throw new ValueError(misfit);
  w.ensure(8);
  w.int32(4);
  w.buf.writeFloatBE(n, w.pos);
  w.pos += 4;
}

/** Why a float64 does not fit real (PostgreSQL refuses overflow and underflow to zero), or undefined. */
export function float4Misfit(n: number): string | undefined {
  const f = Math.fround(n);
  return (Number.isFinite(n) && !Number.isFinite(f)) || (f === 0 && n !== 0)
    ? `${n} is out of range for real (about ±1.4e-45 to ±3.4e38)`
    : undefined;
}

function writeTimestamp(tz: boolean): Encoder {
  return (w, v) => {
    const s = str(v);
    w.ensure(12);
    w.int32(8);
    if (s === 'infinity' || s === '-infinity') {
      w.buf.writeBigInt64BE(s === 'infinity' ? 0x7fffffffffffffffn : -0x8000000000000000n, w.pos);
      w.pos += 8;
      return;
    }
    const { days, us } = parseTimestamp(s, tz);
    const total = days * US_PER_DAY + us;
    if (Number.isSafeInteger(total)) w.int64(total);
    else {
      w.buf.writeBigInt64BE(BigInt(days) * BigInt(US_PER_DAY) + BigInt(us), w.pos);
      w.pos += 8;
    }
  };
}

function uuidBytes(w: BinaryWriter, v: unknown): void {
  const s = str(v);
  const hex =
    s.length === 36 && s[8] === '-'
      ? s.slice(0, 8) + s.slice(9, 13) + s.slice(14, 18) + s.slice(19, 23) + s.slice(24)
      : s.replace(/[{}-]/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new ValueError(`"${s}" is not a UUID`);
  w.ensure(20);
  w.int32(16);
  w.buf.write(hex, w.pos, 'hex');
  w.pos += 16;
}

function writeBits(w: BinaryWriter, v: unknown): void {
  const s = str(v);
  const bytes = (s.length + 7) >> 3;
  w.ensure(8 + bytes);
  w.int32(4 + bytes);
  w.int32(s.length);
  for (let b = 0; b < bytes; b++) {
    let byte = 0;
    for (let k = 0; k < 8; k++) {
      const c = s.charCodeAt(b * 8 + k);
      byte <<= 1;
      if (c === 49) byte |= 1;
      else if (c !== 48 && b * 8 + k < s.length) throw new ValueError(`"${s}" is not a bit string`);
    }
    w.buf[w.pos++] = byte;
  }
}

export function scalarEncoder(family: ScalarFamily): Encoder {
  switch (family) {
    case 'bool':
      return (w, v) => {
        if (typeof v !== 'boolean' && typeof v !== 'number' && typeof v !== 'bigint')
          throw new ValueError(`${String(v)} is not a boolean`);
        w.ensure(5);
        w.int32(1);
        w.buf[w.pos++] = v ? 1 : 0;
      };
    case 'int2':
      return (w, v) => {
        const n = num(v);
        if (n !== (n << 16) >> 16) throw new ValueError(`${String(v)} is not a smallint`);
        w.ensure(6);
        w.int32(2);
        w.int16(n);
      };
    case 'int4':
      return (w, v) => {
        const n = num(v);
        if (n !== (n | 0)) throw new ValueError(`${String(v)} is not an integer in the range of integer`);
        w.ensure(8);
        w.int32(4);
        w.int32(n);
      };
    case 'int8':
      return writeInt64;
    case 'numeric':
      return writeNumeric;
    case 'float4':
      return (w, v) => writeFloat4(w, num(v));
    case 'float8':
      return (w, v) => {
        w.ensure(12);
        w.int32(8);
        w.buf.writeDoubleBE(num(v), w.pos);
        w.pos += 8;
      };
    case 'text':
      return (w, v) => w.text(str(v));
    case 'jsonb':
      return (w, v) => {
        const s = str(v);
        w.ensure(5 + s.length * 3);
        const n = w.utf8(s, w.pos + 5);
        w.int32(n + 1);
        w.buf[w.pos++] = 1;
        w.pos += n;
      };
    case 'bytea':
    case 'geometry':
      return (w, v) => {
        const b = v instanceof Uint8Array ? v : Buffer.from(str(v), 'utf8');
        w.ensure(4 + b.byteLength);
        w.int32(b.byteLength);
        w.buf.set(b, w.pos);
        w.pos += b.byteLength;
      };
    case 'uuid':
      return uuidBytes;
    case 'date':
      return (w, v) => {
        const days = parseDate(str(v));
        w.ensure(8);
        w.int32(4);
        w.int32(days);
      };
    case 'time':
      return (w, v) => {
        w.ensure(12);
        w.int32(8);
        w.int64(parseTime(str(v)));
      };
    case 'timetz':
      return (w, v) => {
        const [us, east] = parseTimeTz(str(v));
        w.ensure(16);
        w.int32(12);
        w.int64(us);
        w.int32(-east);
      };
    case 'timestamp':
      return writeTimestamp(false);
    case 'timestamptz':
      return writeTimestamp(true);
    case 'interval':
      return (w, v) => {
        const [months, days, us] = parseInterval(str(v));
        w.ensure(20);
        w.int32(16);
        w.int64(us);
        w.int32(days);
        w.int32(months);
      };
    case 'bit':
      return writeBits;
  }
}

/** Arrays (nested JS arrays, rectangular) of elements of type `elementOid`. */
export function arrayEncoder(element: Encoder, elementOid: number): Encoder {
  return (w, v) => {
    if (!Array.isArray(v)) throw new ValueError(`${String(v)} is not an array`);
    const dims: number[] = [];
    for (let level: unknown = v; Array.isArray(level); level = level[0]) {
      dims.push(level.length);
      if (level.length === 0) break;
    }
    const ndim = dims[dims.length - 1] === 0 ? (dims.length === 1 ? 0 : -1) : dims.length;
    if (ndim < 0) throw new ValueError('an array with an empty inner dimension cannot be stored in PostgreSQL');
    w.ensure(12 + 8 * ndim);
    const lengthAt = w.pos;
    w.int32(0);
    w.int32(ndim);
    const flagsAt = w.pos;
    w.int32(0);
    w.int32(elementOid);
    for (const d of dims.slice(0, ndim)) {
      w.int32(d);
      w.int32(1);
    }
    let hasNull = false;
    const walk = (a: unknown[], level: number): void => {
      if (a.length !== dims[level]) throw new ValueError('a multidimensional array must be rectangular for PostgreSQL');
      for (const e of a) {
        if (level < ndim - 1) {
          if (!Array.isArray(e)) throw new ValueError('a multidimensional array must be rectangular for PostgreSQL');
          walk(e, level + 1);
        } else if (e === null || e === undefined) {
          hasNull = true;
          w.ensure(4);
          w.int32(-1);
        } else element(w, e);
      }
    };
    if (ndim > 0) walk(v, 0);
    w.buf.writeInt32BE(w.pos - lengthAt - 4, lengthAt);
    if (hasNull) w.buf.writeInt32BE(1, flagsAt);
  };
}
