// What a reject record keeps of a row: small values whole, large text and bytes as their size,
// SHA-256 and first characters; and the text verify tells refused rows by reads both alike.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { rowText } from '../../src/core/digest.js';
import { isOmitted, KEPT_VALUE_BYTES, rejectedRow, rejectedRowText } from '../../src/core/rejected-row.js';
import { parseType } from '../../src/core/types.js';
import { stateParse, stateStringify } from '../../src/core/values.js';
import { largeBytes, largeText } from '../fixtures/large.js';

const types = ['int32', 'text', 'bytes', 'text'].map((t) => parseType(t));
const sha = (v: string | Uint8Array) => createHash('sha256').update(v).digest('hex');

test('a row of small values is kept as it is', () => {
  const row = [1, 'é'.repeat(KEPT_VALUE_BYTES / 2), new Uint8Array(KEPT_VALUE_BYTES), null];
  assert.equal(rejectedRow(row), row);
  assert.equal(rejectedRowText(row, types), rowText(row, types));
});

test('large text and bytes are kept as their size, digest and head; the key and small values whole', () => {
  // 'é' is 2 bytes: fewer characters than the limit, more bytes
  const text = 'é' + largeText(20 << 20, 3);
  const bytes = largeBytes(KEPT_VALUE_BYTES + 1, 5);
  const row = [7, text, bytes, 'small'];
  const kept = rejectedRow(row);
  assert.notEqual(kept, row);
  assert.equal(row[1], text, 'the row itself is left alone');
  assert.equal(kept[0], 7);
  assert.equal(kept[3], 'small');
  const t = kept[1];
  const b = kept[2];
  assert.ok(isOmitted(t) && isOmitted(b));
  assert.deepEqual(t.$omitted, {
    kind: 'text',
    bytes: Buffer.byteLength(text),
    sha256: sha(text),
    head: text.slice(0, 200),
  });
  assert.deepEqual(b.$omitted, {
    kind: 'bytes',
    bytes: KEPT_VALUE_BYTES + 1,
    sha256: sha(bytes),
    head: Buffer.from(bytes.subarray(0, 64)).toString('hex'),
  });
  const stored = stateStringify(kept);
  assert.ok(stored.length < 2000, `the record is ${stored.length} characters`);
  // what verify reads back from the state matches the row as read again
  assert.equal(rejectedRowText(stateParse<unknown[]>(stored), types), rejectedRowText(row, types));
  const other = [7, text.slice(0, -1) + 'x', bytes, 'small'];
  assert.notEqual(rejectedRowText(other, types), rejectedRowText(row, types));
});

test("the head of an omitted text does not cut a character's surrogate pair", () => {
  const text = 'a'.repeat(199) + '🚢'.repeat(KEPT_VALUE_BYTES);
  const kept = rejectedRow([text])[0];
  assert.ok(isOmitted(kept));
  assert.equal(kept.$omitted.head, 'a'.repeat(199));
});
