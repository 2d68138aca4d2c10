// The object store's column types <-> canonical types.
//
// The native type names are Parquet's logical types ("INT64", "DECIMAL(12,2)",
// "TIMESTAMP(MICROS,UTC)", "LIST<STRING>"), and they mean the same in every format: Parquet
// stores them as the physical and logical types listed here; NDJSON and CSV write each
// canonical type with the text encoding documented in codec-text.ts.
import { FerryError } from '../../core/errors.js';
import type { CanonicalType } from '../../core/types.js';
import { formatType, parseType } from '../../core/types.js';

export type Physical = 'BOOLEAN' | 'INT32' | 'INT64' | 'FLOAT' | 'DOUBLE' | 'BYTE_ARRAY' | 'FIXED_LEN_BYTE_ARRAY';
export type TimeUnit = 'MILLIS' | 'MICROS';

export type Logical =
  | { type: 'INTEGER'; bits: 8 | 16 | 32 | 64; signed: boolean }
  | { type: 'DECIMAL'; precision: number; scale: number }
  | { type: 'STRING' | 'ENUM' | 'JSON' | 'UUID' | 'DATE' }
  | { type: 'TIME' | 'TIMESTAMP'; unit: TimeUnit; utc: boolean };

/** How one leaf column is stored in Parquet. */
export interface Leaf {
  physical: Physical;
  typeLength?: number;
  logical?: Logical;
}

/** A column's layout: a leaf, or a list (Parquet's three-level LIST) of a layout. */
export type Shape = { leaf: Leaf } | { list: Shape };

interface TypeMapEntry {
  /** native name; the lower-case letters p, s, n stand for numbers */
  native: string;
  /** canonical text form, with the same placeholders */
  canonical: string;
  /** physical and logical Parquet type (DECIMAL's physical type depends on its precision) */
  leaf?: Leaf;
  /** the native type of a canonical type that has no exact equivalent (never read back as it) */
  createOnly?: true;
  /** what a createOnly entry loses or changes */
  note?: string;
}

const int = (physical: 'INT32' | 'INT64', bits: 8 | 16 | 32 | 64, signed: boolean): Leaf => ({
  physical,
  logical: { type: 'INTEGER', bits, signed },
});
const text = (type: 'STRING' | 'ENUM' | 'JSON'): Leaf => ({ physical: 'BYTE_ARRAY', logical: { type } });
const time = (type: 'TIME' | 'TIMESTAMP', unit: TimeUnit, utc: boolean): Leaf => ({
  physical: unit === 'MILLIS' && type === 'TIME' ? 'INT32' : 'INT64',
  logical: { type, unit, utc },
});

export const TYPE_MAP: TypeMapEntry[] = [
  { native: 'BOOLEAN', canonical: 'bool', leaf: { physical: 'BOOLEAN' } },
  { native: 'INT8', canonical: 'int8', leaf: int('INT32', 8, true) },
  { native: 'INT16', canonical: 'int16', leaf: int('INT32', 16, true) },
  { native: 'INT32', canonical: 'int32', leaf: int('INT32', 32, true) },
  { native: 'INT64', canonical: 'int64', leaf: int('INT64', 64, true) },
  { native: 'UINT8', canonical: 'uint8', leaf: int('INT32', 8, false) },
  { native: 'UINT16', canonical: 'uint16', leaf: int('INT32', 16, false) },
  { native: 'UINT32', canonical: 'uint32', leaf: int('INT32', 32, false) },
  { native: 'UINT64', canonical: 'uint64', leaf: int('INT64', 64, false) },
  { native: 'YEAR', canonical: 'year', leaf: int('INT32', 16, true) },
  { native: 'FLOAT', canonical: 'float32', leaf: { physical: 'FLOAT' } },
  { native: 'DOUBLE', canonical: 'float64', leaf: { physical: 'DOUBLE' } },
  { native: 'DECIMAL(p,s)', canonical: 'decimal(p,s)' },
  { native: 'STRING', canonical: 'text', leaf: text('STRING') },
  { native: 'JSON', canonical: 'json', leaf: text('JSON') },
  {
    native: 'UUID',
    canonical: 'uuid',
    leaf: { physical: 'FIXED_LEN_BYTE_ARRAY', typeLength: 16, logical: { type: 'UUID' } },
  },
  { native: 'BINARY', canonical: 'bytes', leaf: { physical: 'BYTE_ARRAY' } },
  { native: 'DATE', canonical: 'date', leaf: { physical: 'INT32', logical: { type: 'DATE' } } },
  { native: 'TIME(MILLIS)', canonical: 'time(3)', leaf: time('TIME', 'MILLIS', false) },
  { native: 'TIME(MICROS)', canonical: 'time(6)', leaf: time('TIME', 'MICROS', false) },
  { native: 'TIMESTAMP(MILLIS)', canonical: 'timestamp(3)', leaf: time('TIMESTAMP', 'MILLIS', false) },
  { native: 'TIMESTAMP(MICROS)', canonical: 'timestamp(6)', leaf: time('TIMESTAMP', 'MICROS', false) },
  { native: 'TIMESTAMP(MILLIS,UTC)', canonical: 'timestamptz(3)', leaf: time('TIMESTAMP', 'MILLIS', true) },
  { native: 'TIMESTAMP(MICROS,UTC)', canonical: 'timestamptz(6)', leaf: time('TIMESTAMP', 'MICROS', true) },
  // bit strings travel as their text of 0s and 1s
  { native: 'BIT(n)', canonical: 'bit(n)', leaf: text('STRING') },
  { native: 'VARBIT(n)', canonical: 'varbit(n)', leaf: text('STRING') },

  // canonical types with no exact equivalent: the nearest type that holds every value
  { native: 'INT32', canonical: 'int24', createOnly: true },
  { native: 'UINT32', canonical: 'uint24', createOnly: true },
  { native: 'STRING', canonical: 'varchar(n)', createOnly: true },
  { native: 'STRING', canonical: 'char(n)', createOnly: true },
  { native: 'BINARY', canonical: 'varbinary(n)', createOnly: true },
  { native: 'BINARY', canonical: 'binary(n)', createOnly: true },
  { native: 'JSON', canonical: 'jsonb', createOnly: true },
  { native: 'TIME(MICROS)', canonical: 'time(p)', createOnly: true },
  { native: 'TIMESTAMP(MICROS)', canonical: 'timestamp(p)', createOnly: true },
  { native: 'TIMESTAMP(MICROS,UTC)', canonical: 'timestamptz(p)', createOnly: true },
  {
    native: 'STRING',
    canonical: 'timetz(p)',
    createOnly: true,
    note: 'kept as text with its UTC offset (Parquet has no time with a time zone)',
  },
  {
    native: 'STRING',
    canonical: 'interval',
    createOnly: true,
    note: 'kept as text (Parquet INTERVAL has no microseconds)',
  },
  {
    native: 'STRING',
    canonical: 'decimal',
    createOnly: true,
    note: 'a decimal without precision is kept exactly, as text',
  },
  {
    native: 'BINARY',
    canonical: 'geometry',
    createOnly: true,
    note: "stored as WKB (PostGIS's EWKB, with the SRID); make the type STRING in the plan for WKT",
  },
];

/** Parquet's largest decimal that common readers (DuckDB, Spark, Athena) take. */
export const MAX_READABLE_DECIMAL_PRECISION = 38;

const PLACEHOLDER = /[nps]/g;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const withGroups = (s: string) => escapeRe(s).replace(PLACEHOLDER, (c) => `(?<${c}>\\d+)`);

/** Looks for placeholders only inside the parentheses, so "timestamp" keeps its letters. */
function patternRe(pattern: string): RegExp {
  const open = pattern.indexOf('(');
  return open < 0
    ? new RegExp(`^${escapeRe(pattern)}$`)
    : new RegExp(`^${escapeRe(pattern.slice(0, open))}${withGroups(pattern.slice(open))}$`);
}

function fill(template: string, groups: Record<string, string>): string {
  const open = template.indexOf('(');
  return open < 0
    ? template
    : template.slice(0, open) + template.slice(open).replace(PLACEHOLDER, (c) => groups[c] ?? c);
}

const compiled = TYPE_MAP.map((e) => ({ ...e, nativeRe: patternRe(e.native), canonicalRe: patternRe(e.canonical) }));

/** Bytes of the smallest two's complement integer that holds every unscaled value of `precision` digits. */
function decimalBytes(precision: number): number {
  let bytes = 1;
  while (2n ** BigInt(8 * bytes - 1) <= 10n ** BigInt(precision)) bytes++;
  return bytes;
}

/** DECIMAL is INT32 up to 9 digits, INT64 up to 18, a fixed-length byte array past that. */
export function decimalLeaf(precision: number, scale: number): Leaf {
  const logical: Logical = { type: 'DECIMAL', precision, scale };
  if (precision <= 9) return { physical: 'INT32', logical };
  if (precision <= 18) return { physical: 'INT64', logical };
  return { physical: 'FIXED_LEN_BYTE_ARRAY', typeLength: decimalBytes(precision), logical };
}

function quotedList(values: string[]): string {
  return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
}

export interface NativeType {
  canonical: CanonicalType;
  shape: Shape;
}

const badNative = (native: string) =>
  new FerryError(
    'PLAN_INVALID',
    `unknown object store column type "${native}"`,
    "use BOOLEAN, INT8..INT64, UINT8..UINT64, YEAR, FLOAT, DOUBLE, DECIMAL(p,s), STRING, JSON, UUID, BINARY, DATE, TIME(MILLIS|MICROS), TIMESTAMP(MILLIS|MICROS[,UTC]), BIT(n), VARBIT(n), ENUM('a',…), SET('a',…) or LIST<type>",
  );

/** The canonical type and storage layout of a native type as written in a plan. */
export function parseNative(native: string): NativeType {
  const n = native.trim().replace(/\s*([(),<>])\s*/g, '$1');
  const upper = n.replace(/^[A-Za-z]+/, (w) => w.toUpperCase());
  let m = /^LIST<(.+)>$/s.exec(upper);
  if (m) {
    const inner = parseNative(m[1]!);
    return { canonical: { kind: 'array', element: inner.canonical }, shape: { list: inner.shape } };
  }
  m = /^(ENUM|SET)\((.*)\)$/s.exec(upper);
  if (m) {
    let canonical: CanonicalType;
    try {
      canonical = parseType(`${m[1]!.toLowerCase()}(${m[2]})`);
    } catch {
      throw badNative(native);
    }
    const leaf = m[1] === 'ENUM' ? text('ENUM') : text('STRING');
    return { canonical, shape: m[1] === 'ENUM' ? { leaf } : { list: { leaf } } };
  }
  const key = upper.toUpperCase();
  for (const e of compiled) {
    if (e.createOnly) continue;
    const hit = e.nativeRe.exec(key);
    if (!hit) continue;
    const canonical = parseType(fill(e.canonical, hit.groups ?? {}));
    if (canonical.kind === 'decimal') {
      if (canonical.precision! < 1 || canonical.scale! > canonical.precision!) throw badNative(native);
      return { canonical, shape: { leaf: decimalLeaf(canonical.precision!, canonical.scale!) } };
    }
    return { canonical, shape: { leaf: e.leaf! } };
  }
  throw badNative(native);
}

export function canonicalType(native: string): CanonicalType {
  return parseNative(native).canonical;
}

/** The native type ferry writes for a canonical type, and what it loses, if anything. */
export function nativeType(t: CanonicalType, timestampUnit: TimeUnit = 'MICROS'): { native: string; note?: string } {
  switch (t.kind) {
    case 'enum':
      return { native: `ENUM(${quotedList(t.values)})` };
    case 'set':
      return { native: `SET(${quotedList(t.values)})` };
    case 'array': {
      const inner = nativeType(t.element, timestampUnit);
      return { native: `LIST<${inner.native}>`, note: inner.note && `elements ${inner.note}` };
    }
    case 'decimal':
      if (t.precision !== undefined && t.precision > MAX_READABLE_DECIMAL_PRECISION)
        return {
          native: 'STRING',
          note: `decimals of more than ${MAX_READABLE_DECIMAL_PRECISION} digits are kept exactly, as text (readers take Parquet decimals up to ${MAX_READABLE_DECIMAL_PRECISION} digits)`,
        };
      break;
    case 'timestamp':
      if (timestampUnit === 'MILLIS')
        return {
          native: `TIMESTAMP(MILLIS${t.tz ? ',UTC' : ''})`,
          note:
            t.precision > 3
              ? 'milliseconds (target.options.timestampUnit): values with finer fractions of a second are refused'
              : undefined,
        };
      break;
  }
  const text = formatType(t);
  for (const e of compiled) {
    const hit = e.canonicalRe.exec(text);
    if (hit) return { native: fill(e.native, hit.groups ?? {}), note: e.note };
  }
  throw new FerryError('INTERNAL', `the object store type map has no native type for ${text}`, 'report this as a bug');
}
