// Wire families: which PostgreSQL binary format a value travels in. Several native types share
// one (varchar, bpchar, enum and json are all plain text bytes), so a column needs a cast in
// the read query only when its own family differs from its canonical type's.
import type { CanonicalType } from '../../core/types.js';
import { describeNative } from './typemap.js';

export type ScalarFamily =
  | 'bool'
  | 'int2'
  | 'int4'
  | 'int8'
  | 'numeric'
  | 'float4'
  | 'float8'
  | 'text'
  | 'jsonb'
  | 'bytea'
  | 'uuid'
  | 'date'
  | 'time'
  | 'timetz'
  | 'timestamp'
  | 'timestamptz'
  | 'interval'
  | 'bit'
  | 'geometry';

/** A scalar family, or an array (of any number of dimensions) of one. */
export type Family = ScalarFamily | `array:${ScalarFamily}`;

export function scalarFamily(t: CanonicalType): ScalarFamily {
  switch (t.kind) {
    case 'int':
      if (t.unsigned) return t.bits <= 8 ? 'int2' : t.bits <= 24 ? 'int4' : t.bits === 32 ? 'int8' : 'numeric';
      return t.bits <= 16 ? 'int2' : t.bits <= 32 ? 'int4' : 'int8';
    case 'year':
      return 'int2';
    case 'decimal':
      return 'numeric';
    case 'float':
      return t.bits === 32 ? 'float4' : 'float8';
    case 'bool':
      return 'bool';
    case 'string':
    case 'enum':
      return 'text';
    case 'json':
      return t.binary ? 'jsonb' : 'text';
    case 'bytes':
      return 'bytea';
    case 'uuid':
      return 'uuid';
    case 'date':
      return 'date';
    case 'time':
      return t.tz ? 'timetz' : 'time';
    case 'timestamp':
      return t.tz ? 'timestamptz' : 'timestamp';
    case 'interval':
      return 'interval';
    case 'bit':
      return 'bit';
    case 'set':
      return 'text';
    case 'array':
      return scalarFamily(t.element);
    case 'geometry':
      return 'geometry';
  }
}

/** The family a canonical type's values travel in. */
export function familyOf(t: CanonicalType): Family {
  return t.kind === 'array' || t.kind === 'set' ? `array:${scalarFamily(t)}` : scalarFamily(t);
}

/** The SQL type of a scalar family: its own name (families are named after PostgreSQL's types), but bits travel as varbit. */
function scalarCastName(f: ScalarFamily): string {
  return f === 'bit' ? 'varbit' : f;
}

/** The SQL type a family is cast to. */
export function castName(f: Family): string {
  return f.startsWith('array:') ? `${scalarCastName(f.slice(6) as ScalarFamily)}[]` : scalarCastName(f as ScalarFamily);
}

/**
 * The select-list expression that reads a column (`ident`, quoted) in the wire family of `type`:
 * the column itself, or a cast. A native type ferry does not know (inet, tsvector, ranges, …)
 * travels as its output function's text, the form PostgreSQL prints: its cast to text may differ
 * (an inet host address ::1 would read as ::1/128); an array of one as text[] of its elements'.
 */
export function readExpression(ident: string, nativeType: string, type: CanonicalType): string {
  const native = describeNative(nativeType);
  const want = familyOf(type);
  if (native.known && familyOf(native.type) === want) return ident;
  if (!native.known && (want === 'text' || want === 'array:text'))
    return `CASE WHEN ${ident} IS NOT NULL THEN format('%s', ${ident})${want === 'text' ? '' : '::text[]'} END`;
  return `${ident}::${castName(want)}`;
}

/**
 * The select-list expression for a raw read (copyOutRaw): a type ferry does not know (inet,
 * ranges, …) in its own binary form; the others as readExpression reads them, an array always
 * cast to its family's array type, so that its binary form names the element type a target's
 * column of that family has (a varchar[] column would otherwise send varchar elements).
 */
export function rawReadExpression(ident: string, nativeType: string, type: CanonicalType): string {
  if (!describeNative(nativeType).known) return ident;
  const read = readExpression(ident, nativeType, type);
  const family = familyOf(type);
  return family.startsWith('array:') ? `(${read})::${castName(family)}` : read;
}

/** How a column travels in a raw read: its canonical type's family, or a type ferry does not know in its own form. */
export function rawColumnForm(nativeType: string, type: CanonicalType): string {
  return describeNative(nativeType).known ? familyOf(type) : `own ${nativeType}`;
}

/** The raw format (Source.rawFormat, Target.rawFormat) of columns that travel in these forms: a binary COPY. */
export function rawFormatOf(forms: string[]): string {
  return `postgresql binary copy (${forms.join(', ')})`;
}

/** Families by the catalog name of a base type (typname), for columns found in a live table. */
export const FAMILY_BY_TYPNAME: Record<string, ScalarFamily> = {
  bool: 'bool',
  int2: 'int2',
  int4: 'int4',
  int8: 'int8',
  numeric: 'numeric',
  float4: 'float4',
  float8: 'float8',
  text: 'text',
  varchar: 'text',
  bpchar: 'text',
  name: 'text',
  json: 'text',
  jsonb: 'jsonb',
  bytea: 'bytea',
  uuid: 'uuid',
  date: 'date',
  time: 'time',
  timetz: 'timetz',
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
  interval: 'interval',
  bit: 'bit',
  varbit: 'bit',
  // PostGIS's: EWKB both ways
  geometry: 'geometry',
};
