// The digest of a key range that verify compares, defined so that a database can compute it
// in SQL (the connectors' rangeDigest) and ferry can compute the very same from rows it reads.
//
// Row text: the canonical text (canonicalText) of each value, NULL as the empty string, each
// followed by U+0001, then a null mask: one character per value, "n" for NULL, "v" otherwise
// ("" and NULL differ by it; U+0000 cannot be in PostgreSQL text). The row hash is the MD5 of
// the row text's UTF-8 bytes, of which the first 64 bits count, as a big-endian integer; a
// range's digest is the row count and the sum modulo 2^64 of its rows' hashes (order-independent;
// a sum, unlike XOR, does not cancel duplicate rows; as data-diff does). Databases sum exactly
// (PostgreSQL as signed integers: the same modulo 2^64) and ferry takes the sum modulo 2^64
// (rangeDigestOf). One word: reading a word out of the hash's hex is most of what a sum costs in
// SQL, and 64 bits leave a chance of 2^-64 that different rows give the same digest.
//
// That is the `canonical` hash, which any engine and ferry compute alike. Two databases of one
// engine may instead use the engine's own hash (`engine`), for the columns to which both give
// the same form (Source/Target.digestForms: PostgreSQL's hash_record_extended of the values, a
// few times cheaper than MD5 of their text): a range's digest is then the row count and the sum
// modulo 2^64 of the engine's 64-bit row hashes. Ferry cannot compute it, and needs not: digests
// that differ are compared again from rows (pipeline/verify), so a hash only has to give equal
// rows equal digests, and different rows different ones but with a chance of about 2^-64.
// For the same reason, a group of columns that ferry digests on both sides takes ferry's own hash
// (`ferry`: 64 bits of two murmur3-style lanes over the row text's UTF-16 code units, a tenth of
// what a call into node:crypto costs per row); MD5 only where a database's digest is compared.
import { hash } from 'node:crypto';
import type { Digest } from './digest.js';
import type { CanonicalType, RowBatch } from './types.js';
import { canonicalText } from './values.js';

/** The separator after each value of a row text. */
export const VALUE_END = '\u0001';

/** The text of one row's values (in the order of `types`), as the databases render it too. */
export function rangeRowText(values: unknown[], types: CanonicalType[]): string {
  let s = '';
  let mask = '';
  for (let i = 0; i < types.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      s += VALUE_END;
      mask += 'n';
    } else {
      s += canonicalText(v, types[i]!) + VALUE_END;
      mask += 'v';
    }
  }
  return s + mask;
}

const WORD = 2 ** 32;
/** The 32-bit lanes of ferry's row hash, for hashes of the same text: its high and low word. */
const lanes: [number, number] = [0, 0];

/** fmix32 of murmur3: every bit of the lane flips about half of the others. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** ferry's row hash (`ferry`) of a row text, into `lanes`. */
function ferryHash(s: string): void {
  let a = 0x9e3779b9;
  let b = 0x7f4a7c15;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let k = Math.imul(c, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    a ^= k;
    a = (Math.imul((a << 13) | (a >>> 19), 5) + 0xe6546b64) | 0;
    b = Math.imul(b ^ c, 0x85ebca77);
    b = (b << 17) | (b >>> 15);
    b = (Math.imul(b, 0xc2b2ae3d) + 0x27d4eb2f) | 0;
  }
  a = mix(a ^ s.length);
  b = mix(b ^ Math.imul(s.length, 0x165667b1));
  lanes[0] = mix(a ^ Math.imul(b, 0x9e3779b1));
  lanes[1] = mix(b ^ lanes[0]);
}

/** The hash of a group's rows in ferry: `canonical` (MD5, as databases compute it) or `ferry` (when ferry digests the group on both sides). */
export type RowHash = 'canonical' | 'ferry';

/** The sum modulo 2^64 of row hashes, as its high and low words, and the rows counted. */
class HashSum {
  private high = 0;
  private low = 0;
  rows = 0;

  add(high: number, low: number): void {
    const sum = this.low + low;
    this.low = sum >= WORD ? sum - WORD : sum;
    this.high = (this.high + high + (sum >= WORD ? 1 : 0)) % WORD;
    this.rows++;
  }

  result(): Digest {
    return { rows: this.rows, sum: sumHex((BigInt(this.high) << 32n) | BigInt(this.low)) };
  }
}

export class RangeDigestBuilder {
  private readonly sum = new HashSum();
  private readonly values: unknown[];

  /** `columns`: the positions, in the rows add() takes, of the values digested, and their types */
  constructor(
    private readonly columns: number[],
    private readonly types: CanonicalType[],
    private readonly hash: RowHash = 'canonical',
  ) {
    this.values = new Array(columns.length);
  }

  add(row: unknown[]): void {
    const values = this.values;
    for (let i = 0; i < this.columns.length; i++) values[i] = row[this.columns[i]!];
    const text = rangeRowText(values, this.types);
    if (this.hash === 'ferry') ferryHash(text);
    else {
      const h = hash('md5', text, 'buffer');
      lanes[0] = h.readUInt32BE(0);
      lanes[1] = h.readUInt32BE(4);
    }
    this.sum.add(lanes[0], lanes[1]);
  }

  result(): Digest {
    return this.sum.result();
  }
}

/**
 * A range read once for verify (Source/Target.digestRead): the rows of the columns ferry digests,
 * and the digest the database computed of the others from the same rows, known once the rows
 * are read to their end (undefined as rangeDigest's: a value the engine does not render).
 */
export interface DigestRead {
  rows: AsyncIterable<RowBatch>;
  digest(): Digest | undefined;
}

/**
 * A DigestRead from rows that end with their row hash as the database computed it: 16 hex digits
 * (the first 64 bits, big-endian; two's complement for a signed hash), NULL for a row holding a
 * value the engine does not render. The hash is taken off each row.
 */
export function hashedRows(batches: AsyncIterable<RowBatch>): DigestRead {
  const sum = new HashSum();
  let unrendered = false;
  async function* rows(): AsyncIterable<RowBatch> {
    for await (const b of batches) {
      for (const r of b.rows) {
        const h = r.pop();
        if (h === null || h === undefined) unrendered = true;
        else {
          const hex = String(h);
          sum.add(parseInt(hex.slice(0, 8), 16), parseInt(hex.slice(8, 16), 16));
        }
      }
      yield b;
    }
  }
  return { rows: rows(), digest: () => (unrendered ? undefined : sum.result()) };
}

const sumHex = (sum: bigint) => BigInt.asUintN(64, sum).toString(16).padStart(16, '0');

/** A range's digest from a database's answer: the row count and the exact sum (decimal text). */
export function rangeDigestOf(rows: number | bigint | string, sum: number | bigint | string | null): Digest {
  return { rows: Number(rows), sum: sumHex(BigInt(sum ?? 0)) };
}

/** How a database hashes the rows of a range: the definition above, or the engine's own hash. */
export type DigestHash = 'canonical' | 'engine';

/** A column of a range digest: its name in the table, and the canonical type whose text the digest takes of its values. */
export interface DigestColumn {
  name: string;
  type: CanonicalType;
  /** under the hash `engine`: the form digestForms gave the column (the same on both sides) */
  form?: string;
}
