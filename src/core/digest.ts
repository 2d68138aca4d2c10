// Order-independent digests of canonical rows: the sum, lane by lane modulo 2^32, of an
// MD5 of each row's canonical text. Sums (unlike XOR) do not cancel duplicate rows.
import { createHash, hash } from 'node:crypto';
import type { TableFingerprint } from './contracts.js';
import type { CanonicalType } from './types.js';
import { canonicalText } from './values.js';

export interface Digest {
  rows: number;
  sum: string;
}

export function rowText(row: unknown[], types: CanonicalType[]): string {
  let s = '';
  for (let i = 0; i < types.length; i++) s += canonicalText(row[i], types[i]!) + '\u0001';
  return s;
}

/** Rows whose text reaches this many UTF-16 units are hashed value by value (see rowHash). */
const LONG_ROW = 1 << 20;

/**
 * The MD5 of a row's text: in one call (no hash object per row), or for a long row (a large
 * value) value by value, so that the row's text is never copied whole once more to be hashed.
 */
export function rowHash(row: unknown[], types: CanonicalType[]): Buffer {
  let s = '';
  for (let i = 0; i < types.length; i++) {
    const text = canonicalText(row[i], types[i]!);
    if (s.length + text.length >= LONG_ROW) return longRowHash(row, types, i, s, text);
    s += text + '\u0001';
  }
  return hash('md5', s, 'buffer');
}

/** The same MD5 as rowHash's, from the text of the values before `at`, value `at`'s text, then the rest. */
function longRowHash(row: unknown[], types: CanonicalType[], at: number, before: string, text: string): Buffer {
  const h = createHash('md5').update(before).update(text).update('\u0001');
  for (let i = at + 1; i < types.length; i++) h.update(canonicalText(row[i], types[i]!)).update('\u0001');
  return h.digest();
}

export class DigestBuilder {
  private lanes = new Uint32Array(4);
  rows = 0;

  constructor(private readonly types: CanonicalType[] = []) {}

  add(row: unknown[]): void {
    const h = rowHash(row, this.types);
    this.addLanes(h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12));
  }

  /** Adds a row by its hash, as four 32-bit lanes (a digest of something else than canonical rows). */
  addLanes(a: number, b: number, c: number, d: number): void {
    const lanes = this.lanes;
    lanes[0] = (lanes[0]! + a) >>> 0;
    lanes[1] = (lanes[1]! + b) >>> 0;
    lanes[2] = (lanes[2]! + c) >>> 0;
    lanes[3] = (lanes[3]! + d) >>> 0;
    this.rows++;
  }

  result(): Digest {
    return { rows: this.rows, sum: Buffer.from(this.lanes.buffer).toString('hex') };
  }
}

/** The digest of the union of disjoint sets of rows: their digests added lane by lane. */
export function addDigests(digests: Digest[]): Digest {
  const lanes = new Uint32Array(4);
  let rows = 0;
  for (const d of digests) {
    const b = Buffer.from(d.sum, 'hex');
    for (let i = 0; i < 4; i++) lanes[i] = (lanes[i]! + b.readUInt32LE(i * 4)) >>> 0;
    rows += d.rows;
  }
  return { rows, sum: Buffer.from(lanes.buffer).toString('hex') };
}

/** A table's fingerprint taken as a digest of its content (rows read back, or a target's items). */
export function digestFingerprint(d: Digest): TableFingerprint {
  return { rows: d.rows, hash: `digest:${d.sum}` };
}
