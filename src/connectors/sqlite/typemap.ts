// SQLite declared types <-> canonical types.
//
// SQLite stores any value in any column; a declared type only gives its column an affinity
// (https://www.sqlite.org/datatype3.html section 3.1), and affinity converts some values on
// the way in: numeric-looking text becomes a number ('1.50' -> 1.5), a REAL column turns -0
// into 0, an integer past int64 becomes a lossy REAL. The names ferry creates are chosen so
// that the affinity keeps every canonical value exactly:
//   TEXT affinity (CHAR/CLOB/TEXT in the name, and no INT) for decimals with a fraction or
//     past 18 digits, json, enums, bits (whole decimals of up to 18 digits are NUMERIC(p):
//     exact as integers, and they sort as numbers);
//   BLOB affinity (BLOB in the name, and no INT/CHAR/CLOB/TEXT) for uint64 (values past int64
//     stored as 20-digit text, so they still sort after every integer) and floats (-0 kept;
//     NaN, which SQLite would turn into NULL, stored as the text 'NaN');
//   INTEGER affinity for the other integers; dates, times, uuids, sets and arrays are text
//     that never looks numeric, so any affinity keeps them.
import { FerryError } from '../../core/errors.js';
import type { CanonicalType } from '../../core/types.js';
import { formatType, parseType } from '../../core/types.js';

// every whole number of this many digits fits a 64-bit integer
const MAX_INTEGER_DIGITS = 18;

export type Affinity = 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC';

/** SQLite's affinity rules, in their order. */
export function affinity(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t.includes('BLOB') || t.trim() === '') return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

interface TypeMapEntry {
  /** declared type, upper case; the lower-case letters n, p, s stand for numbers */
  native: string;
  /** canonical text form, with the same placeholders in its parentheses */
  canonical: string;
  /** ferry creates this native type for the canonical type (the first such entry wins) */
  create?: true;
}

export const TYPE_MAP: TypeMapEntry[] = [
  { native: 'INTEGER', canonical: 'int64', create: true },
  { native: 'INT', canonical: 'int64' },
  { native: 'BIGINT', canonical: 'int64' },
  { native: 'INT8', canonical: 'int64' },
  { native: 'BIGSERIAL', canonical: 'int64' },
  { native: 'TINYINT', canonical: 'int8', create: true },
  { native: 'TINYINT UNSIGNED', canonical: 'uint8', create: true },
  { native: 'SMALLINT', canonical: 'int16', create: true },
  { native: 'INT2', canonical: 'int16' },
  { native: 'SMALLINT UNSIGNED', canonical: 'uint16', create: true },
  { native: 'MEDIUMINT', canonical: 'int24', create: true },
  { native: 'MEDIUMINT UNSIGNED', canonical: 'uint24', create: true },
  { native: 'INT32', canonical: 'int32', create: true },
  { native: 'INT4', canonical: 'int32' },
  { native: 'SERIAL', canonical: 'int32' },
  { native: 'INT32 UNSIGNED', canonical: 'uint32', create: true },
  { native: 'INT UNSIGNED', canonical: 'uint32' },
  { native: 'INTEGER UNSIGNED', canonical: 'uint32' },
  { native: 'UNSIGNED64_BLOB', canonical: 'uint64', create: true },
  { native: 'BIGINT UNSIGNED', canonical: 'uint64' },
  { native: 'UNSIGNED BIG INT', canonical: 'uint64' },
  { native: 'BOOLEAN', canonical: 'bool', create: true },
  { native: 'BOOL', canonical: 'bool' },

  { native: 'DECIMAL_TEXT(p,s)', canonical: 'decimal(p,s)', create: true },
  { native: 'DECIMAL_TEXT', canonical: 'decimal', create: true },
  { native: 'DECIMAL(p,s)', canonical: 'decimal(p,s)' },
  { native: 'NUMERIC(p,s)', canonical: 'decimal(p,s)' },
  { native: 'DECIMAL(p)', canonical: 'decimal(p,0)' },
  { native: 'NUMERIC(p)', canonical: 'decimal(p,0)' },
  { native: 'DECIMAL', canonical: 'decimal' },
  { native: 'NUMERIC', canonical: 'decimal' },

  // SQLite keeps every real as 8 bytes, so FLOAT, FLOAT4 and REAL columns hold float64 values
  { native: 'FLOAT64_BLOB', canonical: 'float64', create: true },
  { native: 'FLOAT32_BLOB', canonical: 'float32', create: true },
  { native: 'REAL', canonical: 'float64' },
  { native: 'DOUBLE', canonical: 'float64' },
  { native: 'DOUBLE PRECISION', canonical: 'float64' },
  { native: 'FLOAT', canonical: 'float64' },
  { native: 'FLOAT(n)', canonical: 'float64' },
  { native: 'FLOAT4', canonical: 'float64' },
  { native: 'FLOAT8', canonical: 'float64' },

  { native: 'TEXT', canonical: 'text', create: true },
  { native: 'VARCHAR(n)', canonical: 'varchar(n)', create: true },
  { native: 'NVARCHAR(n)', canonical: 'varchar(n)' },
  { native: 'VARYING CHARACTER(n)', canonical: 'varchar(n)' },
  { native: 'CHARACTER VARYING(n)', canonical: 'varchar(n)' },
  { native: 'CHAR(n)', canonical: 'char(n)', create: true },
  { native: 'NCHAR(n)', canonical: 'char(n)' },
  { native: 'CHARACTER(n)', canonical: 'char(n)' },
  { native: 'NATIVE CHARACTER(n)', canonical: 'char(n)' },
  // NUMERIC affinity by SQLite's rules, but always meant as text
  { native: 'STRING', canonical: 'text' },

  { native: 'BLOB', canonical: 'bytes', create: true },
  { native: '', canonical: 'bytes' },
  { native: 'BYTEA', canonical: 'bytes' },
  { native: 'BINARY(n)', canonical: 'binary(n)', create: true },
  { native: 'VARBINARY(n)', canonical: 'varbinary(n)', create: true },

  { native: 'DATE', canonical: 'date', create: true },
  { native: 'TIME', canonical: 'time(6)', create: true },
  { native: 'TIME(p)', canonical: 'time(p)', create: true },
  { native: 'TIMETZ', canonical: 'timetz(6)', create: true },
  { native: 'TIMETZ(p)', canonical: 'timetz(p)', create: true },
  { native: 'DATETIME', canonical: 'timestamp(6)', create: true },
  { native: 'DATETIME(p)', canonical: 'timestamp(p)', create: true },
  { native: 'TIMESTAMP', canonical: 'timestamp(6)' },
  { native: 'TIMESTAMP(p)', canonical: 'timestamp(p)' },
  { native: 'TIMESTAMP WITHOUT TIME ZONE', canonical: 'timestamp(6)' },
  { native: 'TIMESTAMPTZ', canonical: 'timestamptz(6)', create: true },
  { native: 'TIMESTAMPTZ(p)', canonical: 'timestamptz(p)', create: true },
  { native: 'TIMESTAMP WITH TIME ZONE', canonical: 'timestamptz(6)' },
  { native: 'TIMESTAMP(p) WITH TIME ZONE', canonical: 'timestamptz(p)' },
  { native: 'YEAR', canonical: 'year', create: true },
  { native: 'INTERVAL', canonical: 'interval', create: true },
  // EWKB in a blob (BLOB affinity)
  { native: 'GEOMETRY_BLOB', canonical: 'geometry', create: true },

  { native: 'JSON_TEXT', canonical: 'json', create: true },
  { native: 'JSONB_TEXT', canonical: 'jsonb', create: true },
  { native: 'JSON', canonical: 'json' },
  { native: 'JSONB', canonical: 'jsonb' },
  { native: 'UUID', canonical: 'uuid', create: true },
  { native: 'GUID', canonical: 'uuid' },
  { native: 'UNIQUEIDENTIFIER', canonical: 'uuid' },
  { native: 'BIT_TEXT(n)', canonical: 'bit(n)', create: true },
  { native: 'VARBIT_TEXT(n)', canonical: 'varbit(n)', create: true },
  { native: 'BIT(n)', canonical: 'bit(n)' },
  { native: 'VARBIT(n)', canonical: 'varbit(n)' },
];

const PLACEHOLDER = /[nps]/g;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const withGroups = (s: string) => escapeRe(s).replace(PLACEHOLDER, (c) => `(?<${c}>\\d+)`);

/** Splits "name(args)" so that placeholders are looked for only in the arguments. */
function canonicalRe(canonical: string): RegExp {
  const open = canonical.indexOf('(');
  return open < 0
    ? new RegExp(`^${escapeRe(canonical)}$`)
    : new RegExp(`^${escapeRe(canonical.slice(0, open))}${withGroups(canonical.slice(open))}$`);
}

function fill(template: string, groups: Record<string, string>, argsOnly: boolean): string {
  const open = argsOnly ? template.indexOf('(') : 0;
  if (open < 0) return template;
  return template.slice(0, open) + template.slice(open).replace(PLACEHOLDER, (c) => groups[c] ?? c);
}

const compiled = TYPE_MAP.map((e) => ({
  ...e,
  nativeRe: new RegExp(`^${withGroups(e.native)}$`),
  canonicalRe: canonicalRe(e.canonical),
}));

/** Upper case, single spaces, no spaces around parentheses, no integer display widths or ZEROFILL. */
function normalise(native: string): string {
  return native
    .trim()
    .toUpperCase()
    .replace(/\s+/g, ' ')
    .replace(/\s*\(\s*/g, '(')
    .replace(/\s*,\s*/g, ',')
    .replace(/\s*\)/g, ')')
    .replace(/ ZEROFILL\b/, '')
    .replace(/^(TINYINT|SMALLINT|MEDIUMINT|INT|INTEGER|BIGINT)\(\d+\)/, '$1');
}

// Enum values live in the declared name, which must keep TEXT affinity: any "INT" in it
// (a value like 'print') would give the column INTEGER affinity, so an "i" before "nt" and
// the escape character itself are written as \xHH.
const escapeValues = (list: string) =>
  list.replace(/\\/g, '\\x5c').replace(/i(?=nt)/gi, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
const unescapeValues = (list: string) =>
  list.replace(/\\x([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));

/** Declared names that carry a canonical value list or element type. */
function nameWithValues(native: string): CanonicalType | undefined {
  let m = /^ENUM(_TEXT)?\s*(\(.*\))$/is.exec(native);
  if (m) return parseType(`enum${m[1] ? unescapeValues(m[2]!) : m[2]!}`);
  m = /^SET(_JSON)?\s*(\(.*\))$/is.exec(native);
  if (m) return parseType(`set${m[2]!}`);
  m = /^ARRAY_JSON\s*<(.*)>$/is.exec(native);
  if (m) return { kind: 'array', element: parseType(m[1]!) };
  return undefined;
}

const BY_AFFINITY: Record<Affinity, CanonicalType> = {
  INTEGER: { kind: 'int', bits: 64, unsigned: false },
  TEXT: { kind: 'string' },
  BLOB: { kind: 'bytes' },
  REAL: { kind: 'float', bits: 64 },
  NUMERIC: { kind: 'decimal' },
};

/** The canonical type of a declared type; every declared type has one (by affinity at worst). */
export function canonicalType(native: string): CanonicalType {
  const trimmed = native.trim();
  try {
    const listed = nameWithValues(trimmed);
    if (listed) return listed;
  } catch {
    // a value list or element type that does not parse: the name is an ordinary one
  }
  const n = normalise(trimmed);
  for (const e of compiled) {
    const m = e.nativeRe.exec(n);
    if (m) return parseType(fill(e.canonical, m.groups ?? {}, true));
  }
  return BY_AFFINITY[affinity(n)];
}

/** The declared type ferry creates for a canonical type. */
export function nativeType(t: CanonicalType): string {
  const text = formatType(t);
  switch (t.kind) {
    case 'decimal':
      // whole numbers of up to 18 digits are exact as SQLite integers, which sort as numbers
      if (t.scale === 0 && t.precision !== undefined && t.precision <= MAX_INTEGER_DIGITS)
        return `NUMERIC(${t.precision})`;
      break;
    case 'enum':
      return `ENUM_TEXT${escapeValues(text.slice('enum'.length))}`;
    case 'set':
      return `SET_JSON${text.slice('set'.length)}`;
    case 'array':
      return `ARRAY_JSON<${formatType(t.element)}>`;
  }
  for (const e of compiled) {
    if (!e.create) continue;
    const m = e.canonicalRe.exec(text);
    if (m) return fill(e.native, m.groups ?? {}, false);
  }
  throw new FerryError('INTERNAL', `the SQLite type map has no native type for ${text}`, 'report this as a bug');
}

/** Why values of canonical type `t` do not survive a column of affinity `a`, or undefined. */
export function affinityLoss(t: CanonicalType, a: Affinity): string | undefined {
  switch (t.kind) {
    case 'int':
    case 'year':
    case 'bool':
      if (t.kind === 'int' && t.bits === 64 && t.unsigned)
        return a === 'BLOB' || a === 'TEXT'
          ? undefined
          : 'values past 9223372036854775807 become inexact floating point numbers';
      return a === 'REAL' || a === 'TEXT'
        ? `integers are stored as ${a === 'REAL' ? 'floating point numbers' : 'text'}`
        : undefined;
    case 'decimal':
      if (a === 'TEXT' || a === 'BLOB') return undefined;
      if (
        (a === 'INTEGER' || a === 'NUMERIC') &&
        t.scale === 0 &&
        t.precision !== undefined &&
        t.precision <= MAX_INTEGER_DIGITS
      )
        return undefined;
      return 'decimals become floating point numbers with about 15 significant digits, and trailing zeros are lost';
    case 'float':
      return a === 'BLOB'
        ? undefined
        : a === 'TEXT'
          ? 'floating point numbers are stored as text'
          : '-0 is stored as 0';
    case 'string':
    case 'enum':
    case 'json':
    case 'bit':
    case 'interval':
      return a === 'TEXT' || a === 'BLOB'
        ? undefined
        : "text that looks like a number is stored as a number ('007' becomes 7)";
    default:
      return undefined;
  }
}
