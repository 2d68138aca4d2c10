// Chunk ranges by key arithmetic (core/split.ts): when they are taken, and that they cover the range.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evenKeyRanges } from '../../src/core/split.js';
import { parseType } from '../../src/core/types.js';

const int64 = parseType('int64');
const int32 = parseType('int32');

describe('evenKeyRanges', () => {
  test('a dense key is cut into equal spans, as many as the estimated rows need', () => {
    assert.deepEqual(evenKeyRanges(int64, 1n, 1000n, 1000, 300), [
      { upper: [251n] },
      { lower: [251n], upper: [501n] },
      { lower: [501n], upper: [751n] },
      { lower: [751n] },
    ]);
    // int32 keys are numbers, as rows give them
    assert.deepEqual(evenKeyRanges(int32, -10n, 9n, 20, 10), [{ upper: [0] }, { lower: [0] }]);
    // fewer rows than a chunk: one range
    assert.deepEqual(evenKeyRanges(int64, 5n, 9n, 5, 100), [{}]);
  });

  test('the ranges cover the range they split, its bounds kept', () => {
    const within = { lower: [100n], upper: [901n] };
    const ranges = evenKeyRanges(int64, 100n, 900n, 801, 200, within)!;
    assert.deepEqual(ranges[0]!.lower, [100n]);
    assert.deepEqual(ranges.at(-1)!.upper, [901n]);
    for (let i = 1; i < ranges.length; i++) assert.deepEqual(ranges[i]!.lower, ranges[i - 1]!.upper);
    assert.equal(ranges.length, 5);
  });

  test('keys past 2^53 are cut exactly', () => {
    const min = 2n ** 62n;
    const ranges = evenKeyRanges(int64, min, min + 999n, 1000, 500)!;
    assert.deepEqual(ranges, [{ upper: [min + 500n] }, { lower: [min + 500n] }]);
  });

  test('no arithmetic for sparse or repeated keys, an unknown estimate, or a key that is not an integer', () => {
    assert.equal(evenKeyRanges(int64, 1n, 1_000_000n, 1000, 100), undefined, 'one row per thousand key values');
    assert.equal(evenKeyRanges(int64, 1n, 100n, 1000, 100), undefined, 'ten rows per key value');
    assert.equal(evenKeyRanges(int64, 1n, 100n, 0, 10), undefined, 'no estimate');
    assert.equal(evenKeyRanges(int64, 1n, 100n, Number.NaN, 10), undefined, 'no estimate');
    assert.equal(evenKeyRanges(parseType('text'), 1n, 100n, 100, 10), undefined);
  });
});
