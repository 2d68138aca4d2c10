// The object store target: the shared target contract on a local folder (Parquet, NDJSON,
// CSV) and on a real S3 API server, the type map, the files as DuckDB reads them, layout and
// replays, S3 uploads and their errors.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { objectStoreConnector } from '../../src/connectors/objectstore/index.js';
import { ColumnBuilder, writeIntLE, type ColumnBatch } from '../../src/core/columns.js';
import type { Connector, TargetTable } from '../../src/core/contracts.js';
import { compareFor, inRange } from '../../src/connectors/objectstore/keys.js';
import { decodeLevels } from '../../src/connectors/objectstore/parquet/read.js';
import { encodeLevels } from '../../src/connectors/objectstore/parquet/write.js';
import { silentLogger } from '../../src/core/log.js';
import type { CanonicalType } from '../../src/core/types.js';
import { formatType, parseType } from '../../src/core/types.js';
import { formatFloat, normalizeDecimal, stateParse } from '../../src/core/values.js';
import { actualText, batchesOf, collect, expectedText, tableFor, targetContract } from '../contract/target-contract.js';
import { edgeColumns, edgeRows, parentColumns, parentRows, type EdgeColumn } from '../fixtures/edge.js';
import { tmpDir } from '../helpers.js';
import { duckdb, startDenyingProxy, startS3, type S3Server } from './objectstore-servers.js';

const open = (url: string, options?: Record<string, unknown>) =>
  objectStoreConnector.connect({ url, log: silentLogger, options });
const codeIs = (code: string, message?: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, code, e.message);
  if (message) assert.match(e.message, message);
  assert.doesNotMatch(e.message, /\n/);
  return true;
};
const col = (name: string, type: string): EdgeColumn => ({ name, type: parseType(type) });

/** Every file under a folder, relative to it. */
function filesUnder(dir: string): string[] {
  return (
    readdirSync(dir, { recursive: true, withFileTypes: true }) as {
      name: string;
      parentPath: string;
      isFile(): boolean;
    }[]
  )
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

let s3: S3Server;
before(async () => {
  s3 = await startS3();
});
after(async () => s3.stop());

targetContract('objectstore: folder, parquet', {
  open: () => open(`file:${tmpDir('ferry-os-')}`),
  floatSpecials: true,
  columns: true,
  enforcesUniqueKeys: false,
});
targetContract('objectstore: folder, ndjson.gz', {
  open: () => open(`file:${tmpDir('ferry-os-')}?format=ndjson&compression=gzip`),
  floatSpecials: true,
  columns: true,
  enforcesUniqueKeys: false,
});
targetContract('objectstore: folder, csv', {
  open: () => open(`file:${tmpDir('ferry-os-')}`, { format: 'csv' }),
  floatSpecials: true,
  columns: true,
  enforcesUniqueKeys: false,
});
targetContract('objectstore: s3, parquet', {
  open: () => open(s3.url('contract')),
  floatSpecials: true,
  columns: true,
  enforcesUniqueKeys: false,
});

describe('objectstore type map', () => {
  let conn: Connector;
  before(async () => {
    conn = await open(`file:${tmpDir('ferry-os-')}`);
  });
  after(async () => conn.close());

  test('canonical types with a Parquet equivalent come back from the native type ferry writes', () => {
    const exact = [
      ...edgeColumns.map((c) => c.type),
      ...[
        'decimal(9,2)',
        'decimal(18,4)',
        'decimal(1,0)',
        'time(3)',
        'timestamp(3)',
        'timestamptz(3)',
        'varbit(5)',
        'array<array<int64>>',
        "array<enum('x','it''s')>",
        'array<decimal(20,2)>',
      ].map(parseType),
    ].filter((t) => !['int24', 'uint24', 'char(4)', 'varchar(50)', 'varbinary(16)', 'jsonb'].includes(formatType(t)));
    for (const t of exact)
      assert.equal(formatType(conn.canonicalType(conn.nativeType(t).native)), formatType(t), formatType(t));
  });

  test('the others become the nearest type that holds every value, with a note where something changes', () => {
    const cases: [string, string, boolean][] = [
      ['int24', 'INT32', false],
      ['uint24', 'UINT32', false],
      ['varchar(50)', 'STRING', false],
      ['char(4)', 'STRING', false],
      ['varbinary(16)', 'BINARY', false],
      ['jsonb', 'JSON', false],
      ['timestamp(0)', 'TIMESTAMP(MICROS)', false],
      ['timestamptz(2)', 'TIMESTAMP(MICROS,UTC)', false],
      ['time(0)', 'TIME(MICROS)', false],
      ['decimal', 'STRING', true],
      ['decimal(65,30)', 'STRING', true],
      ['timetz(6)', 'STRING', true],
      ['interval', 'STRING', true],
      ['array<interval>', 'LIST<STRING>', true],
    ];
    for (const [canonical, native, noted] of cases) {
      const choice = conn.nativeType(parseType(canonical));
      assert.equal(choice.native, native, canonical);
      assert.equal(choice.note !== undefined, noted, `${canonical}: ${choice.note}`);
    }
  });

  test('native types are read case-insensitively, with spaces, and unknown ones are refused with the list', () => {
    assert.equal(formatType(conn.canonicalType(' decimal( 12 , 2 ) ')), 'decimal(12,2)');
    assert.equal(formatType(conn.canonicalType('list<timestamp(millis,utc)>')), 'array<timestamptz(3)>');
    assert.equal(formatType(conn.canonicalType("ENUM('Small','it''s')")), "enum('Small','it''s')");
    assert.throws(
      () => conn.canonicalType('VARCHAR(10)'),
      codeIs('PLAN_INVALID', /unknown object store column type "VARCHAR\(10\)"/),
    );
    assert.throws(() => conn.canonicalType('DECIMAL(5,7)'), codeIs('PLAN_INVALID'));
  });

  test('timestampUnit=millis writes millisecond timestamps and says what finer values become', async () => {
    const millis = await open(`file:${tmpDir('ferry-os-')}?timestampUnit=millis`);
    try {
      assert.deepEqual(millis.nativeType(parseType('timestamptz(6)')), {
        native: 'TIMESTAMP(MILLIS,UTC)',
        note: 'milliseconds (target.options.timestampUnit): values with finer fractions of a second are refused',
      });
      assert.equal(millis.nativeType(parseType('timestamp(3)')).native, 'TIMESTAMP(MILLIS)');
      assert.equal(millis.nativeType(parseType('timestamp(3)')).note, undefined);
    } finally {
      await millis.close();
    }
  });
});

/** DuckDB's text of every edge column, and the same from the fixture, row by row. */
const DUCK_TYPES: Record<string, string> = {
  id: 'INTEGER',
  i8: 'TINYINT',
  u8: 'UTINYINT',
  i16: 'SMALLINT',
  u16: 'USMALLINT',
  i24: 'INTEGER',
  u24: 'UINTEGER',
  i32: 'INTEGER',
  u32: 'UINTEGER',
  i64: 'BIGINT',
  u64: 'UBIGINT',
  dec38: 'DECIMAL(38,0)',
  dec3810: 'DECIMAL(38,10)',
  money: 'DECIMAL(10,2)',
  f32: 'FLOAT',
  f64: 'DOUBLE',
  flag: 'BOOLEAN',
  code: 'VARCHAR',
  label: 'VARCHAR',
  body: 'VARCHAR',
  blob: 'BLOB',
  vbin: 'BLOB',
  day: 'DATE',
  clock: 'TIME',
  stamp: 'TIMESTAMP',
  stamptz: 'TIMESTAMP WITH TIME ZONE',
  yr: 'SMALLINT',
  size: 'VARCHAR',
  perms: 'VARCHAR[]',
  doc: 'JSON',
  docb: 'JSON',
  uid: 'UUID',
  nums: 'INTEGER[]',
  tags: 'VARCHAR[]',
  bits: 'VARCHAR',
};

function duckExpression(c: EdgeColumn): string {
  const q = `"${c.name}"`;
  switch (c.type.kind) {
    case 'bytes':
      return `hex(${q})`;
    case 'set':
    case 'array':
      return `to_json(${q})::VARCHAR`;
    default:
      return `${q}::VARCHAR`;
  }
}

function expectedDuckText(v: unknown, t: CanonicalType): string | null {
  if (v === null) return null;
  switch (t.kind) {
    case 'bytes':
      return Buffer.from(v as Uint8Array)
        .toString('hex')
        .toUpperCase();
    case 'set':
    case 'array':
      return JSON.stringify(v);
    case 'decimal':
      return normalizeDecimal(String(v));
    case 'float':
      return formatFloat(v as number, t.bits);
    case 'timestamp':
      return t.tz ? String(v).replace(/Z$/, '+00') : String(v);
    default:
      return String(v);
  }
}

function actualDuckText(v: unknown, t: CanonicalType): string | null {
  if (v === null) return null;
  if (t.kind === 'decimal') return normalizeDecimal(String(v));
  if (t.kind === 'float') return String(Number(v));
  return String(v);
}

describe('objectstore key order', () => {
  test('a timestamp is the same key however many trailing zeros its fraction is written with', () => {
    const cmp = compareFor(parseType('timestamp(6)'))!;
    assert.equal(cmp('2004-12-11 09:49:31.33287', '2004-12-11 09:49:31.332870'), 0);
    assert.equal(cmp('2004-12-11 09:49:31', '2004-12-11 09:49:31.000000'), 0);
    assert.ok(cmp('2004-12-11 09:49:31.3', '2004-12-11 09:49:31.25') > 0);
    assert.ok(cmp('2004-12-11 09:49:31', '2004-12-11 09:49:31.5') < 0);
    // a chunk whose bound is the key as another engine spells it holds the row
    const key = [parseType('timestamp(6)'), parseType('int64')].map((t) => compareFor(t)!);
    const row = ['2004-12-11 09:49:31.332870', 4685251125182465n];
    assert.ok(inRange(row, { lower: ['2004-12-11 09:49:31.33287', 4685251125182465n] }, key));
    assert.ok(!inRange(row, { upper: ['2004-12-11 09:49:31.33287', 4685251125182465n] }, key));
  });
});

describe('Parquet levels', () => {
  test('the RLE / bit-packed hybrid gives back every level, for every width and mix of runs', () => {
    // a deterministic generator: long runs, short runs and noise, for widths 1 to 4
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let t = 0; t < 2000; t++) {
      const bitWidth = 1 + (t % 4);
      const count = 1 + Math.floor(next() * 400);
      const change = [0.02, 0.2, 0.7][t % 3]!;
      const levels = new Uint8Array(count);
      let v = 0;
      for (let i = 0; i < count; i++) {
        if (next() < change) v = Math.floor(next() * (1 << bitWidth));
        levels[i] = v;
      }
      const encoded = encodeLevels(levels, count, bitWidth);
      assert.deepEqual(
        decodeLevels(encoded, 0, encoded.length, bitWidth, count),
        levels,
        `width ${bitWidth}, ${count} levels`,
      );
    }
  });
});

describe('Parquet files as DuckDB reads them', () => {
  let dir: string;
  let conn: Connector;
  before(async () => {
    dir = tmpDir('ferry-os-');
    conn = await open(`file:${dir}`);
  });
  after(async () => conn.close());

  test('every canonical type has its Parquet logical type and its exact value', async () => {
    const t = tableFor(conn, 'edge', edgeColumns);
    await conn.target!().prepare(t, 'fail');
    await conn.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(edgeRows));
    await conn.target!().finishTable(t);
    const files = `read_parquet('${dir}/edge/*.parquet')`;
    const types = Object.fromEntries((await duckdb(`DESCRIBE SELECT * FROM ${files}`)).map((r) => [r[0], r[1]]));
    assert.deepEqual(types, DUCK_TYPES);
    const rows = await duckdb(`SELECT ${edgeColumns.map(duckExpression).join(', ')} FROM ${files} ORDER BY id`);
    assert.equal(rows.length, edgeRows.length);
    rows.forEach((row, r) =>
      edgeColumns.forEach((c, i) =>
        assert.equal(
          actualDuckText(row[i], c.type),
          expectedDuckText(edgeRows[r]![i], c.type),
          `row ${r + 1}, column ${c.name}`,
        ),
      ),
    );
  });

  test('dates and timestamps far from 1970, before year 1, and in milliseconds', async () => {
    const cols = [
      col('id', 'int32'),
      col('d', 'date'),
      col('ts', 'timestamp(6)'),
      col('tz', 'timestamptz(6)'),
      col('t3', 'time(3)'),
    ];
    const rows = [
      [1, '0001-01-01', '0001-01-01 00:00:00', '0001-01-01 00:00:00.000001Z', '00:00:00.001'],
      [2, '-0043-03-15', '-0043-03-15 12:30:00.5', '-0043-03-15 12:30:00Z', '23:59:59.999'],
      [3, '2262-04-11', '2262-04-11 23:47:16.854775', '1677-09-21 00:12:43.145224Z', '12:00:00'],
      [4, '9999-12-31', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999Z', '24:00:00'],
    ];
    const t = tableFor(conn, 'far', cols);
    await conn.target!().prepare(t, 'drop');
    await conn.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(rows));
    assert.deepEqual(actualText(await collect(conn.target!().readBack(t, {}, 10)), t), expectedText(rows, cols, t));
    const duck = await duckdb(
      `SELECT d::VARCHAR, ts::VARCHAR, tz::VARCHAR, t3::VARCHAR FROM read_parquet('${dir}/far/*.parquet') ORDER BY id`,
    );
    assert.deepEqual(duck[0], ['0001-01-01', '0001-01-01 00:00:00', '0001-01-01 00:00:00.000001+00', '00:00:00.001']);
    // DuckDB writes astronomical year -43 as 44 BC
    assert.deepEqual(duck[1], [
      '0044-03-15 (BC)',
      '0044-03-15 (BC) 12:30:00.5',
      '0044-03-15 (BC) 12:30:00+00',
      '23:59:59.999',
    ]);
    assert.deepEqual(duck[3], [
      '9999-12-31',
      '9999-12-31 23:59:59.999999',
      '9999-12-31 23:59:59.999999+00',
      '24:00:00',
    ]);
  });

  test('nested lists, NULL elements and empty lists keep their shape', async () => {
    const cols = [
      col('id', 'int32'),
      col('grid', 'array<array<int64>>'),
      col('amounts', 'array<decimal(20,2)>'),
      col('words', 'array<text>'),
    ];
    const rows = [
      [1, [[1n, 2n], [], [3n, null]], ['1.50', null, '-99999999999999999.99'], ['a', null, '']],
      [2, [], [], []],
      [3, null, null, null],
      [4, [null, [9223372036854775807n]], ['0.01'], ['x']],
    ];
    const t = tableFor(conn, 'lists', cols);
    await conn.target!().prepare(t, 'drop');
    await conn.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(rows));
    assert.deepEqual(actualText(await collect(conn.target!().readBack(t, {}, 10)), t), expectedText(rows, cols, t));
    const duck = await duckdb(
      `SELECT to_json(grid)::VARCHAR, amounts::VARCHAR, to_json(words)::VARCHAR FROM read_parquet('${dir}/lists/*.parquet') ORDER BY id`,
    );
    assert.deepEqual(duck, [
      ['[[1,2],[],[3,null]]', '[1.50, NULL, -99999999999999999.99]', '["a",null,""]'],
      ['[]', '[]', '[]'],
      [null, null, null],
      ['[null,[9223372036854775807]]', '[0.01]', '["x"]'],
    ]);
  });

  test('many pages, row groups and files per chunk, snappy or uncompressed, read alike by ferry and DuckDB', async () => {
    for (const compression of ['snappy', 'none']) {
      const d = tmpDir('ferry-os-');
      const small = await open(`file:${d}`, { compression, pageSize: 4096, rowGroupSize: '32KiB', fileSize: '64KiB' });
      try {
        const t = tableFor(small, 'parent', parentColumns);
        const rows = parentRows(20_000);
        await small.target!().prepare(t, 'fail');
        await small.target!().writeChunk(
          { table: t, range: {}, replace: false, isolate: false },
          batchesOf(rows, 3000),
        );
        await small.target!().finishTable(t);
        const parts = filesUnder(join(d, 'parent')).filter((f) => f.endsWith('.parquet'));
        assert.ok(parts.length >= 3, `several files: ${parts.join(', ')}`);
        const [meta] = await duckdb(
          `SELECT count(DISTINCT row_group_id), max(compression) FROM parquet_metadata('${d}/parent/*.parquet')`,
        );
        assert.ok(Number(meta![0]) >= 2, 'several row groups per file');
        assert.equal(meta![1], compression === 'none' ? 'UNCOMPRESSED' : 'SNAPPY');
        const [agg] = await duckdb(
          `SELECT count(*)::INT, count(DISTINCT id)::INT, sum(id)::VARCHAR, max(created)::VARCHAR FROM read_parquet('${d}/parent/*.parquet')`,
        );
        assert.deepEqual(agg, [20_000, 20_000, String((20_000 * 20_001) / 2), '2024-01-01 00:00:59.019979']);
        assert.deepEqual(
          actualText(await collect(small.target!().readBack(t, {}, 5000)), t),
          expectedText(rows, parentColumns, t),
        );
      } finally {
        await small.close();
      }
    }
  });

  test('zstd compresses at the level the options set, and DuckDB reads every level alike', async () => {
    const rows = parentRows(20_000);
    const bytes: number[] = [];
    for (const compressionLevel of [1, 19]) {
      const d = tmpDir('ferry-os-');
      const zstd = await open(`file:${d}?compressionLevel=${compressionLevel}`);
      try {
        const t = tableFor(zstd, 'parent', parentColumns);
        await zstd.target!().prepare(t, 'fail');
        await zstd.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(rows, 3000));
        await zstd.target!().finishTable(t);
        const parts = filesUnder(join(d, 'parent')).filter((f) => f.endsWith('.parquet'));
        bytes.push(parts.reduce((n, f) => n + statSync(join(d, 'parent', f)).size, 0));
        const [meta] = await duckdb(
          `SELECT min(compression), max(compression) FROM parquet_metadata('${d}/parent/*.parquet')`,
        );
        assert.deepEqual(meta, ['ZSTD', 'ZSTD']);
        const [agg] = await duckdb(
          `SELECT count(*)::INT, sum(id)::VARCHAR, max(created)::VARCHAR FROM read_parquet('${d}/parent/*.parquet')`,
        );
        assert.deepEqual(agg, [20_000, String((20_000 * 20_001) / 2), '2024-01-01 00:00:59.019979']);
        assert.deepEqual(
          actualText(await collect(zstd.target!().readBack(t, {}, 5000)), t),
          expectedText(rows, parentColumns, t),
        );
      } finally {
        await zstd.close();
      }
    }
    assert.ok(bytes[1]! < bytes[0]!, `level 19 (${bytes[1]} bytes) smaller than level 1 (${bytes[0]} bytes)`);
  });

  test('integer columns carry min/max statistics for pruning', async () => {
    const [stats] = await duckdb(
      `SELECT stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata('${dir}/edge/*.parquet') WHERE path_in_schema = 'i64'`,
    );
    assert.deepEqual(stats, ['-9223372036854775808', '9223372036854775807', 1n]);
  });
});

describe('objectstore layout, manifest and replays', () => {
  let dir: string;
  let conn: Connector;
  before(async () => {
    dir = tmpDir('ferry-os-');
    // uncompressed, so that a few thousand rows make several files
    conn = await open(`file:${dir}`, { compression: 'none', fileSize: '32KiB', rowGroupSize: '16KiB' });
  });
  after(async () => conn.close());

  test('the manifest, written last, lists every file with its rows and checksum, and the schema file the columns', async () => {
    const t = tableFor(conn, 'parent', parentColumns);
    await conn.target!().prepare(t, 'fail');
    const schema = JSON.parse(readFileSync(join(dir, 'parent', '_schema.json'), 'utf8'));
    assert.deepEqual(
      schema.columns.map((c: { name: string; type: string }) => `${c.name} ${c.type}`),
      ['id INT64', 'name STRING', 'created TIMESTAMP(MICROS)'],
    );
    assert.deepEqual(schema.primaryKey, ['id']);
    const rows = parentRows(3000);
    await conn.target!().writeChunk(
      { table: t, range: { upper: [1501n] }, replace: false, isolate: false },
      batchesOf(rows.slice(0, 1500)),
    );
    await conn.target!().writeChunk(
      { table: t, range: { lower: [1501n] }, replace: false, isolate: false },
      batchesOf(rows.slice(1500)),
    );
    assert.equal(filesUnder(join(dir, 'parent')).includes('_manifest.json'), false);
    await conn.target!().finishTable(t);
    const manifest = JSON.parse(readFileSync(join(dir, 'parent', '_manifest.json'), 'utf8'));
    assert.equal(manifest.complete, true);
    assert.equal(manifest.rows, 3000);
    assert.equal(manifest.chunks, 2);
    const data = filesUnder(join(dir, 'parent')).filter((f) => f.endsWith('.parquet'));
    assert.deepEqual(
      manifest.files.map((f: { path: string }) => f.path),
      data,
    );
    for (const f of manifest.files as { path: string; bytes: number; sha256: string; rows: number }[]) {
      const bytes = readFileSync(join(dir, 'parent', f.path));
      assert.equal(f.bytes, bytes.length);
      assert.equal(f.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.match(f.path, /^part-[0-9a-f]{16}-\d{4}\.parquet$/);
    }
    assert.equal(
      manifest.files.reduce((n: number, f: { rows: number }) => n + f.rows, 0),
      3000,
    );
    assert.deepEqual(manifest.schema.columns, schema.columns);
  });

  test('a replayed chunk that writes fewer files removes the extra files of its earlier attempt', async () => {
    const t = tableFor(conn, 'replay', parentColumns);
    await conn.target!().prepare(t, 'fail');
    const range = { lower: [1n] };
    await conn.target!().writeChunk({ table: t, range, replace: false, isolate: false }, batchesOf(parentRows(4000)));
    const before = filesUnder(join(dir, 'replay')).filter((f) => f.endsWith('.parquet'));
    assert.ok(before.length >= 3, before.join(', '));
    await conn.target!().writeChunk({ table: t, range, replace: true, isolate: false }, batchesOf(parentRows(500)));
    const after = filesUnder(join(dir, 'replay')).filter((f) => f.endsWith('.parquet'));
    assert.deepEqual(after, [before[0]]);
    assert.equal(await conn.target!().count(t, {}), 500);
    const [n] = await duckdb(`SELECT count(*)::INT FROM read_parquet('${dir}/replay/*.parquet')`);
    assert.equal(n![0], 500);
  });

  test('a chunk that fails half-way leaves no file behind', async () => {
    const t = tableFor(conn, 'halfway', parentColumns);
    await conn.target!().prepare(t, 'fail');
    async function* failing() {
      yield { rows: parentRows(2000) };
      throw new Error('source connection lost');
    }
    await assert.rejects(
      conn.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, failing()),
      /source connection lost/,
    );
    assert.deepEqual(filesUnder(join(dir, 'halfway')), ['_schema.json']);
  });

  test('partitions by value and by month of a timestamp, Hive-style, read by DuckDB with their values', async () => {
    const cols = [col('id', 'int64'), col('country', 'varchar(2)'), col('at', 'timestamptz(6)'), col('note', 'text')];
    const rows = Array.from({ length: 600 }, (_, i) => [
      BigInt(i + 1),
      i % 7 === 0 ? null : ['de', 'fr', 'a/b'][i % 3],
      `2024-${String((i % 3) + 4).padStart(2, '0')}-15 10:00:00Z`,
      `n${i}`,
    ]);
    const t: TargetTable = {
      ...tableFor(conn, 'events', cols),
      options: { partitionBy: ['country', { column: 'at', by: 'month' }] },
    };
    await conn.target!().prepare(t, 'fail');
    await conn.target!().writeChunk(
      { table: t, range: { upper: [301n] }, replace: false, isolate: false },
      batchesOf(rows.slice(0, 300)),
    );
    await conn.target!().writeChunk(
      { table: t, range: { lower: [301n] }, replace: false, isolate: false },
      batchesOf(rows.slice(300)),
    );
    const folders = new Set(
      filesUnder(join(dir, 'events'))
        .filter((f) => f.endsWith('.parquet'))
        .map((f) => f.slice(0, f.lastIndexOf('/'))),
    );
    assert.deepEqual([...folders].sort(), [
      'country=__HIVE_DEFAULT_PARTITION__/year=2024/month=04',
      'country=__HIVE_DEFAULT_PARTITION__/year=2024/month=05',
      'country=__HIVE_DEFAULT_PARTITION__/year=2024/month=06',
      'country=a%2Fb/year=2024/month=06',
      'country=de/year=2024/month=04',
      'country=fr/year=2024/month=05',
    ]);
    const duck = await duckdb(
      `SELECT country, year, month, count(*) FROM read_parquet('${dir}/events/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL`,
    );
    assert.equal(
      duck.reduce((n, r) => n + Number(r[3]), 0),
      600,
    );
    assert.ok(
      duck.some((r) => r[0] === 'a/b' && Number(r[2]) === 6),
      String(duck),
    );
    assert.equal(await conn.target!().count(t, { lower: [101n], upper: [451n] }), 350);
    assert.deepEqual(actualText(await collect(conn.target!().readBack(t, {}, 100)), t), expectedText(rows, cols, t));
    // a replay that no longer has rows for some partitions removes their files
    await conn.target!().writeChunk(
      { table: t, range: { lower: [301n] }, replace: true, isolate: false },
      batchesOf(rows.slice(300).filter((r) => r[1] === 'de')),
    );
    assert.equal(await conn.target!().count(t, { lower: [301n] }), rows.slice(300).filter((r) => r[1] === 'de').length);
    const [n] = await duckdb(`SELECT count(*)::INT FROM read_parquet('${dir}/events/**/*.parquet')`);
    assert.equal(n![0], 300 + rows.slice(300).filter((r) => r[1] === 'de').length);
  });

  test('a chunk over too many partitions stops with what to do', async () => {
    const few = await open(`file:${dir}`, { maxPartitionsPerChunk: 3 });
    try {
      const cols = [col('id', 'int64'), col('day', 'date')];
      const t: TargetTable = {
        ...tableFor(few, 'daily', cols),
        options: { partitionBy: { column: 'day', by: 'day' } },
      };
      await few.target!().prepare(t, 'drop');
      const rows = Array.from({ length: 10 }, (_, i) => [BigInt(i + 1), `2024-01-${String(i + 1).padStart(2, '0')}`]);
      await assert.rejects(
        few.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(rows)),
        codeIs('WRITE_FAILED', /daily writes more than 3 partitions/),
      );
      assert.deepEqual(filesUnder(join(dir, 'daily')), ['_schema.json']);
    } finally {
      await few.close();
    }
  });
});

describe('objectstore from column batches', () => {
  const columns = [col('id', 'int64'), col('name', 'text')];

  /** Batches of (id, "row id") for each list of ids, built as a source builds them; a batch recycled is overwritten at once, as a source would. */
  async function* batchesOfIds(ids: (number | bigint)[][], recycled: { count: number }): AsyncIterable<ColumnBatch> {
    for (const list of ids) {
      const key = new ColumnBuilder('int64', list.length);
      const name = new ColumnBuilder('bytes', list.length);
      for (const id of list) {
        writeIntLE(key, id, 8);
        const text = Buffer.from(`row ${id}`);
        name.bytes(text, 0, text.length);
      }
      const owned = [key.buffers(), name.buffers()];
      const batch: ColumnBatch = { rows: list.length, columns: [key.take(), name.take()] };
      batch.recycle = () => {
        recycled.count++;
        for (const b of owned) b.data.fill(0xee);
      };
      yield batch;
    }
  }

  test('recycled batches are not read again, and a key repeated across batches is found, in order or not', async () => {
    const dir = tmpDir('ferry-os-columns-');
    const conn = await open(`file:${dir}`);
    try {
      const target = conn.target!();
      const table = tableFor(conn, 'items', columns);
      assert.ok(target.takesColumns!(table));
      await target.prepare(table, 'drop');
      const recycled = { count: 0 };
      // increasing keys over three batches, then one out of order that is new: all written
      const ok = await target.writeColumns!(
        { table, range: { upper: [100n] }, replace: false, isolate: false },
        batchesOfIds(
          [
            [1, 2, 3],
            [4, 5],
            [7, 9],
            [8, 6],
          ],
          recycled,
        ),
      );
      assert.equal(ok.rows, 9);
      assert.equal(recycled.count, 4);
      // a key of the first batch, repeated after the order broke, and one repeated while keys still increased
      // and keys past 2^53, whose runs hold bigints
      const big = 2n ** 60n;
      // and keys that cross -2^53, where they turn from bigints into numbers
      const edge = -(2n ** 53n);
      for (const ids of [
        [[101, 102], [103, 104], [110, 105], [102]],
        [
          [201, 202],
          [203, 202],
        ],
        [
          [big + 1n, big + 2n],
          [big + 5n, big + 2n],
        ],
        [[edge - 2n, edge - 1n], [Number(edge), Number(edge) + 1], [Number(edge)]],
      ] as (number | bigint)[][][])
        await assert.rejects(
          target.writeColumns!(
            {
              table,
              range: { lower: [BigInt(ids[0]![0]!)], upper: [BigInt(ids[0]![0]!) + 99n] },
              replace: false,
              isolate: false,
            },
            batchesOfIds(ids, recycled),
          ),
          codeIs('WRITE_FAILED', new RegExp(`duplicate primary key \\(id\\) = \\(${ids.at(-1)!.at(-1)}\\)`)),
        );
      await target.finishTable(table);
      const rows = await duckdb(`SELECT id::INT, name FROM read_parquet('${dir}/items/*.parquet') ORDER BY id`);
      assert.deepEqual(
        rows,
        [1, 2, 3, 4, 5, 6, 7, 8, 9].map((id) => [id, `row ${id}`]),
      );
    } finally {
      await conn.close();
    }
  });
  test('column batches roll over into several files and row groups on the encoding thread, byte for byte the files rows make', async () => {
    // 12,000 rows in batches of 1,000: row groups of 1,500 rows (batches split across them), a new file past 6 KiB
    const options = { fileSize: '6KiB', rowGroupRows: 1500 };
    const ids = Array.from({ length: 12 }, (_, b) => Array.from({ length: 1000 }, (_, i) => b * 1000 + i + 1));
    const range = { upper: [20_000n] };
    const written: Record<string, Record<string, string>> = {};
    for (const path of ['columns', 'rows']) {
      const dir = tmpDir(`ferry-os-${path}-files-`);
      const conn = await open(`file:${dir}`, options);
      try {
        const target = conn.target!();
        const table = tableFor(conn, 'items', columns);
        await target.prepare(table, 'drop');
        const chunk = { table, range, replace: false, isolate: false };
        const result =
          path === 'columns'
            ? await target.writeColumns!(chunk, batchesOfIds(ids, { count: 0 }))
            : await target.writeChunk(chunk, batchesOf(ids.flat().map((id) => [BigInt(id), `row ${id}`])));
        assert.equal(result.rows, 12_000);
        await target.finishTable(table);
        const files = filesUnder(join(dir, 'items')).filter((f) => f.endsWith('.parquet'));
        written[path] = Object.fromEntries(
          files.map((f) => [
            f,
            createHash('sha256')
              .update(readFileSync(join(dir, 'items', f)))
              .digest('hex'),
          ]),
        );
        const manifest = JSON.parse(readFileSync(join(dir, 'items', '_manifest.json'), 'utf8')) as { rows: number };
        assert.equal(manifest.rows, 12_000);
        const [counts] = await duckdb(
          `SELECT count(*)::INT, count(DISTINCT id)::INT, min(id)::INT, max(id)::INT, count(*) FILTER (WHERE name = 'row ' || id)::INT FROM read_parquet('${dir}/items/*.parquet')`,
        );
        assert.deepEqual(counts, [12_000, 12_000, 1, 12_000, 12_000]);
      } finally {
        await conn.close();
      }
    }
    assert.ok(Object.keys(written.columns!).length > 2, JSON.stringify(written.columns));
    assert.deepEqual(written.columns, written.rows);
  });
});

describe('objectstore checks before the run', () => {
  let conn: Connector;
  before(async () => {
    conn = await open(`file:${tmpDir('ferry-os-')}`, { rowGroupSize: '1MiB' });
  });
  after(async () => conn.close());

  test('partitions that make a file per row, unordered chunk keys and format limits are findings', async () => {
    const t = tableFor(conn, 'orders', [
      col('id', 'int64'),
      col('email', 'text'),
      col('at', 'timestamp(6)'),
      col('big', 'uint64'),
      col('d', 'decimal(40,2)'),
    ]);
    t.columns[4]!.nativeType = 'DECIMAL(40,2)';
    t.columns[4]!.type = conn.canonicalType('DECIMAL(40,2)');
    const findings = await conn.target!().check([
      { ...t, options: { partitionBy: 'id' } },
      { ...t, name: 'by_email', key: ['email'], options: { partitionBy: 'at' } },
      { ...t, name: 'daily', options: { partitionBy: { column: 'at', by: 'day' } } },
    ]);
    const codes = findings.map((f) => `${f.severity} ${f.code} ${f.table}${f.column ? '.' + f.column : ''}`);
    assert.ok(codes.includes('error PARTITION_PER_ROW orders.id'), codes.join('\n'));
    assert.ok(codes.includes('error KEY_ORDER by_email'), codes.join('\n'));
    assert.ok(codes.includes('warning PARTITION_CARDINALITY by_email.at'), codes.join('\n'));
    assert.ok(codes.includes('warning PARTITION_CARDINALITY daily.at'), codes.join('\n'));
    assert.ok(
      findings.some((f) => f.code === 'TYPE_FORMAT' && f.severity === 'warning' && /d\).*38 digits/.test(f.message)),
      codes.join('\n'),
    );
    assert.ok(findings.some((f) => f.code === 'TYPE_FORMAT' && /big.*unsigned/.test(f.message)));
    assert.ok(findings.some((f) => f.code === 'ROW_GROUP_SIZE' && f.severity === 'info' && /email/.test(f.message)));
  });

  test('bad options are refused with the option named and what is allowed', async () => {
    const dir = tmpDir('ferry-os-');
    await assert.rejects(open(`file:${dir}?format=orc`), codeIs('PLAN_INVALID', /target option format: /));
    await assert.rejects(
      open(`file:${dir}`, { compresion: 'zstd' }),
      codeIs('PLAN_INVALID', /unknown option compresion/),
    );
    await assert.rejects(
      open(`file:${dir}`, { format: 'csv', compression: 'zstd' }),
      codeIs('PLAN_INVALID', /zstd does not apply to csv/),
    );
    await assert.rejects(open(`file:${dir}`, { rowGroupSize: 'lots' }), codeIs('PLAN_INVALID', /rowGroupSize/));
    await assert.rejects(
      open(`file:${dir}?compressionLevel=high`),
      codeIs('PLAN_INVALID', /^target option compressionLevel: a whole number from -7 to 22$/),
    );
    await assert.rejects(
      open(`file:${dir}`, { uploadConcurrency: 0 }),
      codeIs('PLAN_INVALID', /^target option uploadConcurrency: a whole number from 1 to 64$/),
    );
    const t = tableFor(conn, 'opts', parentColumns);
    await assert.rejects(
      conn.target!().check([{ ...t, options: { partitionBy: 'nope' } }]),
      codeIs('PLAN_INVALID', /partitionBy names column nope/),
    );
    await assert.rejects(
      conn.target!().check([{ ...t, options: { partitionBy: { column: 'name', by: 'month' } } }]),
      codeIs('PLAN_INVALID', /needs a date or timestamp column/),
    );
    await assert.rejects(
      conn.target!().check([{ ...t, options: { partition: 'name' } }]),
      codeIs('PLAN_INVALID', /unknown option partition/),
    );
  });

  test('values Parquet cannot hold are refused one by one', () => {
    const t = tableFor(conn, 'limits', [col('id', 'int32'), col('t', 'time(6)'), col('d', 'date')]);
    const time = conn.target!().valueCheck!(t.columns[1]!)!;
    assert.equal(time('23:59:59.999999'), undefined);
    assert.match(time('-838:59:59') ?? '', /not a time of day/);
    assert.match(time('25:00:00') ?? '', /not a time of day/);
    const date = conn.target!().valueCheck!(t.columns[2]!)!;
    assert.equal(date('2024-01-01'), undefined);
    assert.equal(date('-4713-11-24'), undefined);
    assert.match(date('9999999-01-01') ?? '', /outside the years/);
    assert.equal(conn.target!().valueCheck!(t.columns[0]!), undefined);
  });
});

describe('objectstore on S3', () => {
  test('a file larger than a part goes up as a multipart upload and reads back whole', async () => {
    const conn = await open(s3.url('multipart', 'compression=none&partSize=5MiB&uploadConcurrency=2'));
    try {
      const cols = [col('id', 'int64'), col('payload', 'bytes')];
      // random bytes do not compress, so the file really is larger than a part
      const rows = Array.from({ length: 12_000 }, (_, i) => [BigInt(i + 1), new Uint8Array(randomBytes(1000))]);
      const t = tableFor(conn, 'blobs', cols);
      await conn.target!().prepare(t, 'drop');
      await conn.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(rows, 2000));
      await conn.target!().finishTable(t);
      const manifest = JSON.parse(
        readFileSync(join(s3.dir, s3.bucket, 'multipart', 'blobs', '_manifest.json._S3rver_object'), 'utf8'),
      );
      assert.ok(manifest.bytes > 10 * 1024 * 1024, `${manifest.bytes} bytes`);
      const stored = readFileSync(
        join(s3.dir, s3.bucket, 'multipart', 'blobs', `${manifest.files[0].path}._S3rver_object`),
      );
      assert.equal(createHash('sha256').update(stored).digest('hex'), manifest.files[0].sha256);
      assert.deepEqual(
        actualText(await collect(conn.target!().readBack(t, { lower: [11_990n] }, 100)), t),
        expectedText(rows.slice(11_989), cols, t),
      );
    } finally {
      await conn.close();
    }
  });

  test('encryption and the expected bucket owner go with every upload', async () => {
    const proxy = await startDenyingProxy(s3, () => false);
    try {
      const conn = await open(
        s3.url('sse', 'sse=aws:kms&kmsKeyId=alias/ferry&expectedBucketOwner=123456789012', proxy.endpoint),
      );
      try {
        const t = tableFor(conn, 'parent', parentColumns);
        await conn.target!().prepare(t, 'drop');
        await conn.target!().writeChunk(
          { table: t, range: {}, replace: false, isolate: false },
          batchesOf(parentRows(10)),
        );
      } finally {
        await conn.close();
      }
      const puts = proxy.requests.filter((r) => r.method === 'PUT');
      assert.ok(puts.length >= 2);
      for (const r of puts) {
        assert.equal(r.headers['x-amz-server-side-encryption'], 'aws:kms', r.url);
        assert.equal(r.headers['x-amz-server-side-encryption-aws-kms-key-id'], 'alias/ferry', r.url);
      }
      for (const r of proxy.requests)
        assert.equal(r.headers['x-amz-expected-bucket-owner'], '123456789012', `${r.method} ${r.url}`);
    } finally {
      await proxy.stop();
    }
  });

  test('a wrong bucket, wrong credentials and a missing permission each give one line saying what to do', async () => {
    await assert.rejects(
      open(`s3://no-such-bucket/x?endpoint=${s3.endpoint}&forcePathStyle=true`),
      codeIs('DATABASE_NOT_FOUND', /bucket no-such-bucket does not exist/),
    );
    await assert.rejects(
      open(`s3://WRONGKEY:wrong-secret-456@${s3.bucket}/x?endpoint=${s3.endpoint}&forcePathStyle=true`),
      (e: Error & { code?: string; action?: string }) => {
        codeIs('AUTH_FAILED', /does not know the access key id/)(e);
        assert.doesNotMatch(`${e.message} ${e.action}`, /wrong-secret-456/);
        return true;
      },
    );
    const proxy = await startDenyingProxy(s3, (r) => r.method === 'PUT');
    try {
      const conn = await open(s3.url('denied', '', proxy.endpoint));
      try {
        const t = tableFor(conn, 'parent', parentColumns);
        await assert.rejects(conn.target!().prepare(t, 'drop'), (e: Error & { code?: string; action?: string }) => {
          codeIs('AUTH_FAILED', /access denied writing s3:\/\/ferry-test\/denied\/parent\/_schema\.json/)(e);
          assert.match(e.action ?? '', /s3:PutObject on arn:aws:s3:::ferry-test\/denied\/\*/);
          return true;
        });
      } finally {
        await conn.close();
      }
    } finally {
      await proxy.stop();
    }
  });

  test('an unreachable endpoint is named', async () => {
    await assert.rejects(
      open('s3://b/x?endpoint=http://127.0.0.1:1&forcePathStyle=true&maxAttempts=1'),
      codeIs('CONNECT_FAILED', /cannot reach the S3 endpoint at http:\/\/127\.0\.0\.1:1/),
    );
  });

  test('introspect finds the tables ferry wrote, from their schema files', async () => {
    const conn = await open(s3.url('contract'));
    try {
      const schema = await conn.introspect();
      const edge = schema.tables.find((x) => x.name === 'edge')!;
      assert.ok(edge, schema.tables.map((x) => x.name).join(', '));
      assert.equal(edge.columns.find((c) => c.name === 'stamptz')!.nativeType, 'TIMESTAMP(MICROS,UTC)');
      assert.equal(formatType(edge.columns.find((c) => c.name === 'stamptz')!.type), 'timestamptz(6)');
      const record = readdirSync(join(s3.dir, s3.bucket, 'contract', 'parent', '_chunks')).find((f) =>
        f.endsWith('.json._S3rver_object'),
      )!;
      const chunk = stateParse<{ range: { lower?: unknown[] } }>(
        readFileSync(join(s3.dir, s3.bucket, 'contract', 'parent', '_chunks', record), 'utf8'),
      );
      assert.ok(chunk.range.lower === undefined || typeof chunk.range.lower[0] === 'bigint');
    } finally {
      await conn.close();
    }
  });
});
