// Repeated primary keys within a chunk, which files cannot refuse as a database's unique index
// would: found as rows arrive (DuplicateKeys), or as column batches arrive for a one-column
// integer key (IntegerKeys).
import type { ColumnLayout, ColumnVector } from '../../core/columns.js';
import type { CanonicalType } from '../../core/types.js';
import { compareTuple, keyIdentity, type Compare } from './keys.js';
import { int64FromWords } from './parquet/codec.js';

/**
 * Finds repeated primary keys in a chunk. Sources usually give rows in key order, so keys are
 * only compared with the previous one until a row comes out of order; then a set takes over.
 */
export class DuplicateKeys {
  private last: unknown;
  private keys: unknown[] = [];
  private seen?: Set<unknown>;
  private readonly keyOf: (row: unknown[]) => unknown;
  private readonly idOf: (key: unknown) => unknown;
  private readonly compare?: Compare;

  constructor(
    indexes: number[],
    private readonly names: string[],
    types: CanonicalType[],
    compare: Compare[] | undefined,
  ) {
    const identity = types.map(keyIdentity);
    if (indexes.length === 1) {
      // one key column: no tuple per row, and integers compared as they are
      const [i] = indexes as [number];
      this.keyOf = (row) => row[i];
      this.idOf = identity[0]!;
      this.compare =
        types[0]!.kind === 'int'
          ? (a, b) => ((a as number) > (b as number) ? 1 : (a as number) < (b as number) ? -1 : 0)
          : compare?.[0];
    } else {
      this.keyOf = (row) => indexes.map((i) => row[i]);
      this.idOf = (key) => (key as unknown[]).map((v, i) => String(identity[i]!(v))).join('\u0001');
      this.compare = compare && ((a, b) => compareTuple(a as unknown[], b as unknown[], compare));
    }
  }

  /** Why the row's key was seen before, or undefined (and the key is remembered). */
  add(row: unknown[]): string | undefined {
    const key = this.keyOf(row);
    if (!this.seen) {
      if (this.compare && (this.keys.length === 0 || this.compare(key, this.last) > 0)) {
        this.last = key;
        this.keys.push(key);
        return undefined;
      }
      this.seen = new Set(this.keys.map(this.idOf));
      this.keys = [];
    }
    const id = this.idOf(key);
    if (this.seen.has(id))
      return `duplicate primary key (${this.names.join(', ')}) = (${(Array.isArray(key) ? key : [key]).map((v) => String(v)).join(', ')})`;
    this.seen.add(id);
    return undefined;
  }
}

/** The 32-bit words of an int32 or int64 column's values (they start aligned to their width). */
const wordsOf = (v: ColumnVector): Int32Array =>
  new Int32Array(v.data.buffer, v.data.byteOffset, v.layout === 'int32' ? v.count : 2 * v.count);

/** Key k of an int32 or int64 column: int64 as a number while exact (as rows give them), else a bigint. */
function integerAt(words: Int32Array, layout: ColumnLayout, k: number): number | bigint {
  return layout === 'int32' ? words[k]! : int64FromWords(words[2 * k + 1]!, words[2 * k]! >>> 0);
}

/** Whether `key` is the integer after `prev` (either may be a number or a bigint, as integerAt gives them). */
const follows = (prev: number | bigint, key: number | bigint): boolean =>
  typeof prev === 'number' && typeof key === 'number' ? key === prev + 1 : BigInt(key) === BigInt(prev) + 1n;

/** A key as integerAt gives it: a number within ±2^53, else a bigint. */
const asKey = (b: bigint): number | bigint => (b >= -(2n ** 53n) && b < 2n ** 53n ? Number(b) : b);

/**
 * Repeated keys of a chunk's one-column integer primary key, batch by batch. While keys
 * increase only the last one is compared, and the keys seen are kept as runs of consecutive
 * values (batches are recycled; an identity column is one run); the first key out of order
 * turns every key seen into a set, which then takes over.
 */
export class IntegerKeys {
  private last: number | bigint = -Infinity;
  /** the keys so far, ascending: [first, last] of each run of consecutive values */
  private readonly runs: (number | bigint)[][] = [];
  private seen?: Set<number | bigint>;

  /** A key of the column seen before, or undefined. */
  repeated(v: ColumnVector): number | bigint | undefined {
    const words = wordsOf(v);
    let k = 0;
    if (!this.seen) {
      let last = this.last;
      let run = this.runs.at(-1);
      for (; k < v.count; k++) {
        const key = integerAt(words, v.layout, k);
        if (key <= last) break;
        if (run && follows(run[1]!, key)) run[1] = key;
        else this.runs.push((run = [key, key]));
        last = key;
      }
      this.last = last;
      if (k === v.count) return undefined;
      this.seen = new Set();
      for (const [first, end] of this.runs)
        if (typeof first === 'number' && typeof end === 'number')
          for (let key = first; key <= end; key++) this.seen.add(key);
        else for (let key = BigInt(first!); key <= BigInt(end!); key++) this.seen.add(asKey(key));
      this.runs.length = 0;
    }
    for (; k < v.count; k++) {
      const key = integerAt(words, v.layout, k);
      if (this.seen.has(key)) return key;
      this.seen.add(key);
    }
    return undefined;
  }
}
