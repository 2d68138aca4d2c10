// Canonical values: how each canonical type travels between connectors, and the one
// text form ("canonical text") used to compare and digest values from any engine.
//
//   int8..int32, uint8..uint32, year -> number        int64, uint64 -> bigint
//   decimal -> exact string ("-12.50")                 float32/64 -> number (NaN, ±Infinity, -0 kept)
//   bool -> boolean                                    string, enum, uuid (lowercase), interval -> string
//   bytes -> Uint8Array                                json -> text
//   date -> "YYYY-MM-DD" (years may be "-0044" or "12345"; "0000-00-00" only from MySQL zero dates)
//   time -> "HH:MM:SS[.ffffff]" (MySQL may give "-838:59:59"); timetz adds "+HH:MM"
//   timestamp -> "YYYY-MM-DD HH:MM:SS[.ffffff]"; timestamptz -> the same in UTC with a "Z"
//   set -> string[]   array -> unknown[] of element values   bit -> "0101…"
//   geometry -> Uint8Array of its EWKB (core/geometry.ts)
// Temporal values never pass through Date.
import { timeAsInterval } from './calendar.js';
import { FerryError } from './errors.js';
import { geometryText } from './geometry.js';
import type { CanonicalType } from './types.js';
import { formatType } from './types.js';

/** A decimal already in its normal form (but "-0"). */
const NORMAL_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

/** Strips a leading "+", leading zeros and trailing fractional zeros; "-0" becomes "0". */
export function normalizeDecimal(s: string): string {
  if (NORMAL_DECIMAL.test(s) && s !== '-0') return s;
  let t = s.trim();
  const special = /^([+-]?)(nan|inf|infinity)$/i.exec(t);
  if (special) return /nan/i.test(special[2]!) ? 'NaN' : `${special[1] === '-' ? '-' : ''}Infinity`;
  let neg = false;
  if (t[0] === '-' || t[0] === '+') {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  let exp = 0;
  const e = t.search(/[eE]/);
  if (e >= 0) {
    exp = Number(t.slice(e + 1));
    t = t.slice(0, e);
  }
  let [int = '', frac = ''] = t.split('.');
  if (exp > 0) {
    const move = frac.padEnd(exp, '0');
    int += move.slice(0, exp);
    frac = move.slice(exp);
  } else if (exp < 0) {
    const pad = int.padStart(-exp + 1, '0');
    frac = pad.slice(pad.length + exp) + frac;
    int = pad.slice(0, pad.length + exp);
  }
  int = int.replace(/^0+/, '') || '0';
  frac = frac.replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return neg && body !== '0' ? `-${body}` : body;
}

/** Trailing fractional-second zeros stripped, "T" separator normalised to a space. */
function normalizeFraction(s: string): string {
  return s.replace(/(\.\d*?)0+(?=$|[Z+-])/, '$1').replace(/\.(?=$|[Z+-])/, '');
}

export function normalizeTimestamp(s: string, tz: boolean): string {
  let t = s.replace('T', ' ');
  if (tz) t = t.replace(/(\+00(:?00)?|Z)$/, '') + 'Z';
  return normalizeFraction(t);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** The shortest text that reads back as the same float of that width. */
export function formatFloat(n: number, bits: 32 | 64): string {
  const v = bits === 32 ? Math.fround(n) : n;
  if (Object.is(v, -0)) return '-0';
  if (bits === 32 && Number.isFinite(v)) {
    for (let p = 1; p <= 9; p++) {
      const s = String(Number(v.toPrecision(p)));
      if (Math.fround(Number(s)) === v) return s;
    }
  }
  return String(v);
}

/** A JSON literal or number at the parser's position (sticky: no slice of the text per value). */
const JSON_ATOM = /true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** The longest atom read: a longer number is no JSON this function canonicalizes. */
const ATOM_LIMIT = 400;

/** Canonical JSON text: keys sorted, no insignificant white space, numbers as normalised decimals. */
export function canonicalJson(text: string): string {
  let pos = 0;
  const ws = () => {
    for (let c = text.charCodeAt(pos); c === 32 || c === 9 || c === 10 || c === 13; c = text.charCodeAt(++pos));
  };
  const value = (): string => {
    ws();
    const c = text[pos];
    if (c === '{') {
      pos++;
      /** decoded key, its canonical text, the value's */
      const entries: [string, string, string][] = [];
      ws();
      if (text[pos] === '}') {
        pos++;
        return '{}';
      }
      for (;;) {
        ws();
        const [key, quoted] = str();
        ws();
        if (text[pos++] !== ':') throw new Error('expected :');
        entries.push([key, quoted, value()]);
        ws();
        const sep = text[pos++];
        if (sep === '}') break;
        if (sep !== ',') throw new Error('expected , or }');
      }
      entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      let out = '{';
      for (let i = 0; i < entries.length; i++) out += `${i > 0 ? ',' : ''}${entries[i]![1]}:${entries[i]![2]}`;
      return out + '}';
    }
    if (c === '[') {
      pos++;
      ws();
      if (text[pos] === ']') {
        pos++;
        return '[]';
      }
      let out = '[';
      for (;;) {
        out += value();
        ws();
        const sep = text[pos++];
        if (sep === ']') break;
        if (sep !== ',') throw new Error('expected , or ]');
        out += ',';
      }
      return out + ']';
    }
    if (c === '"') return str()[1];
    JSON_ATOM.lastIndex = pos;
    const m = JSON_ATOM.exec(text);
    if (!m || m[0].length > ATOM_LIMIT) throw new Error(`unexpected ${c}`);
    pos += m[0].length;
    const first = m[0].charCodeAt(0);
    return first === 116 || first === 102 || first === 110 ? m[0] : normalizeDecimal(m[0]);
  };
  /**
   * A string's decoded value and its canonical text. Text without escapes, control characters or
   * surrogates is both, quoted (JSON.parse and JSON.stringify give it back unchanged).
   */
  const str = (): [string, string] => {
    const start = pos;
    if (text[pos] !== '"') throw new Error('expected string');
    pos++;
    let plain = true;
    for (let ch = text.charCodeAt(pos); pos < text.length && ch !== 34; ch = text.charCodeAt(pos)) {
      if (ch === 92) {
        plain = false;
        pos += 2;
      } else {
        if (ch < 32 || (ch >= 0xd800 && ch <= 0xdfff)) plain = false;
        pos++;
      }
    }
    pos++;
    if (plain) return [text.slice(start + 1, pos - 1), text.slice(start, pos)];
    const decoded = JSON.parse(text.slice(start, pos)) as string;
    return [decoded, JSON.stringify(decoded)];
  };
  try {
    const out = value();
    ws();
    if (pos !== text.length) throw new Error('trailing text');
    return out;
  } catch {
    return text;
  }
}

/**
 * The canonical text of a value of a canonical type: equal values from any engine give
 * equal text. Used for digests and row comparison, never for writing.
 */
export function canonicalText(v: unknown, t: CanonicalType): string {
  if (v === null || v === undefined) return '\u0000';
  // bytes are their hex in a column of any type: a loosely typed source (SQLite) may give values of another class than its column's
  if (v instanceof Uint8Array) return hex(v);
  switch (t.kind) {
    case 'int':
    case 'year':
      return String(v);
    case 'decimal':
      return normalizeDecimal(String(v));
    case 'float':
      return formatFloat(Number(v), t.bits);
    case 'bool':
      return v ? 't' : 'f';
    case 'string':
      // CHAR(n) pads with spaces in some engines and strips them in others
      return t.fixed ? String(v).replace(/ +$/, '') : String(v);
    case 'uuid':
      return String(v).toLowerCase();
    case 'time':
      return normalizeFraction(String(v));
    case 'timestamp':
      return normalizeTimestamp(String(v), t.tz);
    case 'set':
      return [...(v as string[])].sort().join(',');
    case 'json':
      return canonicalJson(String(v));
    case 'array':
      return Array.isArray(v) ? JSON.stringify(v.map((e) => canonicalText(e, t.element))) : String(v);
    default:
      return String(v);
  }
}

const INT_RANGE: Record<string, [bigint, bigint]> = {};
for (const bits of [8, 16, 24, 32, 64]) {
  INT_RANGE[`int${bits}`] = [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n];
  INT_RANGE[`uint${bits}`] = [0n, (1n << BigInt(bits)) - 1n];
}

function decimalDigits(s: string): { int: number; frac: number } {
  const n = normalizeDecimal(s).replace('-', '');
  const [i = '', f = ''] = n.split('.');
  return { int: i === '0' ? 0 : i.length, frac: f.length };
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

/** Whether every value of `from` fits `to` without a check (so the hot path skips it). */
export function alwaysFits(from: CanonicalType, to: CanonicalType): boolean {
  // engines with loose typing (SQLite, MySQL tinyint(1)) can hold values their declared type does not
  if (from.kind === 'bool' || to.kind === 'bool') return false;
  if (formatType(from) === formatType(to)) return true;
  if (from.kind === 'int' && to.kind === 'int') {
    const [fl, fh] = INT_RANGE[formatType(from)]!;
    const [tl, th] = INT_RANGE[formatType(to)]!;
    return fl >= tl && fh <= th;
  }
  if (from.kind === 'string' && to.kind === 'string')
    return to.length === undefined || (from.length !== undefined && from.length <= to.length);
  // a geometry is its EWKB, or that as text
  if (from.kind === 'geometry' && to.kind === 'bytes') return to.length === undefined;
  if (from.kind === 'bytes' && to.kind === 'bytes')
    return to.length === undefined || (from.length !== undefined && from.length <= to.length && !to.fixed);
  if (from.kind === 'float' && to.kind === 'float') return from.bits <= to.bits;
  if (from.kind === 'timestamp' && to.kind === 'timestamp') return from.tz === to.tz && from.precision <= to.precision;
  if (from.kind === 'json' && to.kind === 'json') return true;
  if (from.kind === 'decimal' && to.kind === 'decimal') {
    if (to.precision === undefined) return true;
    if (from.precision === undefined) return false;
    return from.scale! <= to.scale! && from.precision - from.scale! <= to.precision - to.scale!;
  }
  if (to.kind === 'string' && to.length === undefined)
    return [
      'enum',
      'uuid',
      'json',
      'date',
      'time',
      'timestamp',
      'decimal',
      'int',
      'year',
      'bool',
      'interval',
      'bit',
      'set',
      'geometry',
    ].includes(from.kind);
  return false;
}

/** Why `v` does not fit canonical type `t`, or undefined when it fits. */
export function misfit(v: unknown, t: CanonicalType): string | undefined {
  if (v === null || v === undefined) return undefined;
  switch (t.kind) {
    case 'bool':
      return typeof v === 'boolean'
        ? undefined
        : `${String(v)} is not a boolean (change the column's type in the plan to an integer type)`;
    case 'int': {
      if (typeof v !== 'bigint' && !Number.isInteger(v)) return `${JSON.stringify(String(v))} is not an integer`;
      const [lo, hi] = INT_RANGE[formatType(t)]!;
      const b = typeof v === 'bigint' ? v : BigInt(v as number);
      return b < lo || b > hi ? `${b} is outside the range of ${formatType(t)} (${lo}..${hi})` : undefined;
    }
    case 'decimal': {
      if (t.precision === undefined) return undefined;
      const s = String(v);
      if (/nan|inf/i.test(s)) return `${s} cannot be stored in decimal(${t.precision},${t.scale})`;
      const d = decimalDigits(s);
      if (d.frac > (t.scale ?? 0))
        return `${s} has ${d.frac} decimal places, more than the scale of decimal(${t.precision},${t.scale})`;
      if (d.int > t.precision - (t.scale ?? 0))
        return `${s} has ${d.int} integer digits, more than decimal(${t.precision},${t.scale}) allows`;
      return undefined;
    }
    case 'string':
      if (t.length !== undefined && typeof v === 'string' && v.length > t.length && codePoints(v) > t.length)
        return `a text of ${codePoints(v)} characters is longer than ${formatType(t)}`;
      return undefined;
    case 'bytes':
      if (t.length !== undefined && (v as Uint8Array).byteLength > t.length)
        return `${(v as Uint8Array).byteLength} bytes are longer than ${formatType(t)}`;
      return undefined;
    case 'enum':
      return t.values.includes(v as string) ? undefined : `'${v}' is not one of the enum values ${t.values.join(', ')}`;
    case 'set': {
      const bad = (v as string[]).find((e) => !t.values.includes(e));
      return bad === undefined ? undefined : `'${bad}' is not one of the set values ${t.values.join(', ')}`;
    }
    case 'year':
      return (v as number) < 1901 || (v as number) > 2155 ? `year ${v} is outside 1901..2155` : undefined;
    case 'bit':
      return (v as string).length > t.length
        ? `bit string of length ${(v as string).length} is longer than ${formatType(t)}`
        : undefined;
    case 'date':
      return typeof v === 'string' && DATE_FORM.test(v) ? undefined : `${JSON.stringify(v)} is not a date (YYYY-MM-DD)`;
    case 'time': {
      const s = String(v);
      if (!TIME_FORM.test(s)) return `${JSON.stringify(v)} is not a time of day (HH:MM:SS)`;
      if (s.startsWith('-') || Number(s.split(':')[0]) > 24) return `time ${s} is outside 00:00:00..24:00:00`;
      return fractionMisfit(s, t.precision);
    }
    case 'timestamp':
      if (typeof v !== 'string' || !TIMESTAMP_FORM.test(v))
        return `${JSON.stringify(v)} is not a ${t.tz ? 'UTC ' : ''}timestamp (YYYY-MM-DD HH:MM:SS${t.tz ? 'Z' : ''})`;
      return fractionMisfit(v, t.precision);
    case 'float':
      return t.bits === 32 && typeof v === 'number' && Math.fround(v) !== v && !Number.isNaN(v)
        ? `${v} has more precision than float32 holds`
        : undefined;
    default:
      return undefined;
  }
}

// the canonical forms (see the top of this file), PostgreSQL's infinities included
const DATE_FORM = /^(-?\d{4,}-\d\d-\d\d|-?infinity)$/;
const TIME_FORM = /^-?\d{2,}:\d\d:\d\d(\.\d+)?([+-]\d\d(:\d\d){0,2})?$/;
const TIMESTAMP_FORM = /^(-?\d{4,}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?|-?infinity)$/;

function fractionMisfit(s: string, precision: number): string | undefined {
  const frac = /\.(\d+)/.exec(s)?.[1]?.replace(/0+$/, '') ?? '';
  return frac.length > precision
    ? `${s} has ${frac.length} fractional second digits, more than the ${precision} the column keeps`
    : undefined;
}

function fail(v: unknown, from: CanonicalType, to: CanonicalType): never {
  throw new FerryError(
    'VALUE_DOES_NOT_FIT',
    `cannot convert ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} from ${formatType(from)} to ${formatType(to)}`,
    'change the cast in the plan or filter the row',
  );
}

const SAME_REPRESENTATION: CanonicalType['kind'][] = [
  'string',
  'decimal',
  'json',
  'enum',
  'bytes',
  'date',
  'time',
  'uuid',
  'bit',
  'interval',
  'year',
  'float',
  'bool',
  'set',
  'geometry',
];

/**
 * The conversion between two canonical types as one function, the identity where both
 * travel the same way (the hot path). Fit checks are separate (misfit).
 */
export function converter(from: CanonicalType, to: CanonicalType): ((v: unknown) => unknown) | undefined {
  if (from.kind === to.kind && SAME_REPRESENTATION.includes(from.kind)) return undefined;
  if (formatType(from) === formatType(to)) return undefined;
  if (from.kind === 'int' && to.kind === 'int') {
    if ((from.bits === 64) === (to.bits === 64)) return undefined;
    return to.bits === 64
      ? (v) => (typeof v === 'number' ? BigInt(v) : v)
      : (v) => (typeof v === 'bigint' ? Number(v) : v);
  }
  if (from.kind === 'timestamp' && to.kind === 'timestamp' && from.tz === to.tz) return undefined;
  return (v) => convertValue(v, from, to);
}

/** Converts a value between canonical types (the plan's casts); throws VALUE_DOES_NOT_FIT. */
export function convertValue(v: unknown, from: CanonicalType, to: CanonicalType): unknown {
  if (v === null || v === undefined) return null;
  const f = from.kind;
  switch (to.kind) {
    case 'int': {
      let b: bigint;
      if (typeof v === 'bigint') b = v;
      else if (typeof v === 'number') {
        if (!Number.isInteger(v)) fail(v, from, to);
        b = BigInt(v);
      } else if (typeof v === 'boolean') b = v ? 1n : 0n;
      else if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) b = BigInt(v.trim());
      else if (typeof v === 'string' && /^[+-]?\d+\.0*$/.test(v.trim())) b = BigInt(v.trim().split('.')[0]!);
      else return fail(v, from, to);
      return to.bits === 64 ? b : Number(b);
    }
    case 'year':
      return Number(v);
    case 'decimal':
      if (typeof v === 'boolean') return v ? '1' : '0';
      if (typeof v === 'number' && !Number.isFinite(v)) return fail(v, from, to);
      if (typeof v === 'string' && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) return fail(v, from, to);
      return normalizeDecimal(String(v));
    case 'float': {
      const n = typeof v === 'boolean' ? Number(v) : Number(v);
      if (Number.isNaN(n) && !(typeof v === 'number' || /^nan$/i.test(String(v)))) fail(v, from, to);
      return n;
    }
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'number' || typeof v === 'bigint') return v != 0;
      if (typeof v === 'string') {
        const s = v.trim().toLowerCase();
        if (['t', 'true', '1', 'y', 'yes', 'on'].includes(s)) return true;
        if (['f', 'false', '0', 'n', 'no', 'off'].includes(s)) return false;
      }
      return fail(v, from, to);
    case 'string':
    case 'enum':
    case 'interval':
      // a time (MySQL's TIME holds durations) is the interval of that length
      if (to.kind === 'interval' && from.kind === 'time' && !from.tz)
        return timeAsInterval(String(v)) ?? fail(v, from, to);
      if (f === 'bytes') return Buffer.from(v as Uint8Array).toString('utf8');
      if (f === 'geometry') return geometryText(v as Uint8Array);
      if (f === 'set') return (v as string[]).join(',');
      if (f === 'array' || (typeof v === 'object' && v !== null))
        return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
      if (f === 'bool') return v ? 'true' : 'false';
      if (f === 'float') return formatFloat(v as number, from.kind === 'float' ? from.bits : 64);
      return String(v);
    case 'uuid':
      return String(v).toLowerCase();
    case 'json':
      if (f === 'json' || f === 'string') return String(v);
      return JSON.stringify(v, (_k, x) =>
        typeof x === 'bigint' ? String(x) : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x,
      );
    case 'bytes':
      if (v instanceof Uint8Array) return v;
      if (typeof v === 'string') return Buffer.from(v, 'utf8');
      return fail(v, from, to);
    case 'date':
      if (f === 'timestamp' || f === 'date' || f === 'string') return String(v).slice(0, String(v).search(/[ T]|$/));
      return fail(v, from, to);
    case 'timestamp': {
      let s = String(v).replace('T', ' ');
      if (f === 'date') s += ' 00:00:00';
      if (f === 'timestamp' && from.kind === 'timestamp' && from.tz && !to.tz) s = s.replace(/Z$/, '');
      if (f === 'timestamp' && from.kind === 'timestamp' && !from.tz && to.tz) s += 'Z';
      if (!/^-?\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d/.test(s)) fail(v, from, to);
      return s;
    }
    case 'time':
      if (f === 'timestamp') return String(v).replace('T', ' ').split(' ')[1]!.replace(/Z$/, '');
      return String(v);
    case 'set':
      if (Array.isArray(v)) return v.map(String);
      return String(v) === '' ? [] : String(v).split(',');
    case 'array':
      if (Array.isArray(v)) {
        const element = from.kind === 'array' ? from.element : from.kind === 'set' ? { kind: 'string' as const } : from;
        // arrays need not fix their dimensions (PostgreSQL's do not): an array past the type's depth is the same level again
        return v.map((e) =>
          Array.isArray(e) && to.element.kind !== 'array'
            ? convertValue(e, from, to)
            : convertValue(e, element, to.element),
        );
      }
      if (typeof v === 'string' && (f === 'json' || f === 'string'))
        // elements as JSON gives them: numbers, booleans and strings, converted as from text
        return convertValue(jsonArray(v), { kind: 'array', element: { kind: 'string' } }, to);
      return fail(v, from, to);
    case 'geometry':
      // well-known binary, extended or not; the target's reader checks it
      if (v instanceof Uint8Array) return v;
      return fail(v, from, to);
    case 'bit':
      if (typeof v === 'string' && /^[01]*$/.test(v)) return v;
      if (typeof v === 'number' || typeof v === 'bigint') return BigInt(v).toString(2).padStart(to.length, '0');
      return fail(v, from, to);
  }
}

/**
 * A JSON array's elements (the form arrays take in engines without them, like MySQL's json),
 * or VALUE_DOES_NOT_FIT: not an array, or an integer past 2^53 that JSON.parse would round.
 */
function jsonArray(text: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const inexact = (x: unknown): boolean =>
    Array.isArray(x) ? x.some(inexact) : typeof x === 'number' && Number.isInteger(x) && !Number.isSafeInteger(x);
  if (!Array.isArray(parsed) || inexact(parsed))
    throw new FerryError(
      'VALUE_DOES_NOT_FIT',
      `${JSON.stringify(text.length > 60 ? text.slice(0, 60) + '…' : text)} is not a JSON array of exact values`,
      'change the cast in the plan or filter the row',
    );
  return parsed;
}

/** The value with what JSON has no form for replaced by tagged objects; the value itself when nothing needs it. */
function tagged(x: unknown): unknown {
  switch (typeof x) {
    case 'bigint':
      return { $big: String(x) };
    case 'number':
      return Number.isFinite(x) && !Object.is(x, -0) ? x : { $num: Object.is(x, -0) ? '-0' : String(x) };
    case 'object': {
      if (x === null) return x;
      if (x instanceof Uint8Array) return { $hex: hex(x) };
      if (Array.isArray(x)) {
        let copy: unknown[] | undefined;
        for (let i = 0; i < x.length; i++) {
          const t = tagged(x[i]);
          if (t !== x[i]) (copy ??= x.slice())[i] = t;
        }
        return copy ?? x;
      }
      let copy: Record<string, unknown> | undefined;
      for (const [k, v] of Object.entries(x)) {
        const t = tagged(v);
        if (t !== v) (copy ??= { ...x })[k] = t;
      }
      return copy ?? x;
    }
    default:
      return x;
  }
}

/**
 * JSON for state files, reject files and backups: bigint, bytes and the floats JSON has no
 * number for (NaN, ±Infinity, -0) survive the round trip. No JSON.stringify replacer: it
 * costs a call per value, and backups write every row through this.
 */
export function stateStringify(v: unknown): string {
  return JSON.stringify(tagged(v)) ?? 'null';
}

function revive(x: unknown): unknown {
  if (x === null || typeof x !== 'object') return x;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) if (x[i] !== null && typeof x[i] === 'object') x[i] = revive(x[i]);
    return x;
  }
  const o = x as Record<string, unknown>;
  if (typeof o.$big === 'string') return BigInt(o.$big);
  if (typeof o.$hex === 'string') return new Uint8Array(Buffer.from(o.$hex, 'hex'));
  if (typeof o.$num === 'string') return Number(o.$num);
  for (const k of Object.keys(o)) if (o[k] !== null && typeof o[k] === 'object') o[k] = revive(o[k]);
  return o;
}

export function stateParse<T = unknown>(s: string): T {
  return revive(JSON.parse(s)) as T;
}
