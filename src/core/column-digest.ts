// Ferry's digest of a range from column batches (core/columns.ts), for verify between two
// engines whose values both travel in columns: each row's hash is taken of its values' column
// forms (an integer's 8 bytes, text's UTF-8 bytes), not of JavaScript values or text, so that a
// database only reads its rows raw and ferry hashes bytes. Both sides give a column of one
// canonical type the same form (columns.ts: the same canonical values), so the same rows give
// the same digest; the same form is the same value, so a digest that matches is rows that
// match. Two forms of one canonical text are made one here: CHAR's trailing spaces (some
// engines pad, others strip) are left out, JSON is hashed as its canonical text. A range whose
// digests differ is compared again from rows (pipeline/verify), as any digest taken otherwise.
//
// The row hash: two murmur3-style 32-bit lanes over 32-bit little-endian words: per value, 0 for
// NULL, or 1 then its fixed-width bytes, or 1 then its length and its bytes (the last word
// padded with zeros); JSON's canonical text as UTF-16 code units, two a word. A range's digest
// is the row count and the sum of the row hashes modulo 2^64, as core/range-digest.ts's.
import type { ColumnBatch, ColumnLayout } from './columns.js';
import { columnLayout } from './columns.js';
import type { Digest } from './digest.js';
import { RowHashSum } from './range-digest.js';
import type { CanonicalType } from './types.js';
import { canonicalJson } from './values.js';

const WIDTH: Record<Exclude<ColumnLayout, 'bytes'>, number> = { int32: 4, int64: 8, int128: 16, float64: 8, bool: 1 };
// the columns of the bytes layout, by how their bytes are hashed
const FIXED_STRING = -1;
const JSON_TEXT = -2;
const BYTES = -3;

const utf8 = new TextDecoder();

/** fmix32 of murmur3 */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// the lanes of the row being hashed, and its words so far (one row at a time, on one thread)
let a = 0;
let b = 0;
let n = 0;

function word(w: number): void {
  let k = Math.imul(w, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  a ^= k;
  a = (Math.imul((a << 13) | (a >>> 19), 5) + 0xe6546b64) | 0;
  b = Math.imul(b ^ w, 0x85ebca77);
  b = (b << 17) | (b >>> 15);
  b = (Math.imul(b, 0xc2b2ae3d) + 0x27d4eb2f) | 0;
  n++;
}

function bytes(d: Uint8Array, from: number, to: number): void {
  let i = from;
  for (; i + 4 <= to; i += 4) word(d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24));
  if (i === to) return;
  let w = 0;
  for (let shift = 0; i < to; i++, shift += 8) w |= d[i]! << shift;
  word(w);
}

/** Whether every type has a column form, so that a range of them can be digested from columns. */
export function digestsFromColumns(types: CanonicalType[]): boolean {
  return types.every((t) => columnLayout(t) !== undefined);
}

export class ColumnDigestBuilder {
  private readonly sum = new RowHashSum();
  /** per column: its fixed width, or how its bytes are hashed (FIXED_STRING, JSON_TEXT, BYTES) */
  private readonly kinds: number[];

  /** `types`: the canonical types of the columns, in the batches' order (the target's, on both sides) */
  constructor(types: CanonicalType[]) {
    this.kinds = types.map((t) => {
      const layout = columnLayout(t)!;
      if (layout !== 'bytes') return WIDTH[layout];
      return t.kind === 'json' ? JSON_TEXT : t.kind === 'string' && t.fixed ? FIXED_STRING : BYTES;
    });
  }

  add(batch: ColumnBatch): void {
    const { columns } = batch;
    const kinds = this.kinds;
    const next = new Array<number>(columns.length).fill(0);
    // fixed widths of 4 bytes and more as 32-bit words (columns.ts: aligned to their width)
    const words = columns.map((v, i) =>
      kinds[i]! >= 4 ? new Int32Array(v.data.buffer, v.data.byteOffset, v.data.byteLength >> 2) : undefined,
    );
    for (let r = 0; r < batch.rows; r++) {
      a = 0x9e3779b9;
      b = 0x7f4a7c15;
      n = 0;
      for (let i = 0; i < columns.length; i++) {
        const v = columns[i]!;
        if (v.nulls?.[r]) {
          word(0);
          continue;
        }
        word(1);
        const k = next[i]!++;
        const kind = kinds[i]!;
        if (kind >= 4) {
          const w = words[i]!;
          for (let j = (k * kind) >> 2, end = ((k + 1) * kind) >> 2; j < end; j++) word(w[j]!);
          continue;
        }
        if (kind > 0) {
          word(v.data[k]!);
          continue;
        }
        // past the value's length (4 bytes)
        const start = v.offsets![k]! + 4;
        let end = v.offsets![k + 1]!;
        if (kind === JSON_TEXT) {
          const text = canonicalJson(utf8.decode(v.data.subarray(start, end)));
          word(text.length);
          let j = 0;
          for (; j + 2 <= text.length; j += 2) word(text.charCodeAt(j) | (text.charCodeAt(j + 1) << 16));
          if (j < text.length) word(text.charCodeAt(j));
          continue;
        }
        if (kind === FIXED_STRING) while (end > start && v.data[end - 1] === 32) end--;
        word(end - start);
        bytes(v.data, start, end);
      }
      const x = mix(a ^ n);
      const y = mix(b ^ Math.imul(n, 0x165667b1));
      const high = mix(x ^ Math.imul(y, 0x9e3779b1));
      this.sum.add(high, mix(y ^ high));
    }
  }

  result(): Digest {
    return this.sum.result();
  }
}
