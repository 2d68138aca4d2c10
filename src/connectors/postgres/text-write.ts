// Canonical values as PostgreSQL's text input: for SQL literals (key range bounds) and for
// COPY's text format, used for tables with columns the binary encoders do not know
// (tsvector, inet, point, … written from their text).
import type { CanonicalType } from '../../core/types.js';

/** The text PostgreSQL's input function reads as the value (before any quoting or escaping). */
export type TextForm = (v: unknown) => string;

/** Astronomical years (0 and below) become PostgreSQL's "BC" years: -0043-03-15 is 0044-03-15 BC. */
function bcDate(s: string): string {
  if (s.charCodeAt(0) !== 45 && !s.startsWith('0000')) return s;
  const m = /^(-?)(\d+)(.*)$/s.exec(s);
  if (!m) return s;
  const year = (m[1] ? Number(m[2]) : 0) + 1;
  return `${String(year).padStart(4, '0')}${m[3]!.replace(/Z$/, '+00')} BC`;
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function floatText(v: unknown): string {
  const n = typeof v === 'number' ? v : Number(v);
  return Object.is(n, -0) ? '-0' : String(n);
}

function quoteElement(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
}

function arrayLiteral(element: TextForm): TextForm {
  const literal = (v: unknown): string => {
    const items = (v as unknown[]).map((e) =>
      e === null || e === undefined ? 'NULL' : Array.isArray(e) ? literal(e) : quoteElement(element(e)),
    );
    return `{${items.join(',')}}`;
  };
  return literal;
}

export function textForm(t: CanonicalType): TextForm {
  switch (t.kind) {
    case 'float':
      return floatText;
    case 'bool':
      return (v) => (v ? 't' : 'f');
    case 'bytes':
      return (v) => `\\x${hexOf(v as Uint8Array)}`;
    case 'geometry':
      // PostGIS reads EWKB as hex digits
      return (v) => hexOf(v as Uint8Array);
    case 'date':
    case 'timestamp':
      return (v) => bcDate(String(v));
    case 'set':
      return arrayLiteral(String);
    case 'array':
      return arrayLiteral(textForm(t.element));
    default:
      return String;
  }
}

/** A SQL string literal (standard_conforming_strings is on for every ferry session). */
export function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function copyEscape(s: string): string {
  return COPY_SPECIAL.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : s;
}

/** Numbers and booleans never hold a character COPY escapes. */
function plain(t: CanonicalType): boolean {
  return t.kind === 'int' || t.kind === 'year' || t.kind === 'decimal' || t.kind === 'float' || t.kind === 'bool';
}

/** Rows in COPY's text format: tab-separated, NULL as \N, special characters escaped. */
export function copyTextEncoder(types: CanonicalType[]): (rows: unknown[][]) => string {
  const forms = types.map(textForm);
  const escaped = types.map((t, i) => (plain(t) ? forms[i]! : (v: unknown) => copyEscape(forms[i]!(v))));
  const n = types.length;
  return (rows) => {
    let out = '';
    for (const row of rows) {
      for (let i = 0; i < n; i++) {
        const v = row[i];
        out += v === null || v === undefined ? '\\N' : escaped[i]!(v);
        out += i === n - 1 ? '\n' : '\t';
      }
    }
    return out;
  };
}
