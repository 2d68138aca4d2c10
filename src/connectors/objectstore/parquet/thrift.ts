// Thrift's compact protocol, the encoding of Parquet's footer and page headers
// (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md).
// Writing takes structs as lists of [field id, value]; reading gives every struct as an
// object keyed by field id, so fields this reader does not know are skipped for free.

export const T = {
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
  UUID: 13,
} as const;

export type ThriftValue =
  | { t: 'i32' | 'i64' | 'i16'; v: number }
  | { t: 'byte'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'bin'; v: Uint8Array | string }
  | { t: 'struct'; v: ThriftField[] }
  | { t: 'list'; of: 'i32' | 'bin' | 'struct'; v: ThriftValue[] };

export type ThriftField = [id: number, value: ThriftValue | undefined];

export const i32 = (v: number): ThriftValue => ({ t: 'i32', v });
export const i64 = (v: number): ThriftValue => ({ t: 'i64', v });
export const byte = (v: number): ThriftValue => ({ t: 'byte', v });
export const bool = (v: boolean): ThriftValue => ({ t: 'bool', v });
export const bin = (v: Uint8Array | string): ThriftValue => ({ t: 'bin', v });
export const struct = (...v: ThriftField[]): ThriftValue => ({ t: 'struct', v });
export const list = (of: 'i32' | 'bin' | 'struct', v: ThriftValue[]): ThriftValue => ({ t: 'list', of, v });

const TYPE_ID = {
  i16: T.I16,
  i32: T.I32,
  i64: T.I64,
  byte: T.BYTE,
  bin: T.BINARY,
  struct: T.STRUCT,
  list: T.LIST,
} as const;

/** Serializes one struct (given as its fields) with the compact protocol. */
export function encodeStruct(fields: ThriftField[]): Buffer {
  const out: number[] = [];
  const varint = (n: number) => {
    // sizes and offsets stay below 2^53, so plain arithmetic is exact
    while (n >= 0x80) {
      out.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    out.push(n);
  };
  const zigzag = (n: number) => varint(n >= 0 ? n * 2 : -n * 2 - 1);
  const bytes = (b: Uint8Array | string) => {
    const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
    varint(buf.length);
    for (let i = 0; i < buf.length; i++) out.push(buf[i]!);
  };
  const value = (x: ThriftValue) => {
    switch (x.t) {
      case 'i16':
      case 'i32':
      case 'i64':
        zigzag(x.v);
        break;
      case 'byte':
        out.push(x.v & 0xff);
        break;
      case 'bool':
        out.push(x.v ? 1 : 0);
        break;
      case 'bin':
        bytes(x.v);
        break;
      case 'struct':
        writeFields(x.v);
        break;
      case 'list': {
        const elem = TYPE_ID[x.of];
        if (x.v.length < 15) out.push((x.v.length << 4) | elem);
        else {
          out.push(0xf0 | elem);
          varint(x.v.length);
        }
        for (const e of x.v) value(e);
        break;
      }
    }
  };
  const writeFields = (fs: ThriftField[]) => {
    let last = 0;
    for (const [id, x] of fs) {
      if (x === undefined) continue;
      const type = x.t === 'bool' ? (x.v ? T.TRUE : T.FALSE) : TYPE_ID[x.t];
      const delta = id - last;
      if (delta > 0 && delta <= 15) out.push((delta << 4) | type);
      else {
        out.push(type);
        zigzag(id);
      }
      last = id;
      if (x.t !== 'bool') value(x);
    }
    out.push(0);
  };
  writeFields(fields);
  return Buffer.from(out);
}

/** A decoded struct: field id -> value (numbers, booleans, Buffers, arrays, structs). */
export type ThriftStruct = { [id: number]: unknown };

export class ThriftReader {
  pos: number;
  constructor(
    private readonly buf: Buffer,
    start = 0,
  ) {
    this.pos = start;
  }

  private varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated Thrift data');
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 0x80;
    }
  }

  private zigzag(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  private value(type: number): unknown {
    switch (type) {
      case T.TRUE:
        return true;
      case T.FALSE:
        return false;
      case T.BYTE: {
        const b = this.buf[this.pos++]!;
        return b > 127 ? b - 256 : b;
      }
      case T.I16:
      case T.I32:
      case T.I64:
        return this.zigzag();
      case T.DOUBLE: {
        const d = this.buf.readDoubleLE(this.pos);
        this.pos += 8;
        return d;
      }
      case T.BINARY: {
        const n = this.varint();
        const b = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        return b;
      }
      case T.UUID: {
        const b = this.buf.subarray(this.pos, this.pos + 16);
        this.pos += 16;
        return b;
      }
      case T.LIST:
      case T.SET: {
        const head = this.buf[this.pos++]!;
        const size = head >> 4 === 15 ? this.varint() : head >> 4;
        const elem = head & 0x0f;
        const items: unknown[] = [];
        for (let i = 0; i < size; i++)
          items.push(elem === T.TRUE || elem === T.FALSE ? this.buf[this.pos++] === 1 : this.value(elem));
        return items;
      }
      case T.MAP: {
        const size = this.varint();
        if (size === 0) return [];
        const kv = this.buf[this.pos++]!;
        const entries: unknown[] = [];
        for (let i = 0; i < size; i++) entries.push([this.value(kv >> 4), this.value(kv & 0x0f)]);
        return entries;
      }
      case T.STRUCT:
        return this.struct();
      default:
        throw new Error(`unknown Thrift type ${type}`);
    }
  }

  struct(): ThriftStruct {
    const out: ThriftStruct = {};
    let last = 0;
    for (;;) {
      const head = this.buf[this.pos++];
      if (head === undefined) throw new Error('truncated Thrift data');
      if (head === 0) return out;
      const delta = head >> 4;
      const type = head & 0x0f;
      const id = delta === 0 ? this.zigzag() : last + delta;
      out[id] = this.value(type);
      last = id;
    }
  }
}
