// Binary COPY from column batches (postgres/column-write.ts) against binary COPY from rows
// (binary-write.ts, what PostgreSQL takes in the contract suite): the same bytes, value for
// value, over decimals of every scale and width, timestamps either side of the epochs, dates,
// integers, floats, booleans, text, jsonb and NULLs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnLayout, type ColumnBatch } from '../../src/core/columns.js';
import { parseType, type CanonicalType } from '../../src/core/types.js';
import { BinaryWriter, scalarEncoder } from '../../src/connectors/postgres/binary-write.js';
import { columnEncoderFor, encodeColumns } from '../../src/connectors/postgres/column-write.js';
import { ValueError } from '../../src/connectors/postgres/temporal.js';
import { familyOf, type ScalarFamily } from '../../src/connectors/postgres/wire.js';
import { columnBatchesOf } from '../contract/column-batches.js';

async function batchesOf(rows: unknown[][], types: CanonicalType[], size: number): Promise<ColumnBatch[]> {
  const out: ColumnBatch[] = [];
  // a batch's buffers are written again once it is recycled: these are never recycled
  for await (const batch of columnBatchesOf(rows, types, size)) out.push(batch);
  return out;
}

async function columnBytes(types: CanonicalType[], rows: unknown[][]): Promise<Buffer> {
  const encoders = types.map((t) => columnEncoderFor(columnLayout(t)!, t, familyOf(t))!);
  const w = new BinaryWriter(64);
  const out: Buffer[] = [];
  const flush = async (b: Buffer) => void out.push(Buffer.from(b));
  const names = types.map((_, i) => `c${i}`);
  for (const batch of await batchesOf(rows, types, 7)) await encodeColumns(w, batch, encoders, names, flush);
  out.push(w.take());
  return Buffer.concat(out);
}

function rowBytes(types: CanonicalType[], rows: unknown[][]): Buffer {
  const encoders = types.map((t) => scalarEncoder(familyOf(t) as ScalarFamily));
  const w = new BinaryWriter();
  for (const row of rows) {
    w.ensure(2);
    w.int16(types.length);
    row.forEach((v, i) => {
      if (v === null) {
        w.ensure(4);
        w.int32(-1);
      } else encoders[i]!(w, v);
    });
  }
  return Buffer.from(w.take());
}

/** A decimal of `digits` random digits at `scale`, sometimes negative, as canonical text. */
function randomDecimal(digits: number, scale: number, next: () => number): string {
  let s = '';
  for (let i = 0; i < digits; i++) s += String(Math.floor(next() * 10));
  s = s.padStart(scale + 1, '0');
  const point = s.length - scale;
  const text = `${s.slice(0, point).replace(/^0+(?=\d)/, '')}${scale > 0 ? '.' + s.slice(point) : ''}`;
  return next() < 0.3 ? `-${text}` : text;
}

function atScale(v: string, scale: number): string {
  const [whole, fraction = ''] = v.split('.');
  return scale > 0 ? `${whole}.${fraction.padEnd(scale, '0')}` : whole!;
}

/** a small deterministic generator: every run checks the same values */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

test('decimals of every scale and width: the same numeric bytes as from their text', async () => {
  const next = seeded(7);
  for (const [precision, scale] of [
    [1, 0],
    [4, 4],
    [10, 2],
    [12, 2],
    [15, 3],
    [18, 0],
    [18, 6],
    [18, 12],
    [18, 13],
    [18, 18],
    [20, 6],
    [38, 0],
    [38, 10],
  ] as const) {
    const t = parseType(`decimal(${precision},${scale})`);
    const values = ['0', '-0', '1', '-1', '10000', '9999', '100000000'].map((v) =>
      scale > 0 && precision - scale >= 9 ? `${v}.${'0'.repeat(scale - 1)}1` : precision - scale >= 9 ? v : '0',
    );
    for (let i = 0; i < 300; i++) values.push(randomDecimal(1 + Math.floor(next() * precision), scale, next));
    // the text a source gives: every place of the scale (PostgreSQL keeps the column's scale either way)
    const canonical = values.map((v) => atScale(/^-0(\.0*)?$/.test(v) ? v.slice(1) : v, scale));
    const rows = canonical.map((v) => [v]);
    assert.deepEqual(
      await columnBytes([t], rows),
      rowBytes([t], rows),
      `decimal(${precision},${scale}): ${canonical.slice(0, 12).join(' ')} …`,
    );
  }
});

test('timestamps, dates, integers, floats, booleans, text, jsonb and NULLs: the same bytes as from rows', async () => {
  const types = [
    'int64',
    'int32',
    'int16',
    'timestamp(6)',
    'timestamptz(6)',
    'date',
    'float64',
    'float32',
    'bool',
    'text',
    'jsonb',
    'bytes',
  ].map(parseType);
  const rows: unknown[][] = [
    [
      9007199254740993n,
      -2147483648,
      -32768,
      '1999-12-31 23:59:59.999999',
      '2000-01-01 00:00:00Z',
      '1999-12-31',
      -0.5,
      1.5,
      true,
      'façade ☃ 𝄞',
      '{"a": [1, 2]}',
      new Uint8Array([0, 255, 1]),
    ],
    [
      -9223372036854775808n,
      2147483647,
      32767,
      '1970-01-01 00:00:00',
      '4713-01-01 12:00:00.5Z',
      '2000-01-01',
      1e300,
      -3.25,
      false,
      'x'.repeat(300),
      '[]',
      new Uint8Array(100).fill(7),
    ],
    [
      0n,
      0,
      0,
      '200000-12-31 23:59:59.999999',
      '1900-02-28 01:02:03.000004Z',
      '0001-01-01',
      0,
      0,
      true,
      '',
      'null',
      new Uint8Array(0),
    ],
    [null, null, null, null, null, null, null, null, null, null, null, null],
  ];
  assert.deepEqual(await columnBytes(types, rows), rowBytes(types, rows));
});

test('a value its column cannot hold fails with the column named', async () => {
  const t = parseType('int32');
  const encoders = [columnEncoderFor('int32', t, 'int2')!];
  const [batch] = await batchesOf([[1], [40000]], [t], 10);
  await assert.rejects(
    encodeColumns(new BinaryWriter(), batch!, encoders, ['small'], async () => {}),
    (e: Error) => e instanceof ValueError && e.message === 'column small: 40000 is not a smallint',
  );
  assert.equal(columnEncoderFor('int32', parseType('int32'), 'date'), undefined, 'an integer is no date');
  assert.equal(columnEncoderFor('int64', parseType('int64'), 'timestamp'), undefined, 'nor a timestamp');
});
