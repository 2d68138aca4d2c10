// NDJSON and CSV: the text encoding of every canonical type, both ways.
//
//   type                         NDJSON value                      CSV field (RFC 4180)
//   NULL                         null                              empty, unquoted ("" is the empty string)
//   bool                         true / false                      true / false
//   int8..int32, year            number                            digits
//   int64, uint64                number (exact digits; past 2^53 most JSON readers round them)
//   float32, float64             shortest round-trip number; "NaN", "Infinity", "-Infinity" as strings
//                                                                  shortest number; NaN, Infinity, -Infinity
//   decimal                      string with the exact digits      the exact digits
//   text, enum, uuid, bit, interval
//                                string                            the text
//   bytes                        base64 string                     base64
//   date, time, timestamp        "YYYY-MM-DD", "HH:MM:SS[.ffffff]", "YYYY-MM-DD HH:MM:SS[.ffffff]"
//   timestamptz                  the same in UTC with a trailing "Z"
//   json                         the document itself (whitespace-free when it had line breaks)
//                                                                  the document's text
//   set, array                   array of the element values       that array as JSON text
import { isUtf8 } from 'node:buffer';
import { formatFloat } from '../../core/values.js';
import type { CanonicalType } from '../../core/types.js';
import { RowRefused } from './temporal.js';

/** JSON text of a value (a token or a whole array), for NDJSON and for CSV's lists. */
export type JsonEncoder = (v: unknown) => string;
/** The canonical value of a JSON token's text. */
export type JsonDecoder = (raw: string) => unknown;

const jsonString = (s: string) => JSON.stringify(s);

/** The kinds jsonEncoder writes otherwise than as the quoted text of the value. */
const JSON_NOT_TEXT = new Set<CanonicalType['kind']>(['int', 'year', 'float', 'bool', 'bytes', 'json', 'set', 'array']);

/**
 * The escapes of the bytes JSON escapes in a string, all ASCII (never inside a multi-byte
 * character): JSON_ESCAPE_AT[c] is where byte c's escape starts in JSON_ESCAPE_BYTES, and
 * JSON_ESCAPE_EXTRA[c] how many bytes it adds (0: the byte stands for itself). Typed arrays, so
 * the loops over a value's bytes stay monomorphic.
 */
const JSON_ESCAPE_EXTRA = new Uint8Array(256);
const JSON_ESCAPE_AT = new Uint16Array(256);
const JSON_ESCAPE_BYTES = ((): Buffer => {
  const escapes: Buffer[] = [];
  let at = 0;
  for (let c = 0; c < 0x80; c++) {
    if (!(c < 0x20 || c === 0x22 || c === 0x5c)) continue;
    const escape = Buffer.from(JSON.stringify(String.fromCharCode(c)).slice(1, -1));
    JSON_ESCAPE_EXTRA[c] = escape.length - 1;
    JSON_ESCAPE_AT[c] = at;
    escapes.push(escape);
    at += escape.length;
  }
  return Buffer.concat(escapes);
})();

/** String.prototype.isWellFormed (ES2024, in Node 20) */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** A field this long (UTF-16 units, or bytes) is large: written apart from its line, straight to bytes. */
export const LARGE_FIELD = 64 * 1024;

/**
 * The bytes of a large value's NDJSON field, or undefined for a value that is not large, or
 * that jsonEncoder does not write as quoted text or base64: escaped in its UTF-8 bytes, the same
 * bytes as JSON.stringify's text (whose copy of a text of many-byte characters takes two bytes
 * a character); text with a lone surrogate, which JSON.stringify escapes, goes through it.
 */
export function largeJsonField(t: CanonicalType): (v: unknown) => Buffer | undefined {
  if (t.kind === 'bytes')
    return (v) => (v instanceof Uint8Array && v.length >= LARGE_FIELD ? base64Bytes(v, true) : undefined);
  if (JSON_NOT_TEXT.has(t.kind)) return () => undefined;
  return (v) => (typeof v === 'string' && v.length >= LARGE_FIELD ? jsonTextBytes(v) : undefined);
}

function jsonTextBytes(s: string): Buffer {
  return wellFormed(s) ? jsonUtf8(Buffer.from(s, 'utf8')) : Buffer.from(jsonString(s), 'utf8');
}

/** JSON.stringify's text of valid UTF-8 text, as bytes: the text between quotes, escaped in its bytes. */
function jsonUtf8(text: Uint8Array): Buffer {
  const n = text.length;
  let size = n + 2;
  for (let i = 0; i < n; i++) size += JSON_ESCAPE_EXTRA[text[i]!]!;
  const out = Buffer.allocUnsafe(size);
  out[0] = out[size - 1] = 0x22;
  if (size === n + 2) {
    out.set(text, 1);
    return out;
  }
  let o = 1;
  for (let i = 0; i < n; i++) {
    const c = text[i]!;
    const extra = JSON_ESCAPE_EXTRA[c]!;
    if (extra === 0) out[o++] = c;
    else for (let k = JSON_ESCAPE_AT[c]!, end = k + extra + 1; k < end; k++) out[o++] = JSON_ESCAPE_BYTES[k]!;
  }
  return out;
}

/**
 * The field bytes of a large value in a column batch (core/columns.ts bytes layout: text as its
 * UTF-8), for `format`, straight from the batch's bytes, or undefined where the value goes by
 * its canonical value (not large, not text or bytes, or not valid UTF-8): the same bytes as the
 * row writer's for the same value.
 */
export function largeColumnField(
  t: CanonicalType,
  format: 'ndjson' | 'csv',
): (value: Uint8Array) => Buffer | undefined {
  if (t.kind === 'bytes') return (v) => (v.length >= LARGE_FIELD ? base64Bytes(v, format === 'ndjson') : undefined);
  if ((format === 'ndjson' ? JSON_NOT_TEXT : CSV_NOT_TEXT).has(t.kind)) return () => undefined;
  const field = format === 'ndjson' ? jsonUtf8 : csvUtf8;
  return (v) => (v.length >= LARGE_FIELD && isUtf8(v) ? field(v) : undefined);
}

/** Removes white space outside strings (keeping everything else as written), after checking the text is JSON. */
function compactJson(text: string): string {
  try {
    JSON.parse(text);
  } catch {
    throw new RowRefused(`${JSON.stringify(text.slice(0, 40))} is not valid JSON`);
  }
  if (!/[\n\r]/.test(text)) return text;
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i]!;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c !== ' ' && c !== '\n' && c !== '\r' && c !== '\t') out += c;
  }
  return out;
}

function floatJson(bits: 32 | 64): JsonEncoder {
  return (v) => {
    const n = v as number;
    return Number.isFinite(n) ? formatFloat(n, bits) : `"${String(n)}"`;
  };
}

export function jsonEncoder(t: CanonicalType): JsonEncoder {
  switch (t.kind) {
    case 'int':
    case 'year':
      return (v) => String(v);
    case 'float':
      return floatJson(t.bits);
    case 'bool':
      return (v) => (v ? 'true' : 'false');
    case 'bytes':
      return (v) =>
        `"${Buffer.from((v as Uint8Array).buffer, (v as Uint8Array).byteOffset, (v as Uint8Array).byteLength).toString('base64')}"`;
    case 'json':
      return (v) => compactJson(String(v));
    case 'set':
      return (v) => JSON.stringify(v);
    case 'array': {
      const inner = jsonEncoder(t.element);
      return (v) => `[${(v as unknown[]).map((e) => (e === null || e === undefined ? 'null' : inner(e))).join(',')}]`;
    }
    default:
      return (v) => jsonString(String(v));
  }
}

/** The end of the JSON value that starts at `i` (which is not white space). */
export function scanJson(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 34) {
    for (i++; i < s.length; i++) {
      const d = s.charCodeAt(i);
      if (d === 92) i++;
      else if (d === 34) return i + 1;
    }
    throw new Error('unterminated string');
  }
  if (c === 123 || c === 91) {
    let depth = 0;
    for (; i < s.length; i++) {
      const d = s.charCodeAt(i);
      if (d === 34) i = scanJson(s, i) - 1;
      else if (d === 123 || d === 91) depth++;
      else if (d === 125 || d === 93) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    throw new Error('unterminated object or array');
  }
  for (; i < s.length; i++) {
    const d = s.charCodeAt(i);
    if (d === 44 || d === 125 || d === 93 || d === 32 || d === 10 || d === 13 || d === 9) return i;
  }
  return i;
}

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

/** The raw texts of a JSON array's elements. */
function arrayItems(raw: string): string[] {
  const items: string[] = [];
  let i = 1;
  for (;;) {
    while (isSpace(raw.charCodeAt(i))) i++;
    if (raw.charCodeAt(i) === 93) return items;
    const end = scanJson(raw, i);
    items.push(raw.slice(i, end));
    i = end;
    while (isSpace(raw.charCodeAt(i))) i++;
    if (raw.charCodeAt(i) === 44) i++;
  }
}

const unquote = (raw: string) => (raw.indexOf('\\') < 0 ? raw.slice(1, -1) : (JSON.parse(raw) as string));

export function jsonDecoder(t: CanonicalType): JsonDecoder {
  const dec = ((): JsonDecoder => {
    switch (t.kind) {
      case 'int':
        return t.bits === 64 ? (raw) => BigInt(raw) : (raw) => Number(raw);
      case 'year':
        return (raw) => Number(raw);
      case 'float':
        return (raw) => Number(raw.charCodeAt(0) === 34 ? unquote(raw) : raw);
      case 'bool':
        return (raw) => raw === 'true';
      case 'decimal':
        return (raw) => (raw.charCodeAt(0) === 34 ? unquote(raw) : raw);
      case 'bytes':
        return (raw) => new Uint8Array(Buffer.from(unquote(raw), 'base64'));
      case 'json':
        return (raw) => raw;
      case 'set':
        return (raw) => JSON.parse(raw) as string[];
      case 'array': {
        const inner = jsonDecoder(t.element);
        return (raw) => arrayItems(raw).map(inner);
      }
      default:
        return unquote;
    }
  })();
  return (raw) => (raw === 'null' ? null : dec(raw));
}

/** Members of one NDJSON line: name -> raw value text. */
export function ndjsonMembers(line: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (isSpace(line.charCodeAt(i))) i++;
  if (line.charCodeAt(i) !== 123) throw new Error('a line that is not a JSON object');
  i++;
  for (;;) {
    while (isSpace(line.charCodeAt(i))) i++;
    if (line.charCodeAt(i) === 125) return out;
    const keyEnd = scanJson(line, i);
    const key = unquote(line.slice(i, keyEnd));
    i = keyEnd;
    while (isSpace(line.charCodeAt(i)) || line.charCodeAt(i) === 58) i++;
    const end = scanJson(line, i);
    out.set(key, line.slice(i, end));
    i = end;
    while (isSpace(line.charCodeAt(i))) i++;
    if (line.charCodeAt(i) === 44) i++;
  }
}

/** CSV field text of a non-null value (quoting is applied by the row writer). */
export function csvEncoder(t: CanonicalType): (v: unknown) => string {
  switch (t.kind) {
    case 'float':
      return (v) => (Number.isFinite(v as number) ? formatFloat(v as number, t.bits) : String(v));
    case 'bytes':
      return (v) =>
        Buffer.from((v as Uint8Array).buffer, (v as Uint8Array).byteOffset, (v as Uint8Array).byteLength).toString(
          'base64',
        );
    case 'bool':
    case 'set':
    case 'array':
      return jsonEncoder(t);
    default:
      return (v) => String(v);
  }
}

export function csvDecoder(t: CanonicalType): (field: string) => unknown {
  switch (t.kind) {
    case 'bytes':
      return (f) => new Uint8Array(Buffer.from(f, 'base64'));
    case 'set':
    case 'array':
      return jsonDecoder(t);
    case 'bool':
      return (f) => f === 'true';
    case 'int':
      return t.bits === 64 ? (f) => BigInt(f) : (f) => Number(f);
    case 'year':
    case 'float':
      return (f) => Number(f);
    default:
      return (f) => f;
  }
}

const NEEDS_QUOTES = /[",\r\n]/;

/** A CSV field: quoted when it must be, and always when empty (an unquoted empty field is NULL). */
export function csvField(s: string): string {
  if (s === '') return '""';
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** whole groups of 3 bytes (4 base64 characters): the slices base64Bytes encodes one at a time */
const BASE64_SLICE = 3 << 18;

/**
 * The base64 text of large bytes as its bytes (between double quotes when `quoted`), encoded a
 * slice at a time: the base64 string of the whole value, then its bytes, would be two copies.
 */
function base64Bytes(b: Uint8Array, quoted: boolean): Buffer {
  const q = quoted ? 1 : 0;
  const bytes = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const out = Buffer.allocUnsafe(Math.ceil(bytes.length / 3) * 4 + 2 * q);
  let o = q;
  for (let i = 0; i < bytes.length; i += BASE64_SLICE)
    o += out.write(bytes.subarray(i, i + BASE64_SLICE).toString('base64'), o, 'latin1');
  if (quoted) out[0] = out[o] = 0x22;
  return out;
}

/** The bytes of a large value's CSV field (see largeJsonField), or undefined for one that is not large text or bytes. */
export function largeCsvField(t: CanonicalType): (v: unknown) => Buffer | undefined {
  if (t.kind === 'bytes')
    return (v) => (v instanceof Uint8Array && v.length >= LARGE_FIELD ? base64Bytes(v, false) : undefined);
  if (CSV_NOT_TEXT.has(t.kind)) return () => undefined;
  return (v) => (typeof v === 'string' && v.length >= LARGE_FIELD ? csvFieldBytes(v) : undefined);
}

/** The kinds csvEncoder writes otherwise than as the text of the value. */
const CSV_NOT_TEXT = new Set<CanonicalType['kind']>(['float', 'bytes', 'bool', 'set', 'array']);

/**
 * csvField's UTF-8 bytes for a large text, its quotes doubled in its bytes: the replace of
 * csvField builds the text anew in pieces (four times the value's size at its peak).
 */
function csvFieldBytes(s: string): Buffer {
  return csvUtf8(Buffer.from(s, 'utf8'));
}

/** csvField of UTF-8 text (not empty), as bytes; one loop over them: a copy per quote costs more than the bytes between. */
function csvUtf8(text: Uint8Array): Buffer {
  const n = text.length;
  let quotes = 0;
  let special = false;
  for (let i = 0; i < n; i++) {
    const c = text[i]!;
    if (c === 0x22) quotes++;
    else if (c === 0x2c || c === 0x0a || c === 0x0d) special = true;
  }
  // a copy: a column batch's buffers are used again once the batch is written
  if (quotes === 0 && !special) return Buffer.from(text);
  const out = Buffer.allocUnsafe(n + quotes + 2);
  out[0] = out[out.length - 1] = 0x22;
  if (quotes === 0) out.set(text, 1);
  else
    for (let i = 0, o = 1; i < n; i++) {
      const c = text[i]!;
      out[o++] = c;
      if (c === 0x22) out[o++] = 0x22;
    }
  return out;
}

/**
 * Splits CSV text into records of fields (null for an unquoted empty field), carrying a
 * partial record across chunks.
 */
export class CsvParser {
  private field = '';
  private quoted = false;
  private inQuotes = false;
  private afterQuote = false;
  private record: (string | null)[] = [];

  push(text: string, out: (string | null)[][]): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inQuotes) {
        if (c === 34) {
          this.field += text.slice(start, i);
          start = i + 1;
          this.inQuotes = false;
          this.afterQuote = true;
        }
        continue;
      }
      if (c === 34) {
        // a doubled quote inside a quoted field, or the opening quote
        if (this.afterQuote) this.field += '"';
        this.inQuotes = true;
        this.quoted = true;
        this.afterQuote = false;
        start = i + 1;
        continue;
      }
      this.afterQuote = false;
      if (c === 44 || c === 10 || c === 13) {
        this.field += text.slice(start, i);
        start = i + 1;
        if (c === 13) continue;
        this.endField();
        if (c === 10) {
          out.push(this.record);
          this.record = [];
        }
      }
    }
    this.field += text.slice(start);
  }

  private endField(): void {
    this.record.push(this.field === '' && !this.quoted ? null : this.field);
    this.field = '';
    this.quoted = false;
  }

  /** The last record when the text does not end with a line break. */
  end(out: (string | null)[][]): void {
    if (this.field !== '' || this.quoted || this.record.length > 0) {
      this.endField();
      out.push(this.record);
      this.record = [];
    }
  }
}
