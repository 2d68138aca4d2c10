// Key order for readBack: files are not sorted or indexed, so the rows of a key range are
// found by comparing keys, in the order every SQL engine gives these kinds.
import type { CanonicalType, KeyRange } from '../../core/types.js';
import { normalizeDecimal } from '../../core/values.js';

export type Compare = (a: unknown, b: unknown) => number;

/** The key kinds this target orders exactly as the sources do. */
export const ORDERED_KINDS: CanonicalType['kind'][] = ['int', 'year', 'decimal', 'date', 'time', 'timestamp', 'uuid'];

const plain: Compare = (a, b) => ((a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0);

function decimalParts(v: unknown): { neg: boolean; int: string; frac: string } {
  const s = normalizeDecimal(String(v));
  const neg = s.startsWith('-');
  const [int = '0', frac = ''] = (neg ? s.slice(1) : s).split('.');
  return { neg, int, frac };
}

const compareDecimal: Compare = (a, b) => {
  const x = decimalParts(a);
  const y = decimalParts(b);
  if (x.neg !== y.neg) return x.neg ? -1 : 1;
  let c = x.int.length - y.int.length || (x.int < y.int ? -1 : x.int > y.int ? 1 : 0);
  if (c === 0) c = x.frac < y.frac ? -1 : x.frac > y.frac ? 1 : 0;
  return x.neg ? -c : c;
};

/**
 * Year as a number (any sign and width), the rest as text without a fraction's trailing zeros
 * (engines spell 31.332870 and 31.33287 alike): a shorter fraction is a prefix and sorts first.
 */
function temporalParts(v: unknown): [number, string] {
  let s = String(v).replace('T', ' ');
  if (s.endsWith('Z')) s = s.slice(0, -1);
  const dash = s.indexOf('-', 1);
  return [
    Number(s.slice(0, dash)),
    s
      .slice(dash)
      .replace(/(\.\d*?)0+$/, '$1')
      .replace(/\.$/, ''),
  ];
}

const compareTemporal: Compare = (a, b) => {
  const [ya, ra] = temporalParts(a);
  const [yb, rb] = temporalParts(b);
  return ya - yb || (ra < rb ? -1 : ra > rb ? 1 : 0);
};

const compareText: Compare = (a, b) => {
  const x = String(a).toLowerCase();
  const y = String(b).toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
};

export function compareFor(t: CanonicalType): Compare | undefined {
  switch (t.kind) {
    case 'int':
    case 'year':
      return plain;
    case 'decimal':
      return compareDecimal;
    case 'date':
    case 'timestamp':
      return compareTemporal;
    case 'time':
      // times of day are fixed-width text
      return compareText;
    case 'uuid':
      return compareText;
    default:
      return undefined;
  }
}

/** Compares two keys (tuples of key column values) column by column. */
export function compareTuple(a: unknown[], b: unknown[], cmp: Compare[]): number {
  for (let i = 0; i < cmp.length; i++) {
    const c = cmp[i]!(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/** Whether a key (the key column values, in key order) lies in the half-open range. */
export function inRange(key: unknown[], range: KeyRange, cmp: Compare[]): boolean {
  if (range.lower && compareTuple(key, range.lower, cmp) < 0) return false;
  if (range.upper && compareTuple(key, range.upper, cmp) >= 0) return false;
  return true;
}

/** Whether two half-open ranges share any key. */
export function overlaps(a: KeyRange, b: KeyRange, cmp: Compare[]): boolean {
  if (a.upper && b.lower && compareTuple(a.upper, b.lower, cmp) <= 0) return false;
  if (b.upper && a.lower && compareTuple(b.upper, a.lower, cmp) <= 0) return false;
  return true;
}

export function sameRange(a: KeyRange, b: KeyRange, cmp: Compare[]): boolean {
  const same = (x?: unknown[], y?: unknown[]) =>
    x === undefined ? y === undefined : y !== undefined && compareTuple(x, y, cmp) === 0;
  return same(a.lower, b.lower) && same(a.upper, b.upper);
}

/** A key's identity for finding duplicates (decimals and temporal values by value, not spelling). */
export function keyIdentity(t: CanonicalType): (v: unknown) => unknown {
  switch (t.kind) {
    case 'int':
    case 'year':
      return (v) => v;
    case 'decimal':
      return (v) => normalizeDecimal(String(v));
    case 'uuid':
      return (v) => String(v).toLowerCase();
    case 'date':
    case 'time':
    case 'timestamp':
      return (v) => temporalParts(v).join('|');
    default:
      return (v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v));
  }
}
