// Large values generated at random, round-tripping exactly: text of random code points of every
// UTF-8 width (4-byte ones cut by nothing: one is placed across each size it is built around)
// and random bytes, of sizes a few bytes either side of the sizes ferry's code cuts values or
// streams at (64 KiB: a large NDJSON/CSV field and a kept reject value; 768 KiB: a base64
// slice; 1 MiB: a text file's flush), from PostgreSQL and
// MariaDB into PostgreSQL, from SQLite into NDJSON (rows), from PostgreSQL into CSV and from
// MariaDB into NDJSON (column batches). The seed is random and printed with a
// failure (FERRY_TEST_SEED repeats a run).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { tmpDir } from '../helpers.js';
import { largeSource, readBack, sameValue } from './large-support.js';
import { freshDb, planFor, type Engine } from './support.js';

const SEED = Number(process.env.FERRY_TEST_SEED ?? (Date.now() % 0x7fffffff) + 1);
const BOUNDARIES = [64 * 1024, 768 * 1024, 1024 * 1024];
const ROWS = 6;

/** A 32-bit xorshift generator of numbers below n. */
function generator(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** A random character of `width` UTF-8 bytes: no NUL (PostgreSQL text holds none) and no lone surrogate. */
function character(random: (n: number) => number, width: number): string {
  if (width === 1) return String.fromCharCode(1 + random(0x7f));
  if (width === 2) return String.fromCodePoint(0x80 + random(0x800 - 0x80));
  if (width === 3) {
    const c = 0x800 + random(0x10000 - 0x800 - 0x800);
    // past the surrogates
    return String.fromCodePoint(c >= 0xd800 ? c + 0x800 : c);
  }
  return String.fromCodePoint(0x10000 + random(0x110000 - 0x10000));
}

/**
 * Text of exactly `bytes` UTF-8 bytes, of characters of random widths up to `widest` (runs of
 * one width, so that some stretches are ASCII and some all multi-byte; all ASCII at 1, where
 * characters and bytes are as many), with a 4-byte character across `cut`.
 */
function randomText(random: (n: number) => number, bytes: number, cut: number, widest: number): string {
  const parts: string[] = [];
  let size = 0;
  const fill = (upTo: number) => {
    while (size < upTo) {
      const width = Math.min(1 + random(widest), upTo - size);
      const run = 1 + random(64);
      for (let k = 0; k < run && size + width <= upTo; k++) {
        parts.push(character(random, width));
        size += width;
      }
    }
  };
  const at = cut - 1 - random(3);
  fill(at);
  parts.push(character(random, 4));
  size += 4;
  fill(bytes);
  return parts.join('');
}

function randomBytes(random: (n: number) => number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = random(256);
  return out;
}

/** Rows of an id, a text and bytes, each value a few bytes from one of the boundaries. */
function randomRows(seed: number): unknown[][] {
  const random = generator(seed);
  return Array.from({ length: ROWS }, (_, r) => {
    const boundary = BOUNDARIES[random(BOUNDARIES.length)]!;
    const textBytes = boundary - 4 + random(9);
    const text = randomText(random, textBytes, Math.min(boundary, textBytes - 3), 1 + random(4));
    return [r + 1, text, randomBytes(random, boundary - 4 + random(9))];
  });
}

const PAIRS: { from: Engine; to: string; target: (name: string) => Promise<string> }[] = [
  { from: 'postgres', to: 'postgres', target: (name) => freshDb('postgres', name) },
  { from: 'mysql', to: 'postgres', target: (name) => freshDb('postgres', name) },
  { from: 'sqlite', to: 'ndjson', target: async () => `file:${tmpDir('ferry-large-property-')}?format=ndjson` },
  // NDJSON and CSV from column batches: large fields escaped from the source's bytes
  { from: 'postgres', to: 'csv', target: async () => `file:${tmpDir('ferry-large-property-')}?format=csv` },
  { from: 'mysql', to: 'ndjson', target: async () => `file:${tmpDir('ferry-large-property-')}?format=ndjson` },
];

describe(`random large values round-trip exactly (seed ${SEED})`, () => {
  for (const [p, pair] of PAIRS.entries())
    test(`${pair.from} → ${pair.to}`, async () => {
      const seed = SEED + p;
      const rows = randomRows(seed);
      const source = await largeSource(pair.from, `ferry_lprop_${pair.from}_${pair.to}_src`, rows);
      const target = await pair.target(`ferry_lprop_${pair.from}_${pair.to}_dst`);
      const { file } = await planFor(source, target);
      const run = await runPlan(file);
      assert.equal(run.rejects, 0, `seed ${seed}`);
      assert.equal(run.copied, rows.length, `seed ${seed}`);
      const v = await verifyPlan(file);
      assert.ok(v.ok, `seed ${seed}: ${JSON.stringify(v.tables)}`);
      const back = await readBack(target);
      assert.equal(back.length, rows.length, `seed ${seed}`);
      back.forEach((row, r) => {
        assert.equal(Number(row[0]), rows[r]![0], `seed ${seed}`);
        sameValue(row[1], rows[r]![1], `seed ${seed}, row ${r + 1}, text`);
        sameValue(row[2], rows[r]![2], `seed ${seed}, row ${r + 1}, bytes`);
      });
    });
});
