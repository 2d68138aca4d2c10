// The values of a source whose columns may hold any value (SQLite's dynamic typing): a value of
// another class than its column's type, converted by its own class into the type the plan gives
// the column (plan/data-types.ts chooses one that holds every class the column holds).
import type { CanonicalType } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import { convertValue } from '../../core/values.js';

/** The JavaScript class a value travels as (core/values.ts), or that of a canonical type's values. */
function classOf(v: unknown): string {
  return v instanceof Uint8Array ? 'bytes' : Array.isArray(v) ? 'array' : typeof v;
}
const CLASS_OF_TYPE: Partial<Record<CanonicalType['kind'], string>> = {
  decimal: 'string',
  float: 'number',
  bool: 'boolean',
  string: 'string',
  bytes: 'bytes',
  year: 'number',
  json: 'string',
  uuid: 'string',
  enum: 'string',
  interval: 'string',
  bit: 'string',
  set: 'array',
  array: 'array',
  geometry: 'bytes',
};
const travelsAs = (t: CanonicalType) =>
  t.kind === 'int' ? (t.bits === 64 ? 'bigint' : 'number') : CLASS_OF_TYPE[t.kind];
/** The canonical type of a value by its class alone, for values a loosely typed column holds beside its type's. */
const TYPE_OF_CLASS: Record<string, CanonicalType> = {
  bigint: { kind: 'int', bits: 64, unsigned: false },
  number: { kind: 'float', bits: 64 },
  string: { kind: 'string' },
};
// the types a column holding values of several classes is planned as (plan/data-types.ts)
const WIDE_KINDS: CanonicalType['kind'][] = ['string', 'decimal', 'int', 'float'];
const BINARY_KINDS: CanonicalType['kind'][] = ['bytes', 'geometry'];

/**
 * The conversion of a column of a source whose columns may hold any value (SQLite): a value of
 * another class than its column's type is converted by its own class into a type that holds
 * several (text, decimal, integer, float); text never becomes bytes, nor bytes anything else.
 * Values of the column's own class go through `convert`.
 */
export function looseConverter(
  type: CanonicalType,
  to: CanonicalType,
  convert: ((v: unknown) => unknown) | undefined,
): (v: unknown) => unknown {
  const own = travelsAs(type);
  const binary = BINARY_KINDS.includes(to.kind);
  // a geometry's blob is its EWKB, which has a text form
  const blobConverts = type.kind === 'geometry';
  return (v) => {
    const cls = classOf(v);
    if (cls === 'bytes' && !binary && !blobConverts)
      throw new Error(
        `a blob of ${(v as Uint8Array).byteLength} bytes is not ${formatType(to)} (give the column a bytes type in the plan to keep its blobs)`,
      );
    if (cls !== 'bytes' && binary)
      throw new Error(
        `${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} is ${cls === 'string' ? 'text' : 'a number'}, not bytes (give the column a text type in the plan to keep it)`,
      );
    if (!WIDE_KINDS.includes(to.kind) || (cls === own && cls !== 'boolean')) return convert ? convert(v) : v;
    // a boolean was read from the integer 0 or 1
    if (cls === 'boolean') return convertValue(v ? 1n : 0n, TYPE_OF_CLASS.bigint!, to);
    return convertValue(v, TYPE_OF_CLASS[cls] ?? type, to);
  };
}
