// PostgreSQL native types <-> canonical types. The map is data: one table of entries, read
// in both directions, plus a few overrides (value lists, arrays, types the table cannot list).
import type { NativeTypeChoice } from '../../core/contracts.js';
import type { CanonicalType } from '../../core/types.js';
import { formatType, parseType } from '../../core/types.js';

/**
 * One row of the map. `canonical` and `native` are text forms in which $1 and $2 stand for
 * the type's modifiers. `aliases` are other spellings PostgreSQL accepts or reports for the
 * same type. A row with `note` is only read canonical -> native (the native type is wider or
 * drops a property, so it does not read back as the same canonical type); a row with
 * `readOnly` is only read native -> canonical.
 */
interface TypeMapEntry {
  canonical: string;
  native: string;
  aliases?: string[];
  note?: string;
  readOnly?: boolean;
}

export const TYPE_MAP: TypeMapEntry[] = [
  { canonical: 'int16', native: 'smallint', aliases: ['int2', 'smallserial', 'serial2'] },
  { canonical: 'int32', native: 'integer', aliases: ['int', 'int4', 'serial', 'serial4'] },
  { canonical: 'int64', native: 'bigint', aliases: ['int8', 'bigserial', 'serial8'] },
  {
    canonical: 'int8',
    native: 'smallint',
    note: 'PostgreSQL has no 1-byte integer; stored as smallint (every value fits)',
  },
  {
    canonical: 'uint8',
    native: 'smallint',
    note: 'PostgreSQL has no unsigned integers; stored as smallint (every value fits)',
  },
  {
    canonical: 'uint16',
    native: 'integer',
    note: 'PostgreSQL has no unsigned integers; stored as integer (every value fits)',
  },
  {
    canonical: 'int24',
    native: 'integer',
    note: 'PostgreSQL has no 3-byte integer; stored as integer (every value fits)',
  },
  {
    canonical: 'uint24',
    native: 'integer',
    note: 'PostgreSQL has no unsigned integers; stored as integer (every value fits)',
  },
  {
    canonical: 'uint32',
    native: 'bigint',
    note: 'PostgreSQL has no unsigned integers; stored as bigint (every value fits)',
  },
  {
    canonical: 'uint64',
    native: 'numeric(20,0)',
    note: 'PostgreSQL has no unsigned 64-bit integer; stored as numeric(20,0) (every value fits, read back as decimal)',
  },
  { canonical: 'year', native: 'smallint', note: 'PostgreSQL has no year type; stored as smallint' },
  { canonical: 'decimal($1,$2)', native: 'numeric($1,$2)', aliases: ['decimal($1,$2)'] },
  { canonical: 'decimal($1,0)', native: 'numeric($1)', aliases: ['decimal($1)'], readOnly: true },
  { canonical: 'decimal', native: 'numeric', aliases: ['decimal'] },
  { canonical: 'float32', native: 'real', aliases: ['float4'] },
  { canonical: 'float64', native: 'double precision', aliases: ['float8', 'float'] },
  { canonical: 'bool', native: 'boolean', aliases: ['bool'] },
  { canonical: 'char($1)', native: 'char($1)', aliases: ['character($1)', 'bpchar($1)'] },
  { canonical: 'char(1)', native: 'char', aliases: ['character'], readOnly: true },
  { canonical: 'varchar($1)', native: 'varchar($1)', aliases: ['character varying($1)'] },
  { canonical: 'text', native: 'text', aliases: ['varchar', 'character varying', 'bpchar', 'name'] },
  { canonical: 'bytes', native: 'bytea' },
  {
    canonical: 'binary($1)',
    native: 'bytea',
    note: 'PostgreSQL bytea has no fixed length; the length is not enforced',
  },
  {
    canonical: 'varbinary($1)',
    native: 'bytea',
    note: 'PostgreSQL bytea has no length limit; the limit is not enforced',
  },
  { canonical: 'date', native: 'date' },
  { canonical: 'time($1)', native: 'time($1)', aliases: ['time($1) without time zone'] },
  { canonical: 'time(6)', native: 'time', aliases: ['time without time zone'], readOnly: true },
  { canonical: 'timetz($1)', native: 'timetz($1)', aliases: ['time($1) with time zone'] },
  { canonical: 'timetz(6)', native: 'timetz', aliases: ['time with time zone'], readOnly: true },
  { canonical: 'timestamp($1)', native: 'timestamp($1)', aliases: ['timestamp($1) without time zone'] },
  { canonical: 'timestamp(6)', native: 'timestamp', aliases: ['timestamp without time zone'], readOnly: true },
  { canonical: 'timestamptz($1)', native: 'timestamptz($1)', aliases: ['timestamp($1) with time zone'] },
  { canonical: 'timestamptz(6)', native: 'timestamptz', aliases: ['timestamp with time zone'], readOnly: true },
  { canonical: 'interval', native: 'interval' },
  { canonical: 'json', native: 'json' },
  { canonical: 'jsonb', native: 'jsonb' },
  { canonical: 'uuid', native: 'uuid' },
  { canonical: 'bit($1)', native: 'bit($1)' },
  { canonical: 'bit(1)', native: 'bit', readOnly: true },
  { canonical: 'varbit($1)', native: 'varbit($1)', aliases: ['bit varying($1)'] },
  // PostGIS's; a column's shape and SRID (geometry(Point,4326)) are not kept: each value has its own SRID
  { canonical: 'geometry', native: 'geometry' },
];

/** PostgreSQL's limits on type modifiers. */
const MAX_NUMERIC_PRECISION = 1000;
const MAX_TIME_PRECISION = 6;

interface CompiledEntry {
  entry: TypeMapEntry;
  canonical: RegExp;
  natives: RegExp[];
}

function templateRegex(template: string): RegExp {
  const escaped = template.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\$([12])/g, '(\\d+)');
  return new RegExp(`^${escaped}$`);
}

const COMPILED: CompiledEntry[] = TYPE_MAP.map((entry) => ({
  entry,
  canonical: templateRegex(entry.canonical),
  natives: [entry.native, ...(entry.aliases ?? [])].map(templateRegex),
}));

function fill(template: string, args: string[]): string {
  return template.replace(/\$([12])/g, (_m, i: string) => args[Number(i) - 1] ?? '0');
}

function quoteLabels(values: string[]): string {
  return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
}

/** The native text of an enum: prepare() creates it as a PostgreSQL enum type named after the column. */
export function enumNative(labels: string[]): string {
  return `enum(${quoteLabels(labels)})`;
}

/** The native type ferry creates for a canonical type. */
export function nativeType(t: CanonicalType): NativeTypeChoice {
  switch (t.kind) {
    case 'enum':
      return { native: enumNative(t.values) };
    case 'set':
      return {
        native: 'text[]',
        note: 'PostgreSQL has no set type; stored as a text array (the allowed values are not enforced)',
      };
    case 'array': {
      if (t.element.kind === 'array') {
        const inner = nativeType(t.element);
        return {
          native: inner.native,
          note: `PostgreSQL arrays do not fix their number of dimensions; stored as ${inner.native}${inner.note ? ` (${inner.note})` : ''}`,
        };
      }
      const element = nativeType(t.element);
      return { native: `${element.native}[]`, ...(element.note ? { note: element.note } : {}) };
    }
    case 'decimal':
      if (t.precision !== undefined && t.precision > MAX_NUMERIC_PRECISION)
        return {
          native: 'numeric',
          note: `PostgreSQL numeric precision is at most ${MAX_NUMERIC_PRECISION}; stored as unconstrained numeric`,
        };
      break;
    case 'time':
    case 'timestamp':
      if (t.precision > MAX_TIME_PRECISION)
        return {
          ...nativeType({ ...t, precision: MAX_TIME_PRECISION }),
          note: 'PostgreSQL keeps at most microseconds; finer fractions are rounded',
        };
      break;
  }
  const text = formatType(t);
  for (const c of COMPILED) {
    if (c.entry.readOnly) continue;
    const m = c.canonical.exec(text);
    if (m) return { native: fill(c.entry.native, m.slice(1)), ...(c.entry.note ? { note: c.entry.note } : {}) };
  }
  // every canonical kind has a row above; this is reached only for a type added to core without one
  return { native: 'text', note: `no PostgreSQL type for ${text}; stored as text` };
}

export interface NativeInfo {
  type: CanonicalType;
  /** false when the native type is not in the map and its values travel as their text output */
  known: boolean;
}

/** Lower case, single spaces, no spaces around parentheses and commas, outer quotes of a name removed. */
function normalize(native: string): string {
  return native
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),])\s*/g, '$1')
    .replace(/\)(?=[a-z])/g, ') ')
    .replace(/^"([^"]+)"$/, '$1')
    .replace(/^pg_catalog\./, '');
}

/** Parses a native type as written in a plan or reported by introspection. */
export function describeNative(native: string): NativeInfo {
  const trimmed = native.trim();
  // the value list keeps its case
  const list = /^enum\s*\((.*)\)$/is.exec(trimmed);
  if (list) return { type: parseType(`enum(${list[1]!.trim()})`), known: true };
  const array = /^(.*?)\s*((?:\[\d*\])+)$/s.exec(trimmed) ?? /^(.*?)\s+array(?:\[\d*\])?$/is.exec(trimmed);
  if (array) {
    const element = describeNative(array[1]!);
    return { type: { kind: 'array', element: element.type }, known: element.known };
  }
  const n = normalize(trimmed);
  if (/^interval\b/.test(n)) return { type: { kind: 'interval' }, known: true };
  if (/^(\w+\.)?geometry\b/.test(n)) return { type: { kind: 'geometry' }, known: true };
  const float = /^float\((\d+)\)$/.exec(n);
  if (float) return { type: { kind: 'float', bits: Number(float[1]) <= 24 ? 32 : 64 }, known: true };
  for (const c of COMPILED) {
    if (c.entry.note) continue;
    for (const re of c.natives) {
      const m = re.exec(n);
      if (m) {
        const args = m
          .slice(1)
          .map((a) => (c.entry.canonical.startsWith('time') ? String(Math.min(Number(a), MAX_TIME_PRECISION)) : a));
        return { type: parseType(fill(c.entry.canonical, args)), known: true };
      }
    }
  }
  return { type: { kind: 'string' }, known: false };
}

export function canonicalType(native: string): CanonicalType {
  return describeNative(native).type;
}
