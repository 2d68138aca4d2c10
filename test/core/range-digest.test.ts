// The range digest ferry computes: MD5's definition, shared with the databases, pinned to a value;
// ferry's own hash (for groups ferry digests on both sides) order-independent, a sum modulo 2^64,
// and different for rows that differ in one character, in NULL against '' or in a moved value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RangeDigestBuilder, type RowHash } from '../../src/core/range-digest.js';
import { parseType } from '../../src/core/types.js';

const types = [parseType('int64'), parseType('text')];

function digest(rows: unknown[][], hash: RowHash): string {
  const b = new RangeDigestBuilder([0, 1], types, hash);
  for (const r of rows) b.add(r);
  return b.result().sum;
}

test('the canonical digest is the sum of the first 64 bits of each row text’s MD5', () => {
  assert.equal(
    digest(
      [
        [1n, 'x'],
        [2n, 'y'],
      ],
      'canonical',
    ),
    'ea397f5b0d4d60e6',
  );
});

for (const hash of ['canonical', 'ferry'] as RowHash[])
  test(`${hash}: digests are order-independent sums modulo 2^64 that tell rows apart`, () => {
    const rows: unknown[][] = Array.from({ length: 2000 }, (_, i) => [BigInt(i), `value ${i}`]);
    const all = digest(rows, hash);
    assert.equal(digest([...rows].reverse(), hash), all);
    const sum = rows.reduce((s, r) => s + BigInt(`0x${digest([r], hash)}`), 0n);
    assert.equal(BigInt.asUintN(64, sum).toString(16).padStart(16, '0'), all);
    const seen = new Set<string>();
    for (const r of rows) seen.add(digest([r], hash));
    for (const other of [
      [0n, 'value 1'],
      [1n, 'value 0'],
      [0n, 'value 0 '],
      [0n, null],
      [0n, ''],
    ])
      seen.add(digest([other], hash));
    assert.equal(seen.size, rows.length + 5, 'each row its own hash (NULL and the empty string apart)');
    assert.notEqual(digest([...rows, rows[0]!], hash), all, 'a duplicate row counts');
  });
