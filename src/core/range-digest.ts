// The digest of a key range that verify compares, defined so that a database can compute it
// in SQL (the connectors' rangeDigest) and ferry can compute the very same from rows it reads.
//
// Row text: the canonical text (canonicalText) of each value, NULL as the empty string, each
// followed by U+0001, then a null mask: one character per value, "n" for NULL, "v" otherwise
// ("" and NULL differ by it; U+0000 cannot be in PostgreSQL text). The row hash is the MD5 of
// the row text's UTF-8 bytes, read as four big-endian 32-bit words; a range's digest is the row
// count and the word-by-word sums modulo 2^32 of its rows' hashes (order-independent; sums,
// unlike XOR, do not cancel duplicate rows). Databases sum the words exactly and ferry takes
// the sums modulo 2^32 (rangeDigestOf).
import { hash } from 'node:crypto';
import type { Digest } from './digest.js';
import type { CanonicalType } from './types.js';
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

export class RangeDigestBuilder {
  private readonly words = new Uint32Array(4);
  private readonly values: unknown[];
  rows = 0;

  /** `columns`: the positions, in the rows add() takes, of the values digested, and their types */
  constructor(
    private readonly columns: number[],
    private readonly types: CanonicalType[],
  ) {
    this.values = new Array(columns.length);
  }

  add(row: unknown[]): void {
    const values = this.values;
    for (let i = 0; i < this.columns.length; i++) values[i] = row[this.columns[i]!];
    const h = hash('md5', rangeRowText(values, this.types), 'buffer');
    const w = this.words;
    w[0] = (w[0]! + h.readUInt32BE(0)) >>> 0;
    w[1] = (w[1]! + h.readUInt32BE(4)) >>> 0;
    w[2] = (w[2]! + h.readUInt32BE(8)) >>> 0;
    w[3] = (w[3]! + h.readUInt32BE(12)) >>> 0;
    this.rows++;
  }

  result(): Digest {
    return { rows: this.rows, sum: Array.from(this.words, (w) => w.toString(16).padStart(8, '0')).join('') };
  }
}

/** A range's digest from a database's answer: the row count and the four exact sums of the words (as decimal text). */
export function rangeDigestOf(rows: number | bigint | string, sums: (number | bigint | string | null)[]): Digest {
  const sum = sums.map((s) => (BigInt(s ?? 0) & 0xffffffffn).toString(16).padStart(8, '0')).join('');
  return { rows: Number(rows), sum };
}

/** A column of a range digest: its name in the table, and the canonical type whose text the digest takes of its values. */
export interface DigestColumn {
  name: string;
  type: CanonicalType;
}
