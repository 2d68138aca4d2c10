// Large text and bytes fields of NDJSON and CSV are written straight to their bytes rather than
// as JavaScript text: the bytes must be exactly those of the text encoders, for every character
// JSON and CSV escape, every UTF-8 width, text JSON.stringify escapes itself (a lone
// surrogate), and bytes of every length modulo 3 (base64's padding).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  csvEncoder,
  csvField,
  jsonEncoder,
  LARGE_FIELD,
  largeCsvField,
  largeJsonField,
} from '../../src/connectors/objectstore/codec-text.js';
import { parseType } from '../../src/core/types.js';
import { largeBytes, largeText } from '../fixtures/large.js';

const text = parseType('text');
const bytes = parseType('bytes');
const controls = Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c)).join('');
const texts = [
  largeText(3 << 20, 5),
  `${controls}"\\/ \u007f\u0080 é 日本 🚢 \u2028\u2029`.repeat(3000),
  'no character to escape, only ascii and é'.repeat(3000),
  'a lone surrogate \ud800 then more'.repeat(3000),
  '\udc00 starts it'.repeat(LARGE_FIELD),
  '"'.repeat(LARGE_FIELD),
];
const blobs = [0, 1, 2].map((extra) => largeBytes((3 << 20) + extra, extra + 1));

test('a large NDJSON field: the bytes of the text encoder', () => {
  for (const [i, s] of texts.entries())
    assert.ok(largeJsonField(text)(s)!.equals(Buffer.from(jsonEncoder(text)(s), 'utf8')), `text ${i + 1}`);
  for (const [i, b] of blobs.entries())
    assert.ok(largeJsonField(bytes)(b)!.equals(Buffer.from(jsonEncoder(bytes)(b), 'utf8')), `bytes ${i + 1}`);
  assert.equal(largeJsonField(text)('small'), undefined);
  assert.equal(largeJsonField(parseType('json'))(texts[0]), undefined);
});

test('a large CSV field: the bytes of csvField, quoted and its quotes doubled when it needs it', () => {
  for (const [i, s] of [...texts, 'plain text without quotes'.repeat(3000)].entries())
    assert.ok(largeCsvField(text)(s)!.equals(Buffer.from(csvField(csvEncoder(text)(s)), 'utf8')), `text ${i + 1}`);
  for (const [i, b] of blobs.entries())
    assert.ok(largeCsvField(bytes)(b)!.equals(Buffer.from(csvField(csvEncoder(bytes)(b)), 'utf8')), `bytes ${i + 1}`);
  assert.equal(largeCsvField(bytes)(new Uint8Array(10)), undefined);
});
