// Values between the MySQL wire and canonical values, one precomputed function per column.
// Reading: mysql2 already gives numbers (ints up to 32 bits, year), strings (decimal, dates,
// times, text, enum) and Buffers (binary, bit); only the columns listed below need a step.
// Writing: each value becomes a SQL literal of a multi-row INSERT, or a field of a LOAD DATA line.
import type { CanonicalType } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import { convertValue } from '../../core/values.js';
import { fromMysqlGeometry, toMysqlGeometry } from '../../core/geometry.js';
import type { LoadContent } from './load-content.js';
import { canonicalTypeOf } from './typemap.js';

/** What the codec needs to know of a column, source or target. */
export interface CodecColumn {
  name: string;
  type: CanonicalType;
  nativeType: string;
  autoIncrement?: boolean;
}

type Decode = (v: any) => unknown;
type Encode = (v: any) => string;

export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** The canonical type the wire value of a native type is decoded as (before any cast). */
export function wireType(col: CodecColumn): CanonicalType {
  try {
    return canonicalTypeOf(col.nativeType);
  } catch {
    return col.type;
  }
}

/**
 * The select-list expression of a column. Floats are read as text: mysql2's own float parser
 * is off by one unit in the last place for some values, and FLOAT is sent with 6 digits only.
 */
export function selectExpr(col: CodecColumn): string {
  const id = quoteIdent(col.name);
  const wire = wireType(col);
  if (wire.kind === 'float') return wire.bits === 32 ? `CONCAT(${id} * 1e0)` : `CONCAT(${id})`;
  // MySQL's own form (SRID, then WKB); mysql2 would parse a spatial column into objects
  if (wire.kind === 'geometry') return `CAST(${id} AS BINARY)`;
  return id;
}

const BYTE_BITS = Array.from({ length: 256 }, (_, b) => b.toString(2).padStart(8, '0'));

function bitString(buf: Uint8Array, length: number): string {
  let s = '';
  for (let i = 0; i < buf.length; i++) s += BYTE_BITS[buf[i]!];
  return s.length > length ? s.slice(s.length - length) : s.padStart(length, '0');
}

/** tinyint(1) may hold any small integer: only 0 and 1 are booleans, others stay as read. */
const decodeBool: Decode = (v: number) => (v === 1 ? true : v === 0 ? false : v);
const decodeSet: Decode = (v: string) => (v === '' ? [] : v.split(','));
/** TIMESTAMP is read in a UTC session; a zero timestamp stays as stored. */
const decodeUtc: Decode = (v: string) => (v.startsWith('0000-00-00') ? v : v + 'Z');
const decodeLower: Decode = (v: string) => v.toLowerCase();

function wireDecoder(t: CanonicalType): Decode | undefined {
  switch (t.kind) {
    case 'int':
      return t.bits === 64 ? BigInt : undefined;
    case 'bool':
      return decodeBool;
    case 'float':
      return Number;
    case 'timestamp':
      return t.tz ? decodeUtc : undefined;
    case 'set':
      return decodeSet;
    case 'bit':
      return (v: Uint8Array) => bitString(v, t.length);
    case 'uuid':
      return decodeLower;
    case 'geometry':
      return fromMysqlGeometry;
    default:
      return undefined;
  }
}

function decoderFor(col: CodecColumn): Decode | undefined {
  const wire = wireType(col);
  const decode = wireDecoder(wire);
  if (formatType(wire) === formatType(col.type)) return decode;
  return decode ? (v) => convertValue(decode(v), wire, col.type) : (v) => convertValue(v, wire, col.type);
}

/**
 * Whether a column's text on the wire is its canonical value as it is: the plan's type is the
 * native type's, and the column is selected by name (or as a float's text, which is all the
 * column reader parses of it).
 */
export function readsAsIs(col: CodecColumn): boolean {
  const wire = wireType(col);
  return formatType(wire) === formatType(col.type) && wire.kind !== 'geometry';
}

/** Converts a batch of rows (arrays in column order) to canonical values, in place. */
export function batchDecoder(cols: CodecColumn[]): (rows: unknown[][]) => void {
  const steps: [number, Decode][] = [];
  cols.forEach((c, i) => {
    const d = decoderFor(c);
    if (d) steps.push([i, d]);
  });
  return (rows) => {
    for (const [i, decode] of steps) {
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!;
        const v = row[i];
        if (v !== null) row[i] = decode(v);
      }
    }
  };
}

const NEEDS_ESCAPE = /[\0\n\r\x1a'\\]/;
const ESCAPABLE = /[\0\n\r\x1a'\\]/g;
const ESCAPES: Record<string, string> = {
  '\0': '\\0',
  '\n': '\\n',
  '\r': '\\r',
  '\x1a': '\\Z',
  "'": "\\'",
  '\\': '\\\\',
};
const escapeChar = (c: string) => ESCAPES[c]!;

/** A string literal (the session never has NO_BACKSLASH_ESCAPES). */
export function quoteString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? `'${s.replace(ESCAPABLE, escapeChar)}'` : `'${s}'`;
}

// The text form of a value: what MySQL parses back to it, before any quoting.
const textOf: Encode = (v) => String(v);
const boolText: Encode = (v) => (v === true ? '1' : v === false ? '0' : String(v));
const bytesText: Encode = (v) =>
  v instanceof Uint8Array
    ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
    : Buffer.from(String(v)).toString('hex');
/** A timestamptz arrives in UTC with a "Z"; the column holds UTC without it. */
const timestampText: Encode = (v) => {
  const s = String(v);
  return s.endsWith('Z') ? s.slice(0, -1) : s;
};
const setText: Encode = (v) => (Array.isArray(v) ? v.join(',') : String(v));
const jsonReplacer = (_k: string, x: unknown) =>
  typeof x === 'bigint' ? String(x) : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x;
const jsonText: Encode = (v) => (typeof v === 'string' ? v : JSON.stringify(v, jsonReplacer));

const TIME_WITH_OFFSET = /^(\d+):(\d\d):(\d\d)(\.\d+)?([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/;
const pad2 = (n: number) => String(n).padStart(2, '0');

/** A time with a UTC offset in a time column (a plan that casts timetz to time) is stored as its UTC time of day, like timestamptz. */
const timeText: Encode = (v) => {
  const s = String(v);
  const m = TIME_WITH_OFFSET.exec(s);
  if (!m) return s;
  const sign = m[5] === '-' ? -1 : 1;
  const offset = Number(m[6]) * 3600 + Number(m[7] ?? 0) * 60 + Number(m[8] ?? 0);
  const secs = (((Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) - sign * offset) % 86400) + 86400) % 86400;
  return `${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}${m[4] ?? ''}`;
};

function textFormFor(t: CanonicalType): Encode {
  switch (t.kind) {
    case 'bool':
      return boolText;
    case 'bytes':
      return bytesText;
    case 'geometry':
      return (v) => bytesText(toMysqlGeometry(v));
    case 'timestamp':
      return timestampText;
    case 'time':
      return timeText;
    case 'set':
      return setText;
    case 'json':
    case 'array':
      return jsonText;
    default:
      return textOf;
  }
}

const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;
const BITS = /^[01]+$/;

/** The SQL literal of a non-null value of a column. */
export function literalEncoder(col: CodecColumn): Encode {
  const text = textFormFor(col.type);
  switch (col.type.kind) {
    case 'int':
    case 'year':
    case 'bool':
    case 'decimal':
      // anything but a plain number is left to the server to parse, or refuse
      return (v) => {
        const s = text(v);
        return PLAIN_NUMBER.test(s) ? s : quoteString(s);
      };
    case 'float':
      // "e0" makes it a double literal (a plain "1.5" would be read as a decimal first)
      return (v) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) return quoteString(String(v));
        const s = String(v);
        return s.includes('e') ? s : `${s}e0`;
      };
    case 'bytes':
    case 'geometry':
      return (v) => `X'${text(v)}'`;
    case 'bit':
      return (v) => (typeof v === 'string' && BITS.test(v) ? `b'${v}'` : quoteString(String(v)));
    default:
      return (v) => quoteString(text(v));
  }
}

/** Encodes a whole row as "(v1,v2,…)". */
export function rowEncoder(cols: CodecColumn[]): (row: unknown[]) => string {
  const encoders = cols.map(literalEncoder);
  const n = encoders.length;
  return (row) => {
    let s = '(';
    for (let i = 0; i < n; i++) {
      const v = row[i];
      if (i > 0) s += ',';
      s += v === null || v === undefined ? 'NULL' : encoders[i]!(v);
    }
    return s + ')';
  };
}

const TSV_SPECIAL = /[\0\t\n\\]/;
const TSV_ESCAPABLE = /[\0\t\n\\]/g;
const TSV_ESCAPES: Record<string, string> = { '\0': '\\0', '\t': '\\t', '\n': '\\n', '\\': '\\\\' };
const tsvEscapeChar = (c: string) => TSV_ESCAPES[c]!;

/** A bytes value as bytes (a value of another kind: the UTF-8 of its text). */
const bytesOf = (v: unknown): Uint8Array => (v instanceof Uint8Array ? v : Buffer.from(String(v)));

/**
 * Text this long (UTF-16 units) goes into LOAD DATA content as its UTF-8, escaped byte by byte:
 * a regular expression's replacement and the encoding after it take about twice as long.
 */
const LONG_TEXT = 1 << 16;

/**
 * LOAD DATA of a table: the column list and SET clause, and the encoder of a row as one
 * tab-separated line (\N for NULL, backslash escapes) into the content. Bytes travel as they
 * are (escaped by the content), bit strings as binary digits converted by the server through
 * a user variable.
 */
export function loadDataFormat(cols: CodecColumn[]): {
  columns: string;
  set: string;
  encodeRow: (row: unknown[], out: LoadContent) => void;
} {
  const targets: string[] = [];
  const sets: string[] = [];
  cols.forEach((c, i) => {
    const id = quoteIdent(c.name);
    if (c.type.kind === 'bit') {
      targets.push(`@v${i}`);
      sets.push(`${id} = CAST(CONV(@v${i}, 2, 10) AS UNSIGNED)`);
    } else if (c.autoIncrement) {
      // MariaDB's LOAD DATA with a SET clause ignores NO_AUTO_VALUE_ON_ZERO for columns read
      // straight from the file: a key of 0 would become the next counter value. Set from a
      // variable, it stays 0.
      targets.push(`@v${i}`);
      sets.push(`${id} = @v${i}`);
    } else targets.push(id);
  });
  const encoders = cols.map((c) => textFormFor(c.type));
  // bytes, and geometry as MySQL's own bytes, travel as they are
  const binary = cols.map((c): ((v: unknown) => Uint8Array) | undefined =>
    c.type.kind === 'bytes'
      ? bytesOf
      : c.type.kind === 'geometry'
        ? (v) => toMysqlGeometry(v as Uint8Array)
        : undefined,
  );
  const n = encoders.length;
  const encodeRow = (row: unknown[], out: LoadContent) => {
    let s = '';
    for (let i = 0; i < n; i++) {
      const v = row[i];
      if (i > 0) s += '\t';
      if (v === null || v === undefined) s += '\\N';
      else if (binary[i]) {
        out.text(s);
        out.bytes(binary[i]!(v));
        s = '';
      } else {
        const t = encoders[i]!(v);
        if (t.length >= LONG_TEXT) {
          // escaped as bytes: UTF-8 encodes no other character with a byte LOAD DATA escapes
          out.text(s);
          out.bytes(Buffer.from(t));
          s = '';
          continue;
        }
        // the text of numbers and booleans never needs escaping
        const safe = typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean';
        s += safe || !TSV_SPECIAL.test(t) ? t : t.replace(TSV_ESCAPABLE, tsvEscapeChar);
      }
    }
    out.text(s + '\n');
  };
  return { columns: targets.join(', '), set: sets.length ? ` SET ${sets.join(', ')}` : '', encodeRow };
}

/** Values of a key range as literals, in key column order. */
export function boundLiterals(cols: CodecColumn[], values: unknown[]): string[] {
  return cols.map((c, i) => (values[i] === null || values[i] === undefined ? 'NULL' : literalEncoder(c)(values[i])));
}

/** Row decoder for values read back in the select order of `cols` (used for key bounds). */
export function valueDecoder(col: CodecColumn): (v: unknown) => unknown {
  const d = decoderFor(col);
  return (v) => (v === null || !d ? v : d(v));
}
