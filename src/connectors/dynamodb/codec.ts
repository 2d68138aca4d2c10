// Canonical values <-> DynamoDB attribute values, one encoder and one decoder per column,
// chosen once from the column's native type, and DynamoDB's own item size rules.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { CanonicalType } from '../../core/types.js';
import { formatFloat, normalizeDecimal } from '../../core/values.js';
import { NUMBER_DIGITS, type AttrType } from './typemap.js';
import { daysFromCivil, formatDays } from '../../core/calendar.js';

/** A value the attribute cannot hold; the row is refused with this reason. */
export class Refusal extends Error {}

export type Encoder = (v: unknown) => AttributeValue;
export type Decoder = (a: AttributeValue) => unknown;

/** What to do with a number a DynamoDB number cannot hold. */
export type BigNumbers = 'reject' | 'string';

// DynamoDB numbers: 38 significant digits, magnitudes from 1e-130 to below 1e126
const MAX_EXPONENT = 125;
const MIN_EXPONENT = -130;

/** Why DynamoDB cannot hold this decimal text as a number, or undefined. */
export function numberMisfit(text: string): string | undefined {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return `${text} is not a number`;
  const digits = ((m[1] ?? '') + (m[2] ?? '')).replace(/^0+/, '');
  if (digits === '') return undefined;
  const significant = digits.replace(/0+$/, '').length;
  if (significant > NUMBER_DIGITS)
    return `${text} has ${significant} significant digits, more than the ${NUMBER_DIGITS} a DynamoDB number keeps`;
  // exponent of the first significant digit
  const intDigits = (m[1] ?? '').replace(/^0+/, '').length;
  const leadingFracZeros = intDigits > 0 ? 0 : (m[2] ?? '').length - (m[2] ?? '').replace(/^0+/, '').length;
  const exponent = (intDigits > 0 ? intDigits - 1 : -leadingFracZeros - 1) + Number(m[3] ?? 0);
  if (exponent > MAX_EXPONENT || exponent < MIN_EXPONENT)
    return `${text} is outside the range of a DynamoDB number (1e-130 to 1e126 in magnitude)`;
  return undefined;
}

function floatMisfit(v: number): string | undefined {
  if (Number.isNaN(v) || !Number.isFinite(v) || Object.is(v, -0)) return `${formatFloat(v, 64)} has no DynamoDB number`;
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e126 || a < 1e-130))
    return `${v} is outside the range of a DynamoDB number (1e-130 to 1e126 in magnitude)`;
  return undefined;
}

/** Plain decimal text of a float (DynamoDB is given no exponents). */
function floatText(v: number, bits: 32 | 64): string {
  const s = formatFloat(v, bits);
  return s.includes('e') ? normalizeDecimal(s) : s;
}

/** Why a value of this N column cannot be a DynamoDB number, for columns that may hold one; else undefined. */
export function numberCheck(t: CanonicalType): ((v: unknown) => string | undefined) | undefined {
  if (t.kind === 'float') return (v) => floatMisfit(v as number);
  if (t.kind === 'decimal' && (t.precision === undefined || t.precision > NUMBER_DIGITS))
    return (v) => numberMisfit(String(v));
  return undefined;
}

// ---- epoch seconds, computed on integers (never through Date)

const DATE_RE = /^(-?\d{4,})-(\d\d)-(\d\d)/;
const TIME_RE = /(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?/y;

/** Microseconds since 1970-01-01 of a canonical date or timestamp, read as UTC. */
export function epochMicros(v: string): bigint {
  const d = DATE_RE.exec(v);
  if (!d) throw new Refusal(`${v} is not a date`);
  let micros = BigInt(daysFromCivil(Number(d[1]), Number(d[2]), Number(d[3]))) * 86_400_000_000n;
  if (v.length > d[0].length + 1) {
    TIME_RE.lastIndex = d[0].length + 1;
    const t = TIME_RE.exec(v);
    if (!t) throw new Refusal(`${v} is not a timestamp`);
    micros +=
      BigInt(Number(t[1]) * 3600 + Number(t[2]) * 60 + Number(t[3])) * 1_000_000n + BigInt((t[4] ?? '').padEnd(6, '0'));
  }
  return micros;
}

/** Epoch seconds (with up to 6 fractional digits) of a canonical date or timestamp, read as UTC. */
export function epochText(v: string): string {
  const micros = epochMicros(v);
  const neg = micros < 0n;
  const abs = neg ? -micros : micros;
  const frac = String(abs % 1_000_000n)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return `${neg ? '-' : ''}${abs / 1_000_000n}${frac ? `.${frac}` : ''}`;
}

/** The canonical date or timestamp of epoch seconds. */
export function fromEpoch(text: string, kind: 'date' | 'timestamp', tz: boolean): string {
  const m = /^(-?)(\d+)(?:\.(\d{1,6})\d*)?$/.exec(normalizeDecimal(text));
  if (!m) return text;
  let micros = BigInt(m[2]!) * 1_000_000n + BigInt((m[3] ?? '').padEnd(6, '0'));
  if (m[1]) micros = -micros;
  const dayMicros = 86_400_000_000n;
  let days = micros / dayMicros;
  let rest = micros % dayMicros;
  if (rest < 0n) {
    days -= 1n;
    rest += dayMicros;
  }
  const date = formatDays(Number(days));
  if (kind === 'date') return date;
  const secs = Number(rest / 1_000_000n);
  const frac = String(rest % 1_000_000n)
    .padStart(6, '0')
    .replace(/0+$/, '');
  const clock = `${String(Math.floor(secs / 3600)).padStart(2, '0')}:${String(Math.floor(secs / 60) % 60).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}`;
  return `${date} ${clock}${frac ? `.${frac}` : ''}${tz ? 'Z' : ''}`;
}

// ---- JSON as maps and lists, numbers kept as their exact text

/** JSON text as a DynamoDB map or list; undefined when it has no exact equivalent (then it is kept as text). */
export function jsonToAttribute(text: string): AttributeValue | undefined {
  let pos = 0;
  const n = text.length;
  const ws = () => {
    while (pos < n) {
      const c = text.charCodeAt(pos);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      pos++;
    }
  };
  const str = (): string => {
    const start = pos++;
    let escaped = false;
    while (pos < n) {
      const c = text.charCodeAt(pos);
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        pos++;
      }
      pos++;
    }
    pos++;
    return escaped ? (JSON.parse(text.slice(start, pos)) as string) : text.slice(start + 1, pos - 1);
  };
  const NUM = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;
  const value = (): AttributeValue | undefined => {
    ws();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const map: Record<string, AttributeValue> = {};
      ws();
      if (text[pos] === '}') {
        pos++;
        return { M: map };
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') return undefined;
        const key = str();
        // DynamoDB map keys are unique and not empty
        if (key === '' || key in map) return undefined;
        ws();
        if (text[pos++] !== ':') return undefined;
        const v = value();
        if (!v) return undefined;
        map[key] = v;
        ws();
        const sep = text[pos++];
        if (sep === '}') return { M: map };
        if (sep !== ',') return undefined;
      }
    }
    if (c === '[') {
      pos++;
      const list: AttributeValue[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return { L: list };
      }
      for (;;) {
        const v = value();
        if (!v) return undefined;
        list.push(v);
        ws();
        const sep = text[pos++];
        if (sep === ']') return { L: list };
        if (sep !== ',') return undefined;
      }
    }
    if (c === '"') return pos < n ? { S: str() } : undefined;
    if (text.startsWith('true', pos)) {
      pos += 4;
      return { BOOL: true };
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return { BOOL: false };
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return { NULL: true };
    }
    NUM.lastIndex = pos;
    const m = NUM.exec(text);
    if (!m || numberMisfit(m[0])) return undefined;
    pos += m[0].length;
    return { N: m[0] };
  };
  try {
    ws();
    // a top-level scalar stays text: a string attribute of a JSON column is JSON text
    if (text[pos] !== '{' && text[pos] !== '[') return undefined;
    const out = value();
    ws();
    return out && pos === n ? out : undefined;
  } catch {
    return undefined;
  }
}

export function attributeToJson(a: AttributeValue): string {
  if (a.M !== undefined) {
    let s = '';
    for (const k in a.M) s += `${s ? ',' : ''}${JSON.stringify(k)}:${attributeToJson(a.M[k]!)}`;
    return `{${s}}`;
  }
  if (a.L !== undefined) return `[${a.L.map(attributeToJson).join(',')}]`;
  if (a.S !== undefined) return JSON.stringify(a.S);
  if (a.N !== undefined) return a.N;
  if (a.BOOL !== undefined) return a.BOOL ? 'true' : 'false';
  return 'null';
}

// ---- DynamoDB JSON of items, as a request body carries them

const base64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** An attribute value with its binary values as base64 text; the value itself when it holds none. */
function withBase64(a: AttributeValue): unknown {
  if (a.B !== undefined) return { B: base64(a.B) };
  if (a.M !== undefined) {
    const m = itemWithBase64(a.M);
    return m === a.M ? a : { M: m };
  }
  if (a.L !== undefined) {
    let list: unknown[] | undefined;
    for (let i = 0; i < a.L.length; i++) {
      const e = withBase64(a.L[i]!);
      if (e !== a.L[i]) (list ??= [...a.L])[i] = e;
    }
    return list ? { L: list } : a;
  }
  if (a.BS !== undefined) return { BS: a.BS.map(base64) };
  return a;
}

/**
 * An item (or a map) that JSON.stringify writes as DynamoDB JSON, byte for byte as the SDK does:
 * binary values as base64 text. The item itself when it holds none, and a shallow copy otherwise,
 * so that the native JSON.stringify does the work.
 */
export function itemWithBase64(item: Record<string, AttributeValue>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const name in item) {
    const v = item[name]!;
    const w = withBase64(v);
    if (w !== v) (copy ??= { ...item })[name] = w;
  }
  return copy ?? item;
}

/** JSON.parse's reviver for DynamoDB JSON: binary values back from base64 (only they are strings under "B" and "BS"). */
export function binaryReviver(key: string, value: unknown): unknown {
  if (key === 'B' && typeof value === 'string') return new Uint8Array(Buffer.from(value, 'base64'));
  if (key === 'BS' && Array.isArray(value) && value.every((v) => typeof v === 'string'))
    return value.map((v: string) => new Uint8Array(Buffer.from(v, 'base64')));
  return value;
}

// ---- encoders and decoders

const NULL: AttributeValue = { NULL: true };

function numberEncoder(t: CanonicalType, bigNumbers: BigNumbers): Encoder {
  switch (t.kind) {
    case 'int':
    case 'year':
      return (v) => ({ N: String(v) });
    case 'bool':
      return (v) => ({ N: v ? '1' : '0' });
    case 'date':
    case 'timestamp':
      return (v) => ({ N: epochText(String(v)) });
    case 'float': {
      const bits = t.bits;
      return (v) => {
        const why = floatMisfit(v as number);
        if (why === undefined) return { N: floatText(v as number, bits) };
        if (bigNumbers === 'string') return { S: formatFloat(v as number, bits) };
        throw new Refusal(why);
      };
    }
    default: {
      const check = numberCheck(t);
      if (!check) return (v) => ({ N: String(v) });
      return (v) => {
        const s = String(v);
        const why = check(s);
        if (why === undefined) return { N: s };
        if (bigNumbers === 'string') return { S: s };
        throw new Refusal(why);
      };
    }
  }
}

function stringEncoder(t: CanonicalType): Encoder {
  switch (t.kind) {
    case 'timestamp':
      // ISO 8601: a "T" between date and time
      return (v) => ({ S: (v as string).replace(' ', 'T') });
    case 'float':
      return (v) => ({ S: formatFloat(v as number, t.bits) });
    case 'bool':
      return (v) => ({ S: v ? 'true' : 'false' });
    case 'set':
      return (v) => ({ S: (v as string[]).join(',') });
    default:
      return (v) => ({ S: String(v) });
  }
}

/** The encoder of an attribute type and canonical type; `bigNumbers` decides what a number DynamoDB cannot hold becomes. */
export function encoderFor(attr: AttrType, t: CanonicalType, bigNumbers: BigNumbers): Encoder {
  switch (attr) {
    case 'N':
      return numberEncoder(t, bigNumbers);
    case 'S':
      return stringEncoder(t);
    case 'B':
      return (v) => ({ B: v as Uint8Array });
    case 'BOOL':
      return (v) => ({ BOOL: v as boolean });
    case 'SS':
      // a string set cannot be empty: an empty set is an empty list
      return (v) => ((v as string[]).length === 0 ? { L: [] } : { SS: v as string[] });
    case 'M':
      return (v) => jsonToAttribute(v as string) ?? { S: v as string };
    case 'L': {
      if (t.kind !== 'array') return (v) => jsonToAttribute(v as string) ?? { S: v as string };
      const element = t.element;
      const inner = encoderFor(defaultAttr(element), element, bigNumbers);
      // arrays need not fix their dimensions (PostgreSQL's do not): an array past the type's depth is a list again
      const list = (v: unknown[]): AttributeValue => ({
        L: v.map((e) =>
          e === null || e === undefined ? NULL : Array.isArray(e) && element.kind !== 'array' ? list(e) : inner(e),
        ),
      });
      return (v) => list(v as unknown[]);
    }
  }
}

/** The attribute type an element of an array is stored as. */
function defaultAttr(t: CanonicalType): AttrType {
  switch (t.kind) {
    case 'int':
    case 'year':
    case 'decimal':
    case 'float':
      return 'N';
    case 'bool':
      return 'BOOL';
    case 'bytes':
    case 'geometry':
      return 'B';
    case 'set':
      return 'SS';
    case 'json':
      return 'M';
    case 'array':
      return 'L';
    default:
      return 'S';
  }
}

/** Text of a number or string attribute (numbers a DynamoDB number could not hold may be strings). */
const text = (a: AttributeValue): string => (a.N ?? a.S)!;

export function decoderFor(attr: AttrType, t: CanonicalType): Decoder {
  switch (t.kind) {
    case 'int':
      if (t.bits === 64)
        return (a) => (a.N !== undefined && /^-?\d+$/.test(a.N) ? BigInt(a.N) : BigInt(normalizeDecimal(text(a))));
      return (a) => Number(text(a));
    case 'year':
      return (a) => Number(text(a));
    case 'decimal':
      return text;
    case 'float':
      return (a) => Number(text(a));
    case 'bool':
      return (a) => (a.BOOL !== undefined ? a.BOOL : a.N !== undefined ? a.N !== '0' : a.S === 'true');
    case 'bytes':
    case 'geometry':
      return (a) => a.B!;
    case 'date':
      return attr === 'N' ? (a) => fromEpoch(a.N!, 'date', false) : (a) => a.S!;
    case 'timestamp':
      return attr === 'N' ? (a) => fromEpoch(a.N!, 'timestamp', t.tz) : (a) => a.S!.replace('T', ' ');
    case 'set':
      return (a) => (a.SS ? [...a.SS] : a.S !== undefined ? (a.S === '' ? [] : a.S.split(',')) : []);
    case 'json':
      return (a) => (a.S !== undefined ? a.S : attributeToJson(a));
    case 'array': {
      const element = t.element;
      const inner = decoderFor(defaultAttr(element), element);
      const list = (a: AttributeValue): unknown[] =>
        a.L!.map((e) => (e.NULL ? null : e.L && element.kind !== 'array' ? list(e) : inner(e)));
      return list;
    }
    default:
      return (a) => a.S!;
  }
}

/** Whether an attribute value is DynamoDB's NULL (or absent). */
export const isNull = (a: AttributeValue | undefined): boolean => a === undefined || a.NULL === true;

// ---- DynamoDB's item size rules: names and values in bytes, numbers by significant digits

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

function numberSize(n: string): number {
  let digits = 0;
  let started = false;
  let trailingZeros = 0;
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (c === 101 || c === 69) break;
    if (c < 48 || c > 57) continue;
    if (c === 48 && !started) continue;
    started = true;
    digits++;
    trailingZeros = c === 48 ? trailingZeros + 1 : 0;
  }
  return Math.ceil((digits - trailingZeros) / 2) + 1;
}

/**
 * A string's bytes in an item: its UTF-8 size, or for a string longer than the item limit its
 * length — a lower bound (UTF-8 takes a byte or more per UTF-16 unit) already past the limit,
 * so a 50 MiB value is refused without being encoded to be counted.
 */
function textSize(s: string, bound: { exact: boolean }): number {
  if (s.length <= MAX_ITEM_BYTES) return utf8(s);
  bound.exact = false;
  return s.length;
}

function valueSize(a: AttributeValue, bound: { exact: boolean }): number {
  if (a.S !== undefined) return textSize(a.S, bound);
  if (a.N !== undefined) return numberSize(a.N);
  if (a.B !== undefined) return a.B.byteLength;
  if (a.M !== undefined) {
    let size = 3;
    for (const k in a.M) size += utf8(k) + valueSize(a.M[k]!, bound) + 1;
    return size;
  }
  if (a.L !== undefined) {
    let size = 3;
    for (const e of a.L) size += valueSize(e, bound) + 1;
    return size;
  }
  if (a.SS !== undefined) return a.SS.reduce((n, s) => n + textSize(s, bound), 0);
  return 1;
}

export const MAX_ITEM_BYTES = 400 * 1024;

/** The item's size as DynamoDB counts it, or, past the limit, the reason DynamoDB refuses it. */
export function measureItem(item: Record<string, AttributeValue>): { size: number; refusal?: string } {
  const bound = { exact: true };
  let size = 0;
  for (const name in item) size += utf8(name) + valueSize(item[name]!, bound);
  if (size <= MAX_ITEM_BYTES) return { size };
  const measured = bound.exact ? `${size}` : `at least ${size}`;
  return {
    size,
    refusal: `the item is ${measured} bytes, more than DynamoDB's limit of ${MAX_ITEM_BYTES} bytes (400 KB)`,
  };
}
