// DynamoDB attribute types <-> canonical types.
//
// A DynamoDB attribute type alone (N, S, …) does not say what its values mean, so the native
// type ferry writes in a plan names both: the attribute type and the canonical type of the
// values it holds, "N:int64", "S:timestamp(6)", "N:timestamp(6)" (epoch seconds), "M:json"
// (maps and lists), "S:json" (the text). Changing the attribute type in the plan changes the
// encoding (ISO text or epoch number, map or string); a bare attribute type ("N") is read as
// the widest canonical type it can hold.
import { FerryError } from '../../core/errors.js';
import type { CanonicalType, TypeKind } from '../../core/types.js';
import { formatType, parseType } from '../../core/types.js';

export type AttrType = 'N' | 'S' | 'B' | 'BOOL' | 'M' | 'L' | 'SS';

interface TypeMapEntry {
  kind: TypeKind;
  /** the attribute type ferry creates for this kind */
  create: AttrType;
  /** other attribute types a plan may choose for this kind */
  also: AttrType[];
  /** what the created attribute type cannot hold, for the assessment */
  note?: string;
}

export const TYPE_MAP: TypeMapEntry[] = [
  { kind: 'int', create: 'N', also: ['S'] },
  { kind: 'year', create: 'N', also: ['S'] },
  { kind: 'decimal', create: 'N', also: ['S'] },
  {
    kind: 'float',
    create: 'N',
    also: ['S'],
    note: 'DynamoDB numbers have no NaN, ±Infinity or -0 and range over 1e-130..1e126 in magnitude',
  },
  { kind: 'bool', create: 'BOOL', also: ['N', 'S'] },
  { kind: 'string', create: 'S', also: [] },
  { kind: 'bytes', create: 'B', also: [] },
  { kind: 'date', create: 'S', also: ['N'] },
  { kind: 'time', create: 'S', also: [] },
  { kind: 'timestamp', create: 'S', also: ['N'] },
  { kind: 'enum', create: 'S', also: [] },
  { kind: 'set', create: 'SS', also: ['S'] },
  { kind: 'json', create: 'M', also: ['S'] },
  { kind: 'uuid', create: 'S', also: [] },
  { kind: 'array', create: 'L', also: [] },
  { kind: 'bit', create: 'S', also: [] },
  { kind: 'interval', create: 'S', also: [] },
  {
    kind: 'geometry',
    create: 'B',
    also: [],
    note: "stored as WKB (PostGIS's EWKB, with the SRID); make the type S in the plan for WKT",
  },
];

/** Bare attribute types, as DynamoDB itself reports them, and the canonical type that holds any of their values. */
export const BARE: Record<string, CanonicalType> = {
  N: { kind: 'decimal' },
  S: { kind: 'string' },
  B: { kind: 'bytes' },
  BOOL: { kind: 'bool' },
  M: { kind: 'json', binary: false },
  L: { kind: 'json', binary: false },
};

// a DynamoDB number keeps 38 significant digits
export const NUMBER_DIGITS = 38;

const byKind = new Map(TYPE_MAP.map((e) => [e.kind, e]));

export interface AttrEncoding {
  attr: AttrType;
  type: CanonicalType;
}

/** Splits a native type into its attribute type and canonical type, checking that the pair is allowed. */
export function parseNative(native: string): AttrEncoding {
  const text = native.trim();
  const colon = text.indexOf(':');
  const attr = (colon < 0 ? text : text.slice(0, colon)).trim().toUpperCase() as AttrType;
  if (colon < 0) {
    const bare = BARE[attr];
    if (!bare) throw unknownNative(native);
    return { attr, type: bare };
  }
  const type = parseType(text.slice(colon + 1));
  const entry = byKind.get(type.kind)!;
  if (entry.create !== attr && !entry.also.includes(attr))
    throw new FerryError(
      'PLAN_INVALID',
      `DynamoDB cannot store ${formatType(type)} values as ${attr} attributes ("${native}")`,
      `use ${[entry.create, ...entry.also].map((a) => `${a}:${formatType(type)}`).join(' or ')}`,
    );
  return { attr, type };
}

function unknownNative(native: string): FerryError {
  return new FerryError(
    'PLAN_INVALID',
    `unknown DynamoDB type "${native}"`,
    'write ATTRIBUTE:canonical, e.g. N:int64, S:timestamp(6), N:timestamp(6) for epoch seconds, M:json, B:bytes, or a bare N, S, B, BOOL, M or L',
  );
}

export function canonicalType(native: string): CanonicalType {
  return parseNative(native).type;
}

/** The native type ferry writes for a canonical type, with what it cannot hold. */
export function nativeType(t: CanonicalType): { native: string; note?: string } {
  const entry = byKind.get(t.kind)!;
  let note = entry.note;
  if (t.kind === 'decimal' && (t.precision === undefined || t.precision > NUMBER_DIGITS))
    note = `DynamoDB numbers keep ${NUMBER_DIGITS} significant digits: larger values are refused, or stored as strings with the target option bigNumbers: string`;
  return { native: `${entry.create}:${formatType(t)}`, note };
}
