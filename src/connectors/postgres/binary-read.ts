// Reading COPY ... TO STDOUT (FORMAT binary): a row parser that takes the stream's chunks as
// they come (rows straddle chunks), and one decoder per column chosen once per read.
import { formatInterval } from '../../core/calendar.js';
import { FerryError } from '../../core/errors.js';
import type { CanonicalType, RowBatch } from '../../core/types.js';
import {
  DATE_INFINITY,
  FOUR_DIGITS,
  DATE_MINUS_INFINITY,
  US_PER_DAY,
  formatDays,
  formatOffset,
  formatTimeOfDay,
  splitIntervalTime,
  timestampFormatter,
} from './temporal.js';
import { familyOf, type ScalarFamily } from './wire.js';

/** Decodes one non-NULL field of `len` bytes at `at`. */
export type Decoder = (buf: Buffer, at: number, len: number) => unknown;

const BITS = Array.from({ length: 256 }, (_, i) => i.toString(2).padStart(8, '0'));

export function int32(buf: Buffer, at: number): number {
  return (buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!;
}

function uint32(buf: Buffer, at: number): number {
  return int32(buf, at) >>> 0;
}

function uint16(buf: Buffer, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

/** An int64 as a number when it is exactly representable, else as a bigint. */
export function int64(buf: Buffer, at: number): number | bigint {
  const hi = int32(buf, at);
  if (hi >= -0x200000 && hi < 0x200000) return hi * 4294967296 + uint32(buf, at + 4);
  return buf.readBigInt64BE(at);
}

/** numeric's binary form: base-10000 digits with a weight, sign and display scale. */
function decodeNumeric(buf: Buffer, at: number): string {
  const ndigits = uint16(buf, at);
  const weight = (uint16(buf, at + 2) << 16) >> 16;
  const sign = uint16(buf, at + 4);
  const dscale = uint16(buf, at + 6);
  if (sign === 0xc000) return 'NaN';
  if (sign === 0xd000) return 'Infinity';
  if (sign === 0xf000) return '-Infinity';
  const digits = at + 8;
  let out = sign === 0x4000 ? '-' : '';
  if (weight < 0) out += '0';
  else {
    out += String(ndigits > 0 ? uint16(buf, digits) : 0);
    for (let k = 1; k <= weight; k++) out += k < ndigits ? FOUR_DIGITS[uint16(buf, digits + 2 * k)] : '0000';
  }
  if (dscale === 0) return out;
  let frac = '';
  for (let k = weight + 1; frac.length < dscale; k++)
    frac += k >= 0 && k < ndigits ? FOUR_DIGITS[uint16(buf, digits + 2 * k)] : '0000';
  return out + '.' + (frac.length === dscale ? frac : frac.slice(0, dscale));
}

/** Node's own UTF-8 fast path under Buffer#toString, without its argument checks (not in @types/node). */
interface Utf8Slicing {
  utf8Slice(start: number, end: number): string;
}

const decodeText: Decoder = (buf, at, len) => (buf as unknown as Utf8Slicing).utf8Slice(at, at + len);

function bigintOf(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

function dateDecoder(): Decoder {
  let lastDays = NaN;
  let last = '';
  return (buf, at) => {
    const days = int32(buf, at);
    if (days !== lastDays) {
      lastDays = days;
      last = days === DATE_INFINITY ? 'infinity' : days === DATE_MINUS_INFINITY ? '-infinity' : formatDays(days);
    }
    return last;
  };
}

function timestampDecoder(tz: boolean): Decoder {
  const format = timestampFormatter();
  const suffix = tz ? 'Z' : '';
  const usPerDay = BigInt(US_PER_DAY);
  return (buf, at) => {
    const v = int64(buf, at);
    if (typeof v === 'number') {
      const days = Math.floor(v / US_PER_DAY);
      return format(days, v - days * US_PER_DAY) + suffix;
    }
    if (v === 0x7fffffffffffffffn) return 'infinity';
    if (v === -0x8000000000000000n) return '-infinity';
    let days = v / usPerDay;
    if (v < 0n && days * usPerDay !== v) days -= 1n;
    return format(Number(days), Number(v - days * usPerDay)) + suffix;
  };
}

function scalarDecoder(family: ScalarFamily, t: CanonicalType): Decoder {
  switch (family) {
    case 'bool':
      return (buf, at) => buf[at] !== 0;
    case 'int2':
      return (buf, at) => (uint16(buf, at) << 16) >> 16;
    case 'int4':
      return (buf, at) => int32(buf, at);
    case 'int8':
      // int64 travels as bigint; narrower canonical ints (uint32 stored as bigint) as numbers
      return t.kind === 'int' && t.bits === 64
        ? (buf, at) => bigintOf(int64(buf, at))
        : (buf, at) => Number(int64(buf, at));
    case 'numeric':
      return t.kind === 'int' && t.bits === 64
        ? (buf, at) => BigInt(decodeNumeric(buf, at))
        : (buf, at) => decodeNumeric(buf, at);
    case 'float4':
      return (buf, at) => buf.readFloatBE(at);
    case 'float8':
      return (buf, at) => buf.readDoubleBE(at);
    case 'text':
      return decodeText;
    case 'jsonb':
      // a version byte (1), then the text
      return (buf, at, len) => (buf as unknown as Utf8Slicing).utf8Slice(at + 1, at + len);
    case 'bytea':
    case 'geometry':
      // a view, not a copy: the stream's chunks are fresh buffers that nothing writes again
      return (buf, at, len) => new Uint8Array(buf.buffer, buf.byteOffset + at, len);
    case 'uuid':
      return (buf, at) => {
        const h = buf.toString('hex', at, at + 16);
        return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      };
    case 'date':
      return dateDecoder();
    case 'time':
      return (buf, at) => formatTimeOfDay(int64(buf, at) as number);
    case 'timetz':
      // the zone is stored in seconds west of UTC
      return (buf, at) => formatTimeOfDay(int64(buf, at) as number) + formatOffset(-int32(buf, at + 8));
    case 'timestamp':
      return timestampDecoder(false);
    case 'timestamptz':
      return timestampDecoder(true);
    case 'interval':
      return (buf, at) => {
        const [hours, us] = splitIntervalTime(int32(buf, at), uint32(buf, at + 4));
        return formatInterval(int32(buf, at + 12), int32(buf, at + 8), hours, us);
      };
    case 'bit':
      return (buf, at) => {
        const bits = int32(buf, at);
        let s = '';
        for (let i = 0; i < bits; i += 8) s += BITS[buf[at + 4 + (i >> 3)]!];
        return s.length === bits ? s : s.slice(0, bits);
      };
  }
}

/** Arrays of any number of dimensions, as nested JS arrays (lower bounds are not kept). */
function arrayDecoder(element: Decoder): Decoder {
  return (buf, at) => {
    const ndim = int32(buf, at);
    if (ndim === 0) return [];
    const dims: number[] = [];
    for (let d = 0; d < ndim; d++) dims.push(int32(buf, at + 12 + 8 * d));
    let p = at + 12 + 8 * ndim;
    const build = (level: number): unknown[] => {
      const n = dims[level]!;
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) {
        if (level < ndim - 1) out[i] = build(level + 1);
        else {
          const len = int32(buf, p);
          p += 4;
          out[i] = len < 0 ? null : element(buf, p, len);
          if (len > 0) p += len;
        }
      }
      return out;
    };
    return build(0);
  };
}

function elementType(t: CanonicalType): CanonicalType {
  if (t.kind === 'set') return { kind: 'string' };
  return t.kind === 'array' ? elementType(t.element) : t;
}

/** The decoder of a column whose read query casts it to the family of its canonical type. */
export function decoderFor(t: CanonicalType): Decoder {
  const family = familyOf(t);
  if (family.startsWith('array:')) return arrayDecoder(scalarDecoder(family.slice(6) as ScalarFamily, elementType(t)));
  return scalarDecoder(family as ScalarFamily, t);
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_FIXED = SIGNATURE.length + 8;

/** Takes the complete rows of a binary COPY stream: field k of a row at `at[k]`, `len[k]` bytes (-1 for NULL). */
export interface RowSink {
  row(buf: Buffer, at: Int32Array, len: Int32Array): void;
}

/**
 * Parses the framing of a binary COPY stream and hands each complete row to a sink.
 */
export class BinaryCopyParser {
  /**
   * The start of an incomplete row (or header): a view of the chunk it came in until the next
   * chunk, then a buffer of ferry's own that gathers the row's bytes as they come
   */
  private held?: Buffer;
  /** bytes of `held` that hold the row so far */
  private heldBytes = 0;
  private ownsHeld = false;
  private need = HEADER_FIXED;
  private headerDone = false;
  private readonly at: Int32Array;
  private readonly len: Int32Array;
  done = false;

  constructor(
    private readonly fields: number,
    private readonly sink: RowSink,
  ) {
    this.at = new Int32Array(fields);
    this.len = new Int32Array(fields);
  }

  /** Takes the stream's next bytes, chunk[start..end). */
  push(chunk: Buffer, start = 0, end = chunk.length): void {
    if (this.done) return;
    if (this.held) {
      // the row that straddles chunks is gathered with just enough of each chunk to complete
      // what is known of it, so a row of any size is copied once; the rest of the chunk is
      // parsed where it is
      const before = this.heldBytes;
      let p = start;
      for (;;) {
        const take = Math.min(end - p, Math.max(1, this.need - this.heldBytes));
        if (take === 0) return;
        this.hold(chunk, p, p + take);
        p += take;
        if (this.heldBytes < this.need) continue;
        const stop = this.parse(this.held!, 0, this.heldBytes);
        if (stop > 0 || this.done) {
          this.held = undefined;
          if (this.done) return;
          start += stop - before;
          break;
        }
      }
    }
    const stop = this.parse(chunk, start, end);
    if (stop < end && !this.done) {
      this.held = chunk.subarray(stop, end);
      this.heldBytes = end - stop;
      this.ownsHeld = false;
    }
  }

  /** Appends chunk[from..to) to the held row, in a buffer of its own with room for what the row needs. */
  private hold(chunk: Buffer, from: number, to: number): void {
    const size = this.heldBytes + to - from;
    if (!this.ownsHeld || size > this.held!.length) {
      // an eighth more than needed: the fields after a large one fit without copying it again
      const wanted = Math.max(size, this.need);
      const grown = Buffer.allocUnsafe(wanted + (wanted >> 3));
      this.held!.copy(grown, 0, 0, this.heldBytes);
      this.held = grown;
      this.ownsHeld = true;
    }
    chunk.copy(this.held!, this.heldBytes, from, to);
    this.heldBytes = size;
  }

  /** Throws unless the stream ended where it should (after its trailer). */
  finish(): void {
    if (!this.done)
      throw new FerryError(
        'READ_FAILED',
        'the PostgreSQL COPY stream ended in the middle of a row',
        'run again; if it persists, report it',
      );
  }

  /** Parses the complete rows in buf[start..end); returns where the first incomplete one starts. */
  private parse(buf: Buffer, start: number, end: number): number {
    let p = start;
    if (!this.headerDone) {
      if (end - p < HEADER_FIXED) {
        this.need = HEADER_FIXED;
        return p;
      }
      if (!buf.subarray(p, p + SIGNATURE.length).equals(SIGNATURE))
        throw new FerryError(
          'READ_FAILED',
          'the PostgreSQL COPY stream does not start with the binary signature',
          'report this',
        );
      const headerEnd = p + HEADER_FIXED + int32(buf, p + HEADER_FIXED - 4);
      if (end < headerEnd) {
        this.need = headerEnd - p;
        return p;
      }
      this.headerDone = true;
      p = headerEnd;
    }
    const n = this.fields;
    const { at, len, sink } = this;
    while (p + 2 <= end) {
      const fields = (uint16(buf, p) << 16) >> 16;
      if (fields === -1) {
        this.done = true;
        return end;
      }
      if (fields !== n)
        throw new FerryError(
          'READ_FAILED',
          `a PostgreSQL COPY row has ${fields} fields where ${n} were asked`,
          'report this',
        );
      let q = p + 2;
      for (let i = 0; i < n; i++) {
        if (q + 4 > end) {
          this.need = q + 4 - p;
          return p;
        }
        const l = int32(buf, q);
        q += 4;
        at[i] = q;
        len[i] = l;
        if (l < 0) continue;
        if (q + l > end) {
          this.need = q + l - p;
          return p;
        }
        q += l;
      }
      sink.row(buf, at, len);
      p = q;
    }
    this.need = 2;
    return p;
  }
}

/** Rows of canonical values, `batchRows` at a time. */
export class RowBatcher implements RowSink {
  /** full batches, ready to hand out */
  readonly ready: RowBatch[] = [];
  private batch: unknown[][] = [];

  constructor(
    private readonly decoders: Decoder[],
    private readonly batchRows: number,
  ) {}

  row(buf: Buffer, at: Int32Array, len: Int32Array): void {
    const decoders = this.decoders;
    const n = decoders.length;
    const row = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const l = len[i]!;
      row[i] = l < 0 ? null : decoders[i]!(buf, at[i]!, l);
    }
    this.batch.push(row);
    if (this.batch.length >= this.batchRows) {
      this.ready.push({ rows: this.batch });
      this.batch = [];
    }
  }

  /** The rows of the last, partial batch, if any. */
  rest(): RowBatch | undefined {
    if (this.batch.length === 0) return undefined;
    const rows = this.batch;
    this.batch = [];
    return { rows };
  }
}
