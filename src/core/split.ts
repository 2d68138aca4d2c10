// Chunk ranges of a one-column integer key by arithmetic. Finding exact boundaries (the key of
// every N-th row) reads the whole key in order on the server: in MariaDB about a quarter of the
// CPU of a whole extraction into Parquet. Where the key's values are about as many as the rows
// (identities, auto-increments), equal spans of key values hold about equal rows, and the
// boundaries come from the key's minimum and maximum and the planner's row estimate alone.
import type { CanonicalType, KeyRange } from './types.js';

/** Rows per key value, estimated, within which spans of equal width are taken to hold equal rows. */
const DENSE = { min: 0.5, max: 1.25 };

/**
 * Ranges of about `rowsPerChunk` rows covering `within`, whose rows have keys from `min` to
 * `max` and number about `estimatedRows`; undefined when the key is not an integer or its
 * values are too sparse (or too repeated) for spans to stand for rows: then split exactly.
 */
export function evenKeyRanges(
  key: CanonicalType,
  min: bigint,
  max: bigint,
  estimatedRows: number,
  rowsPerChunk: number,
  within: KeyRange = {},
): KeyRange[] | undefined {
  if (key.kind !== 'int' || max < min || !(estimatedRows >= 1)) return undefined;
  const span = max - min + 1n;
  const density = estimatedRows / Number(span);
  if (density < DENSE.min || density > DENSE.max) return undefined;
  const chunks = BigInt(Math.max(1, Math.ceil(estimatedRows / Math.max(1, rowsPerChunk))));
  const width = (span + chunks - 1n) / chunks;
  const value = (b: bigint): unknown => (key.bits === 64 ? b : Number(b));
  const starts: unknown[][] = [];
  for (let i = 1n; i < chunks && min + width * i <= max; i++) starts.push([value(min + width * i)]);
  return rangesBetween(starts, within);
}

/** The half-open ranges that cover `within` (or everything), cut at each of the ascending keys `starts`. */
export function rangesBetween(starts: unknown[][], within: KeyRange = {}): KeyRange[] {
  const ranges: KeyRange[] = [];
  let lower = within.lower;
  for (const upper of starts) {
    ranges.push(lower ? { lower, upper } : { upper });
    lower = upper;
  }
  ranges.push({ ...(lower ? { lower } : {}), ...(within.upper ? { upper: within.upper } : {}) });
  return ranges;
}
