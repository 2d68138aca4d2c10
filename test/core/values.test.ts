import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { daysFromCivil, formatDays } from '../../src/core/calendar.js';
import { DigestBuilder, rowHash, rowText } from '../../src/core/digest.js';
import { parseType, formatType } from '../../src/core/types.js';
import {
  alwaysFits,
  canonicalJson,
  canonicalText,
  convertValue,
  misfit,
  normalizeDecimal,
  stateParse,
  stateStringify,
} from '../../src/core/values.js';
import { largeBytes, largeText } from '../fixtures/large.js';

test('decimal text is normalised without losing digits', () => {
  assert.equal(normalizeDecimal('0012.3400'), '12.34');
  assert.equal(normalizeDecimal('-0.000'), '0');
  assert.equal(normalizeDecimal('+5'), '5');
  assert.equal(normalizeDecimal('1.5e3'), '1500');
  assert.equal(normalizeDecimal('12e-4'), '0.0012');
  assert.equal(normalizeDecimal('99999999999999999999999999999999999999'), '99999999999999999999999999999999999999');
  assert.equal(normalizeDecimal('-Infinity'), '-Infinity');
  assert.equal(normalizeDecimal('nan'), 'NaN');
  for (const [t, want] of [
    ['-0', '0'],
    ['0', '0'],
    ['-0.5', '-0.5'],
    ['12', '12'],
    ['1.50', '1.5'],
    [' 1', '1'],
  ])
    assert.equal(normalizeDecimal(t), want, t);
});

test('canonical JSON sorts keys, drops white space and keeps big numbers', () => {
  assert.equal(canonicalJson('{"b": 1, "a": [1.50, {"d": null, "c": true}]}'), '{"a":[1.5,{"c":true,"d":null}],"b":1}');
  assert.equal(canonicalJson('{"n": 123456789012345678901234567890}'), '{"n":123456789012345678901234567890}');
  assert.equal(canonicalJson('"😀"'), '"😀"');
  // strings with escapes or control characters are decoded and written again, keys sorted by their decoded text
  assert.equal(canonicalJson('{"\\u0062": "\\u00e9\\n", "a\\"": "x"}'), '{"a\\"":"x","b":"é\\n"}');
  assert.equal(canonicalJson('[ -0 , 007 , 1.50e1 , "\\ud800" ]'), '[0,7,15,"\\ud800"]');
  // what is no JSON comes back as it is
  for (const t of ['{"a": 1', '{"a" 1}', '"abc', '[1 2]', '{"a": "\u0001"}', `[${'9'.repeat(401)}]`])
    assert.equal(canonicalJson(t), t);
});

test('canonical text tells NULL from the empty string and keeps -0, NaN and float32 exactly', () => {
  const text = parseType('text');
  assert.notEqual(canonicalText(null, text), canonicalText('', text));
  assert.equal(canonicalText(-0, parseType('float64')), '-0');
  assert.equal(canonicalText(NaN, parseType('float64')), 'NaN');
  assert.equal(canonicalText(Math.fround(0.1), parseType('float32')), '0.1');
  assert.equal(canonicalText('2024-01-01T10:00:00.120000+00', parseType('timestamptz(6)')), '2024-01-01 10:00:00.12Z');
  assert.equal(canonicalText(['b', 'a'], parseType("set('a','b')")), 'a,b');
  assert.equal(canonicalText('ab  ', parseType('char(4)')), 'ab');
});

test('type text forms round-trip', () => {
  for (const t of [
    'int8',
    'uint64',
    'decimal(38,10)',
    'decimal',
    'float32',
    'bool',
    'text',
    'varchar(20)',
    'char(3)',
    'bytes',
    'binary(16)',
    'date',
    'time(6)',
    'timetz(3)',
    'timestamp(0)',
    'timestamptz(6)',
    'year',
    "enum('a','it''s')",
    "set('x','y')",
    'json',
    'jsonb',
    'uuid',
    'array<array<int32>>',
    'bit(8)',
    'varbit(4)',
    'interval',
  ])
    assert.equal(formatType(parseType(t)), t);
  assert.throws(() => parseType('integer'), /unknown canonical type "integer"/);
});

test('fit checks name the problem', () => {
  assert.match(misfit(300, parseType('int8'))!, /300 is outside the range of int8/);
  assert.match(misfit('123.456', parseType('decimal(5,2)'))!, /3 decimal places/);
  assert.match(misfit('1234.5', parseType('decimal(5,2)'))!, /4 integer digits/);
  assert.equal(misfit('123.45', parseType('decimal(5,2)')), undefined);
  assert.match(misfit('😀😀😀', parseType('varchar(2)'))!, /3 characters/);
  assert.equal(misfit('😀😀', parseType('varchar(2)')), undefined);
  assert.match(misfit(2, parseType('bool'))!, /not a boolean/);
  assert.match(misfit('abc', parseType('int64'))!, /not an integer/);
  assert.ok(alwaysFits(parseType('int32'), parseType('int64')));
  assert.ok(!alwaysFits(parseType('int64'), parseType('int32')));
  assert.ok(alwaysFits(parseType('decimal(10,2)'), parseType('decimal(12,2)')));
  assert.ok(!alwaysFits(parseType('decimal(10,2)'), parseType('decimal(10,3)')));
});

test('casts convert exactly or refuse', () => {
  assert.equal(convertValue('42', parseType('text'), parseType('int64')), 42n);
  assert.equal(convertValue(1, parseType('int8'), parseType('bool')), true);
  assert.equal(
    convertValue('2024-05-01 10:00:00.5Z', parseType('timestamptz(6)'), parseType('timestamp(6)')),
    '2024-05-01 10:00:00.5',
  );
  assert.equal(convertValue('2024-05-01 10:00:00', parseType('timestamp(0)'), parseType('date')), '2024-05-01');
  assert.deepEqual(convertValue([1, 2], parseType('array<int32>'), parseType('json')), '[1,2]');
  assert.throws(
    () => convertValue('abc', parseType('text'), parseType('int32')),
    /cannot convert "abc" from text to int32/,
  );
});

test('a time, of a day or a duration, is the interval of that length, as PostgreSQL writes it in ISO 8601', () => {
  const asInterval = (t: string) => convertValue(t, parseType('time(6)'), parseType('interval'));
  // psql, IntervalStyle iso_8601: SELECT '-838:59:59'::interval, …
  assert.deepEqual(
    ['-838:59:59', '25:00:00', '00:00:00', '-00:00:01.5', '09:30:00.000001', '-01:00:00', '838:59:59.999999'].map(
      asInterval,
    ),
    ['PT-838H-59M-59S', 'PT25H', 'PT0S', 'PT-1.5S', 'PT9H30M0.000001S', 'PT-1H', 'PT838H59M59.999999S'],
  );
  assert.throws(() => asInterval('noon'), /cannot convert "noon" from time\(6\) to interval/);
});

test('canonical text of bytes is their hex in a column of any type (a SQLite column may hold a blob)', () => {
  const blob = new Uint8Array([104, 105]);
  assert.equal(canonicalText(blob, parseType('text')), '6869');
  assert.equal(canonicalText(Buffer.from(blob), parseType('text')), '6869');
  assert.equal(canonicalText('hi', parseType('bytes')), 'hi');
});

test('state JSON keeps bigint and bytes', () => {
  const v = { a: [1n << 70n, new Uint8Array([0, 255])], b: 'x' };
  assert.deepEqual(stateParse(stateStringify(v)), v);
});

test('a row with a large value hashes as the MD5 of its whole text, wherever the value is', () => {
  const types = ['int32', 'text', 'bytes', 'text'].map((t) => parseType(t));
  const large = largeText(1 << 20);
  for (const row of [
    [1, large, largeBytes(1 << 19), 'é'],
    [2, 'before', null, large],
    [3, 'x'.repeat((1 << 20) - 20), new Uint8Array([0, 255]), 'after'],
    [4, 'small', new Uint8Array([1]), 'row'],
  ])
    assert.deepEqual(rowHash(row, types), createHash('md5').update(rowText(row, types)).digest(), `row ${row[0]}`);
});

test('digests ignore row order and see duplicates', () => {
  const types = [parseType('int64'), parseType('text')];
  const d = (rows: unknown[][]) => {
    const b = new DigestBuilder(types);
    rows.forEach((r) => b.add(r));
    return b.result();
  };
  assert.deepEqual(
    d([
      [1n, 'a'],
      [2n, 'b'],
    ]),
    d([
      [2n, 'b'],
      [1n, 'a'],
    ]),
  );
  assert.notDeepEqual(
    d([
      [1n, 'a'],
      [1n, 'a'],
    ]).sum,
    d([
      [2n, 'b'],
      [2n, 'b'],
    ]).sum,
  );
  assert.notDeepEqual(
    d([
      [1n, 'a'],
      [1n, 'a'],
      [2n, 'b'],
      [2n, 'b'],
    ]).sum,
    d([]).sum,
  );
  assert.notDeepEqual(d([[1n, null]]).sum, d([[1n, '']]).sum);
});

test('calendar arithmetic round-trips every day from 4713 BC to 294276 AD without Date', () => {
  assert.equal(daysFromCivil(1970, 1, 1), 0);
  assert.equal(formatDays(daysFromCivil(2000, 2, 29)), '2000-02-29');
  assert.equal(formatDays(daysFromCivil(-43, 3, 15)), '-0043-03-15');
  assert.equal(formatDays(daysFromCivil(12345, 12, 31)), '12345-12-31');
  assert.equal(formatDays(-1), '1969-12-31');
  for (let d = daysFromCivil(-4713, 1, 1); d < daysFromCivil(294276, 1, 1); d += 997) {
    const [, sign, y, m, day] = /^(-?)(\d+)-(\d\d)-(\d\d)$/.exec(formatDays(d))!;
    assert.equal(daysFromCivil(Number(sign + y), Number(m), Number(day)), d);
  }
});
