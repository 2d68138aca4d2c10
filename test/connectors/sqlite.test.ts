// The SQLite connector: the shared contracts, its type map, Chinook, and what is SQLite's own
// (affinity, rowid keys, foreign keys declared up front, files that must or must not exist).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { sqliteConnector } from '../../src/connectors/sqlite/index.js';
import type { Connector, SourceTable, TargetTable } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import type { CanonicalType, Column } from '../../src/core/types.js';
import { formatType, parseType } from '../../src/core/types.js';
import { misfit } from '../../src/core/values.js';
import { sourceContract } from '../contract/source-contract.js';
import { batchesOf, collect, tableFor, targetContract } from '../contract/target-contract.js';
import { edgeColumns, parentColumns, parentRows } from '../fixtures/edge.js';
import { freshSqlite, tmpDir } from '../helpers.js';

const open = (url: string) => sqliteConnector.connect({ url, log: silentLogger });
const fileOf = (url: string) => url.slice('sqlite:'.length);
const codeIs = (code: string) => (e: Error & { code?: string }) => e.code === code;

let sourceContractUrl = '';
sourceContract('sqlite', {
  open: () => open((sourceContractUrl = freshSqlite('sqlite_source'))),
  floatSpecials: true,
  // the even split counts the rows itself: statistics change nothing it reads
  analyze: async (table) => {
    const db = new Database(fileOf(sourceContractUrl));
    try {
      db.exec(`ANALYZE "${table}"`);
    } finally {
      db.close();
    }
  },
});
targetContract('sqlite', { open: () => open(freshSqlite('sqlite_target')), floatSpecials: true });

/** A source table over every column of an introspected table. */
async function sourceTable(conn: Connector, name: string, key?: string[]): Promise<SourceTable> {
  const info = (await conn.introspect({ tables: [name] })).tables[0]!;
  return { name: info.name, columns: info.columns, key: key ?? info.primaryKey };
}

describe('sqlite type map', () => {
  let conn: Connector;
  before(async () => {
    conn = await open('sqlite::memory:');
  });
  after(async () => conn.close());

  test('every canonical type comes back from the native type ferry creates for it', () => {
    const extra = [
      'decimal',
      'decimal(18,0)',
      'decimal(19,0)',
      'decimal(12,3)',
      'time(3)',
      'timetz(6)',
      'timetz(0)',
      'timestamp(0)',
      'timestamptz(3)',
      'binary(16)',
      'varbit(12)',
      'interval',
      "enum('print','INTERIOR','back\\slash','it''s','01')",
      "set('mint','a,b')",
      'array<array<int64>>',
      'array<decimal(10,2)>',
      "array<enum('x','int')>",
    ].map(parseType);
    for (const t of [...edgeColumns.map((c) => c.type), ...extra]) {
      const native = conn.nativeType(t).native;
      assert.equal(formatType(conn.canonicalType(native)), formatType(t), `${formatType(t)} -> ${native}`);
    }
  });

  test("ferry's native names map to a canonical type and back to themselves", () => {
    for (const native of [
      'INTEGER',
      'TINYINT',
      'INT32 UNSIGNED',
      'UNSIGNED64_BLOB',
      'DECIMAL_TEXT(12,4)',
      'DECIMAL_TEXT',
      'NUMERIC(10)',
      'FLOAT64_BLOB',
      'FLOAT32_BLOB',
      'BOOLEAN',
      'TEXT',
      'VARCHAR(255)',
      'CHAR(2)',
      'BLOB',
      'VARBINARY(8)',
      'DATE',
      'TIME',
      'TIME(3)',
      'DATETIME',
      'DATETIME(0)',
      'TIMESTAMPTZ',
      'YEAR',
      'JSON_TEXT',
      'JSONB_TEXT',
      'UUID',
      'BIT_TEXT(3)',
      "ENUM_TEXT('a','b')",
      "SET_JSON('r','w')",
      'ARRAY_JSON<text>',
    ])
      assert.equal(conn.nativeType(conn.canonicalType(native)).native, native);
  });

  test('declared types of SQLite applications follow common names, then the affinity rules', () => {
    const cases: [string, string][] = [
      ['INTEGER', 'int64'],
      ['INT', 'int64'],
      ['BIGINT', 'int64'],
      ['int(11)', 'int64'],
      ['TINYINT', 'int8'],
      ['tinyint(1)', 'int8'],
      ['SMALLINT', 'int16'],
      ['MEDIUMINT', 'int24'],
      ['UNSIGNED BIG INT', 'uint64'],
      ['bigint(20) unsigned', 'uint64'],
      ['int(10) unsigned zerofill', 'uint32'],
      ['INT2', 'int16'],
      ['INT8', 'int64'],
      ['BOOLEAN', 'bool'],
      ['bool', 'bool'],
      ['REAL', 'float64'],
      ['DOUBLE', 'float64'],
      ['DOUBLE PRECISION', 'float64'],
      ['FLOAT', 'float64'],
      ['NUMERIC(10,2)', 'decimal(10,2)'],
      ['DECIMAL(10, 5)', 'decimal(10,5)'],
      ['NUMERIC(8)', 'decimal(8,0)'],
      ['NUMERIC', 'decimal'],
      ['DECIMAL', 'decimal'],
      ['CHARACTER(20)', 'char(20)'],
      ['NCHAR(55)', 'char(55)'],
      ['NATIVE CHARACTER(70)', 'char(70)'],
      ['VARCHAR(255)', 'varchar(255)'],
      ['NVARCHAR(160)', 'varchar(160)'],
      ['VARYING CHARACTER(255)', 'varchar(255)'],
      ['TEXT', 'text'],
      ['CLOB', 'text'],
      ['STRING', 'text'],
      ['VARCHAR', 'text'],
      ['LONGTEXT', 'text'],
      ['BLOB', 'bytes'],
      ['', 'bytes'],
      ['LONGBLOB', 'bytes'],
      ['DATE', 'date'],
      ['DATETIME', 'timestamp(6)'],
      ['TIMESTAMP', 'timestamp(6)'],
      ['timestamp(3)', 'timestamp(3)'],
      ['TIMESTAMP WITH TIME ZONE', 'timestamptz(6)'],
      ['TIME', 'time(6)'],
      ['JSON', 'json'],
      ['UUID', 'uuid'],
      ["ENUM('a','b')", "enum('a','b')"],
      // the affinity rules: INT anywhere, then CHAR/CLOB/TEXT, then BLOB, then REAL/FLOA/DOUB, else NUMERIC
      ['POINT', 'int64'],
      ['MYCHARS', 'text'],
      ['FLOATING POINT', 'int64'],
      ['SOMEBLOB', 'bytes'],
      ['DOUBLED', 'float64'],
      ['MONEY', 'decimal'],
    ];
    for (const [native, canonical] of cases)
      assert.equal(formatType(conn.canonicalType(native)), canonical, `declared "${native}"`);
  });
});

describe('sqlite target keeps values exactly', () => {
  let url: string;
  let conn: Connector;
  before(async () => {
    url = freshSqlite('sqlite_exact');
    conn = await open(url);
  });
  after(async () => conn.close());

  test('numeric-looking text stays text, exactly as written', async () => {
    const cols = [
      { name: 'id', type: parseType('int64') },
      { name: 'kind', type: parseType("enum('01','1.50','print','INTERIOR')") },
      { name: 'price', type: parseType('decimal(10,2)') },
      { name: 'doc', type: parseType('json') },
      { name: 'code', type: parseType('varchar(10)') },
      { name: 'mask', type: parseType('bit(4)') },
      { name: 'big', type: parseType('uint64') },
    ];
    const t = tableFor(conn, 'exact', cols);
    const rows = [
      [1n, '01', '1.50', '1.50', '007', '0010', 18446744073709551615n],
      [2n, '1.50', '-0.00', '1e3', '1e3', '0000', 9223372036854775808n],
      [3n, 'print', '12345678.90', '12345678901234567890', ' 12 ', '1111', 0n],
      [4n, 'INTERIOR', '0.10', '"x"', '', '0001', 9223372036854775807n],
    ];
    await conn.target!().prepare(t, 'fail');
    await conn.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(rows));
    assert.deepEqual(await collect(conn.target!().readBack(t, {}, 10)), rows);
    const db = new Database(fileOf(url), { readonly: true });
    try {
      const types = db
        .prepare('SELECT DISTINCT typeof(kind), typeof(price), typeof(doc), typeof(code), typeof(mask) FROM exact')
        .raw()
        .all();
      assert.deepEqual(types, [['text', 'text', 'text', 'text', 'text']]);
    } finally {
      db.close();
    }
  });

  test('uint64 keys past int64 sort after the others, so ranges split and replace correctly', async () => {
    const t = tableFor(conn, 'unsigned_keys', [
      { name: 'id', type: parseType('uint64') },
      { name: 'note', type: parseType('text') },
    ]);
    const keys = [1n, 9223372036854775807n, 9223372036854775808n, 10000000000000000000n, 18446744073709551615n];
    await conn.target!().prepare(t, 'fail');
    await conn.target!().writeChunk(
      { table: t, range: {}, replace: false, isolate: false },
      batchesOf(keys.map((k) => [k, `key ${k}`])),
    );
    const st: SourceTable = { name: t.name, columns: t.columns, key: ['id'] };
    const source = conn.source!();
    const view = await source.snapshot(1);
    try {
      const ranges = await source.split(st, 1, view);
      assert.equal(ranges.length, keys.length);
      const seen: unknown[] = [];
      for (const r of ranges) {
        const rows = await collect(source.read(st, r, view, 10));
        assert.equal(rows.length, 1, `range ${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
        seen.push(rows[0]![0]);
      }
      assert.deepEqual(seen, keys);
    } finally {
      await view.release();
    }
    const high = { lower: [9223372036854775808n] };
    assert.equal(await conn.target!().count(t, high), 3);
    await conn.target!().writeChunk(
      { table: t, range: high, replace: true, isolate: false },
      batchesOf([[10000000000000000000n, 'again']]),
    );
    const left = (await collect(conn.target!().readBack(t, {}, 10)))
      .map((r) => r[0] as bigint)
      .sort((a, b) => (a < b ? -1 : 1));
    assert.deepEqual(left, [1n, 9223372036854775807n, 10000000000000000000n]);
  });

  test('whole decimals are stored as integers, so their ranges are numeric', async () => {
    const t = tableFor(conn, 'decimal_keys', [{ name: 'id', type: parseType('decimal(18,0)') }]);
    assert.equal(t.columns[0]!.nativeType, 'NUMERIC(18)');
    await conn.target!().prepare(t, 'fail');
    await conn.target!().writeChunk(
      { table: t, range: {}, replace: false, isolate: false },
      batchesOf([['-999999999999999999'], ['5'], ['10'], ['999999999999999999']]),
    );
    assert.equal(await conn.target!().count(t, { lower: ['9'] }), 2);
    assert.deepEqual((await collect(conn.target!().readBack(t, { upper: ['10'] }, 10))).map((r) => r[0]).sort(), [
      '-999999999999999999',
      '5',
    ]);
  });

  test('timestamps with a time zone keep their order in text, whatever their fractions', async () => {
    const t = tableFor(conn, 'tz_keys', [{ name: 'at', type: parseType('timestamptz(6)') }], ['at']);
    await conn.target!().prepare(t, 'fail');
    await conn.target!().writeChunk(
      { table: t, range: {}, replace: false, isolate: false },
      batchesOf([['2024-01-01 00:00:01Z'], ['2024-01-01 00:00:01.5Z'], ['2024-01-01 00:00:00.25Z']]),
    );
    assert.equal(await conn.target!().count(t, { lower: ['2024-01-01 00:00:01Z'] }), 2);
    assert.equal(await conn.target!().count(t, { upper: ['2024-01-01 00:00:01.5Z'] }), 2);
  });
});

describe('sqlite target schema', () => {
  let url: string;
  let conn: Connector;
  before(async () => {
    url = freshSqlite('sqlite_schema');
    conn = await open(url);
  });
  after(async () => conn.close());

  test('a target file is created with its folder, in WAL mode (asking for an applied position creates none)', async () => {
    const nested = join(tmpDir(), 'a', 'b', 'new.db');
    const c = await open(`sqlite://${nested}`);
    try {
      assert.equal(await c.target!().appliedPosition!('follow'), undefined);
      assert.equal(existsSync(nested), false);
      await c.target!().prepare(tableFor(c, 'parent', parentColumns), 'fail');
    } finally {
      await c.close();
    }
    const db = new Database(nested, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  test('an auto-increment key becomes INTEGER PRIMARY KEY, which continues after the copied keys', async () => {
    const t = tableFor(conn, 'counters', [
      { name: 'id', type: parseType('int32') },
      { name: 'name', type: parseType('text') },
    ]);
    t.columns[0]!.autoIncrement = true;
    const findings = await conn.target!().check([t]);
    assert.deepEqual(
      findings.map((f) => [f.code, f.column]),
      [['SQLITE_ROWID_KEY', 'id']],
    );
    await conn.target!().prepare(t, 'fail');
    await conn.target!().writeChunk(
      { table: t, range: {}, replace: false, isolate: false },
      batchesOf([
        [1, 'a'],
        [41, 'b'],
      ]),
    );
    await conn.target!().finishTable(t);
    const db = new Database(fileOf(url));
    try {
      db.prepare("INSERT INTO counters (name) VALUES ('new')").run();
      assert.equal(db.prepare("SELECT id FROM counters WHERE name = 'new'").pluck().get(), 42);
    } finally {
      db.close();
    }
    const info = (await conn.introspect({ tables: ['counters'] })).tables[0]!;
    assert.equal(info.columns[0]!.autoIncrement, true);
    assert.equal(info.columns[0]!.nullable, false);
  });

  test('an unsigned 64-bit auto-increment key is an INTEGER PRIMARY KEY too, which refuses keys past int64', async () => {
    const t = tableFor(conn, 'big_counters', [
      { name: 'id', type: parseType('uint64') },
      { name: 'name', type: parseType('text') },
    ]);
    t.columns[0]!.autoIncrement = true;
    const [finding] = await conn.target!().check([t]);
    assert.match(finding!.message, /keys past 9223372036854775807 are refused/);
    await conn.target!().prepare(t, 'fail');
    const res = await conn.target!().writeChunk(
      { table: t, range: {}, replace: false, isolate: true },
      batchesOf([
        [1n, 'a'],
        [9223372036854775807n, 'b'],
        [9223372036854775808n, 'c'],
      ]),
    );
    assert.equal(res.rows, 2);
    assert.deepEqual(
      res.rejects.map((r) => r.row[0]),
      [9223372036854775808n],
    );
    assert.equal(
      formatType((await conn.introspect({ tables: ['big_counters'] })).tables[0]!.columns[0]!.type),
      'int64',
    );
  });

  test('check warns about declared types whose affinity would change values', async () => {
    const t = tableFor(conn, 'affinity', [
      { name: 'id', type: parseType('int64') },
      { name: 'amount', type: parseType('decimal(38,10)') },
      { name: 'ratio', type: parseType('float64') },
    ]);
    assert.deepEqual(await conn.target!().check([t]), []);
    t.columns[1]!.nativeType = 'NUMERIC(38,10)';
    t.columns[2]!.nativeType = 'REAL';
    const findings = await conn.target!().check([t]);
    assert.deepEqual(
      findings.map((f) => [f.severity, f.code, f.column]),
      [
        ['warning', 'SQLITE_AFFINITY', 'amount'],
        ['warning', 'SQLITE_AFFINITY', 'ratio'],
      ],
    );
    assert.match(findings[0]!.action, /DECIMAL_TEXT\(38,10\)/);
  });

  test("literal defaults are kept, other engines' expressions left out", async () => {
    const t = tableFor(conn, 'defaults', [
      { name: 'id', type: parseType('int64') },
      { name: 'status', type: parseType('text') },
      { name: 'n', type: parseType('int32') },
      { name: 'seq', type: parseType('int64') },
      { name: 'created', type: parseType('timestamp(6)') },
      { name: 'day', type: parseType('date') },
    ]);
    const defaults = [
      undefined,
      "'new'::character varying",
      '-1',
      "nextval('defaults_seq'::regclass)",
      'current_timestamp()',
      'curdate()',
    ];
    defaults.forEach((d, i) => (t.columns[i]!.default = d));
    await conn.target!().prepare(t, 'fail');
    const cols = (await conn.introspect({ tables: ['defaults'] })).tables[0]!.columns;
    assert.deepEqual(
      cols.map((c) => c.default),
      [undefined, "'new'", '-1', undefined, 'CURRENT_TIMESTAMP', 'CURRENT_DATE'],
    );
  });

  test('index names taken by another table get the table name in front', async () => {
    for (const name of ['first', 'second']) {
      const t = tableFor(conn, name, parentColumns);
      t.indexes = [{ name: 'created_idx', columns: ['created'], unique: false }];
      await conn.target!().prepare(t, 'fail');
      await conn.target!().finishTable(t);
      await conn.target!().finishTable(t);
    }
    const schema = await conn.introspect({ tables: ['first', 'second'] });
    assert.deepEqual(
      schema.tables.map((t) => t.indexes.map((i) => i.name)),
      [['created_idx'], ['second_created_idx']],
    );
  });

  test('a foreign key missing from the declaration is added by rebuilding the table; data that breaks it is an error', async () => {
    const parent = tableFor(conn, 'rb_parent', parentColumns);
    const child = tableFor(conn, 'rb_child', [
      { name: 'id', type: parseType('int64') },
      { name: 'parent_id', type: parseType('int64') },
    ]);
    child.indexes = [{ name: 'rb_child_parent_idx', columns: ['parent_id'], unique: false }];
    await conn.target!().prepare(parent, 'fail');
    await conn.target!().prepare(child, 'fail');
    await conn.target!().writeChunk(
      { table: parent, range: {}, replace: false, isolate: false },
      batchesOf(parentRows(3)),
    );
    await conn.target!().writeChunk(
      { table: child, range: {}, replace: false, isolate: false },
      batchesOf([
        [1n, 1n],
        [2n, 3n],
        [3n, 9n],
      ]),
    );
    await conn.target!().finishTable(child);
    child.foreignKeys = [
      {
        name: 'rb_child_parent_fk',
        columns: ['parent_id'],
        refTable: 'rb_parent',
        refColumns: ['id'],
        onDelete: 'CASCADE',
      },
    ];
    await assert.rejects(
      conn.target!().addForeignKeys(child),
      (e: Error & { code?: string }) =>
        e.code === 'WRITE_FAILED' &&
        /rb_child/.test(e.message) &&
        /1 rows refer to rows missing from rb_parent/.test(e.message),
    );
    const info = (await conn.introspect({ tables: ['rb_child'] })).tables[0]!;
    assert.deepEqual(info.foreignKeys, [
      {
        name: 'rb_child_parent_id_fkey',
        columns: ['parent_id'],
        refTable: 'rb_parent',
        refColumns: ['id'],
        onDelete: 'CASCADE',
      },
    ]);
    assert.deepEqual(
      info.indexes.map((i) => i.name),
      ['rb_child_parent_idx'],
    );
    assert.equal(await conn.target!().count(child, {}), 3);
    await conn.target!().writeChunk(
      { table: child, range: { lower: [3n] }, replace: true, isolate: false },
      batchesOf([[3n, 2n]]),
    );
    await conn.target!().addForeignKeys(child);
  });

  test('chunks written at the same time are written one after another, each whole', async () => {
    const t = tableFor(conn, 'together', parentColumns);
    await conn.target!().prepare(t, 'fail');
    async function* slow(rows: unknown[][]) {
      for (const row of rows) {
        await new Promise((r) => setTimeout(r, 1));
        yield { rows: [row] };
      }
    }
    const all = parentRows(40);
    const results = await Promise.all([
      conn.target!().writeChunk(
        { table: t, range: { upper: [21n] }, replace: true, isolate: false },
        slow(all.slice(0, 20)),
      ),
      conn.target!().writeChunk(
        { table: t, range: { lower: [21n] }, replace: true, isolate: false },
        slow(all.slice(20)),
      ),
    ]);
    assert.deepEqual(
      results.map((r) => r.rows),
      [20, 20],
    );
    assert.equal(await conn.target!().count(t, {}), 40);
  });

  test('a table name that does not exist is TABLE_NOT_FOUND', async () => {
    await assert.rejects(conn.introspect({ tables: ['no_such_table'] }), codeIs('TABLE_NOT_FOUND'));
    const t = tableFor(conn, 'no_such_table', parentColumns);
    await assert.rejects(collect(conn.target!().readBack(t, {}, 10)), codeIs('TABLE_NOT_FOUND'));
    await assert.rejects(
      conn.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(parentRows(1))),
      codeIs('TABLE_NOT_FOUND'),
    );
  });

  test('sqlite::memory: is a private scratch database', async () => {
    const c = await open('sqlite::memory:');
    try {
      const t = tableFor(c, 'scratch', parentColumns);
      await c.target!().prepare(t, 'fail');
      await c.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(parentRows(5)));
      const view = await c.source!().snapshot(1);
      try {
        assert.equal(await c.source!().count({ name: 'scratch', columns: t.columns, key: ['id'] }, {}, view), 5);
      } finally {
        await view.release();
      }
    } finally {
      await c.close();
    }
  });
});

describe('sqlite source', () => {
  test('a missing source file is DATABASE_NOT_FOUND, and is not created', async () => {
    const url = freshSqlite('sqlite_missing');
    const conn = await open(url);
    try {
      await assert.rejects(
        conn.introspect(),
        (e: Error & { code?: string }) => e.code === 'DATABASE_NOT_FOUND' && e.message.includes(fileOf(url)),
      );
      await assert.rejects(conn.source!().snapshot(1), codeIs('DATABASE_NOT_FOUND'));
      assert.equal(existsSync(fileOf(url)), false);
    } finally {
      await conn.close();
    }
  });

  test('a file that is not a SQLite database cannot be connected to', async () => {
    const url = freshSqlite('sqlite_garbage');
    writeFileSync(fileOf(url), 'this is not a database, just text that is long enough to hold a header '.repeat(10));
    const conn = await open(url);
    try {
      await assert.rejects(
        conn.introspect(),
        (e: Error & { code?: string }) => e.code === 'CONNECT_FAILED' && /not a SQLite database/.test(e.message),
      );
    } finally {
      await conn.close();
    }
  });

  test('an empty sqlite: URL is refused', async () => {
    await assert.rejects(open('sqlite:'), codeIs('URL_INVALID'));
  });

  test('values as SQLite applications write them are read as canonical values, or as they are', async () => {
    const url = freshSqlite('sqlite_app');
    const db = new Database(fileOf(url));
    db.exec(
      `CREATE TABLE app (id INTEGER PRIMARY KEY, at DATETIME, atz TIMESTAMPTZ, t TIME, ok BOOLEAN, u UUID, price NUMERIC(10,2), n INT, label STRING, tags "SET('a','b')")`,
    );
    const insert = db.prepare('INSERT INTO app VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const uuidBytes = Buffer.from('a0eebc999c0b4ef8bb6d6bb9bd380a11', 'hex');
    insert.run(
      1,
      '2009-01-01 00:00:00',
      '2009-01-01T10:00:00Z',
      '10:30',
      1,
      'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      '1.5',
      7,
      123,
      'a,b',
    );
    insert.run(2, '2009-01-01T10:20:30.123', '2009-01-01 10:00:00+00:00', '10:30:15.5', 0, uuidBytes, 2, 8, 'x', '');
    insert.run(3, '2009-01-01', '2009-01-01 10:00:00', '7 pm', 2, null, 0.1, 'abc', null, null);
    insert.run(4, 'not a date', '2009-01-01 10:00:00+02:00', null, null, null, 1e21, 1.5, null, null);
    insert.run(5, 1234567890, null, null, null, null, null, null, null, null);
    db.close();
    const conn = await open(url);
    try {
      const st = await sourceTable(conn, 'app');
      assert.deepEqual(
        st.columns.map((c) => formatType(c.type)),
        [
          'int64',
          'timestamp(6)',
          'timestamptz(6)',
          'time(6)',
          'bool',
          'uuid',
          'decimal(10,2)',
          'int64',
          'text',
          "set('a','b')",
        ],
      );
      const view = await conn.source!().snapshot(1);
      try {
        assert.deepEqual(await collect(conn.source!().read(st, {}, view, 2)), [
          [
            1n,
            '2009-01-01 00:00:00',
            '2009-01-01 10:00:00Z',
            '10:30:00',
            true,
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
            '1.5',
            7n,
            '123',
            ['a', 'b'],
          ],
          [
            2n,
            '2009-01-01 10:20:30.123',
            '2009-01-01 10:00:00Z',
            '10:30:15.5',
            false,
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
            '2',
            8n,
            'x',
            [],
          ],
          [3n, '2009-01-01 00:00:00', '2009-01-01 10:00:00Z', '7 pm', 2n, null, '0.1', 'abc', null, null],
          [4n, 'not a date', '2009-01-01 08:00:00Z', null, null, null, '1000000000000000000000', 1.5, null, null],
          [5n, 1234567890n, null, null, null, null, null, null, null, null],
        ]);
      } finally {
        await view.release();
      }
    } finally {
      await conn.close();
    }
  });

  test('readers of one view may take turns', async () => {
    const url = freshSqlite('sqlite_turns');
    const conn = await open(url);
    try {
      const t = tableFor(conn, 'parent', parentColumns);
      await conn.target!().prepare(t, 'fail');
      await conn.target!().writeChunk(
        { table: t, range: {}, replace: false, isolate: false },
        batchesOf(parentRows(100)),
      );
      const st = await sourceTable(conn, 'parent');
      const view = await conn.source!().snapshot(2);
      try {
        const a = conn.source!()
          .read(st, { upper: [51n] }, view, 10)
          [Symbol.asyncIterator]();
        const b = conn.source!()
          .read(st, { lower: [51n] }, view, 10)
          [Symbol.asyncIterator]();
        let rows = 0;
        for (;;) {
          const [x, y] = [await a.next(), await b.next()];
          assert.equal(await conn.source!().count(st, {}, view), 100);
          if (x.done && y.done) break;
          rows += (x.done ? 0 : x.value.rows.length) + (y.done ? 0 : y.value.rows.length);
        }
        assert.equal(rows, 100);
      } finally {
        await view.release();
      }
      const view2 = await conn.source!().snapshot(1);
      const unfinished = conn.source!().read(st, {}, view2, 10)[Symbol.asyncIterator]();
      assert.equal((await unfinished.next()).value?.rows.length, 10);
      await view2.release();
      await assert.rejects(unfinished.next(), /closed before the read finished/);
    } finally {
      await conn.close();
    }
  });
});

describe('sqlite source: Chinook', () => {
  let conn: Connector;
  let file: string;
  const counts: Record<string, number> = {
    Album: 347,
    Artist: 275,
    Customer: 59,
    Employee: 8,
    Genre: 25,
    Invoice: 412,
    InvoiceLine: 2240,
    MediaType: 5,
    Playlist: 18,
    PlaylistTrack: 8715,
    Track: 3503,
  };
  before(async () => {
    const url = freshSqlite('sqlite_chinook');
    file = fileOf(url);
    execFileSync('sqlite3', ['-bail', file], {
      input: readFileSync('/work/shared/datasets/chinook/Chinook_Sqlite.sql'),
    });
    conn = await open(url);
  });
  after(async () => conn.close());

  test('in rollback-journal mode a read view keeps writers from committing until it is released', async () => {
    const writer = new Database(file, { timeout: 50 });
    try {
      assert.equal(writer.pragma('journal_mode', { simple: true }), 'delete');
      const touch = writer.prepare('UPDATE Genre SET Name = Name WHERE GenreId = 1');
      const view = await conn.source!().snapshot(1);
      try {
        assert.throws(
          () => touch.run(),
          (e: Error & { code?: string }) => e.code === 'SQLITE_BUSY',
        );
      } finally {
        await view.release();
      }
      assert.equal(touch.run().changes, 1);
    } finally {
      writer.close();
    }
  });

  test('introspect finds the tables, keys, foreign keys, indexes and types', async () => {
    const schema = await conn.introspect();
    assert.match(schema.version, /^SQLite 3\.\d+/);
    const byName = new Map(schema.tables.map((t) => [t.name, t]));
    assert.deepEqual([...byName.keys()], Object.keys(counts));
    for (const t of schema.tables) {
      assert.equal(t.rowEstimate, counts[t.name], `${t.name} rows`);
      assert.ok(t.bytesEstimate > 0);
    }
    assert.deepEqual(byName.get('PlaylistTrack')!.primaryKey, ['PlaylistId', 'TrackId']);
    assert.deepEqual(byName.get('Invoice')!.primaryKey, ['InvoiceId']);
    assert.deepEqual(byName.get('Employee')!.foreignKeys, [
      { name: 'Employee_ReportsTo_fkey', columns: ['ReportsTo'], refTable: 'Employee', refColumns: ['EmployeeId'] },
    ]);
    assert.deepEqual(
      byName.get('Track')!.foreignKeys.map((f) => f.refTable),
      ['Album', 'Genre', 'MediaType'],
    );
    assert.deepEqual(
      byName
        .get('Track')!
        .indexes.map((i) => i.columns.join())
        .sort(),
      ['AlbumId', 'GenreId', 'MediaTypeId'],
    );
    const column = (table: string, name: string): Column => byName.get(table)!.columns.find((c) => c.name === name)!;
    const typeOf = (table: string, name: string) => formatType(column(table, name).type);
    assert.equal(typeOf('Invoice', 'Total'), 'decimal(10,2)');
    assert.equal(typeOf('Invoice', 'InvoiceDate'), 'timestamp(6)');
    assert.equal(typeOf('Album', 'Title'), 'varchar(160)');
    assert.equal(typeOf('Album', 'AlbumId'), 'int64');
    assert.equal(column('Album', 'AlbumId').autoIncrement, true);
    assert.equal(column('PlaylistTrack', 'TrackId').autoIncrement, undefined);
    assert.equal(column('Artist', 'Name').nullable, true);
    assert.equal(column('Album', 'Title').nullable, false);
  });

  test('every value reads as a canonical value of its column', async () => {
    const view = await conn.source!().snapshot(1);
    try {
      for (const name of Object.keys(counts)) {
        const st = await sourceTable(conn, name);
        const rows = await collect(conn.source!().read(st, {}, view, 500));
        assert.equal(rows.length, counts[name]);
        for (const row of rows)
          st.columns.forEach((c, i) => {
            const v = row[i];
            if (v === null) return;
            assert.equal(misfit(v, c.type), undefined, `${name}.${c.name}`);
            const expected: Partial<Record<CanonicalType['kind'], string>> = {
              int: 'bigint',
              decimal: 'string',
              string: 'string',
              timestamp: 'string',
            };
            assert.equal(typeof v, expected[c.type.kind], `${name}.${c.name} = ${String(v)}`);
            if (c.type.kind === 'decimal') assert.match(v as string, /^\d+\.\d{1,2}$|^\d+$/);
            if (c.type.kind === 'timestamp') assert.match(v as string, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
          });
      }
      const invoices = await sourceTable(conn, 'Invoice');
      const [first] = await collect(conn.source!().read(invoices, { upper: [2n] }, view, 10));
      assert.deepEqual(first, [
        1n,
        2n,
        '2021-01-01 00:00:00',
        'Theodor-Heuss-Straße 34',
        'Stuttgart',
        null,
        'Germany',
        '70174',
        '1.98',
      ]);
    } finally {
      await view.release();
    }
  });

  test('a composite key splits into ranges that cover every row once', async () => {
    const st = await sourceTable(conn, 'PlaylistTrack');
    const view = await conn.source!().snapshot(1);
    try {
      const ranges = await conn.source!().split(st, 1000, view);
      assert.equal(ranges.length, 9);
      const seen = new Set<string>();
      for (const r of ranges) {
        const rows = await collect(conn.source!().read(st, r, view, 1000));
        assert.ok(rows.length <= 1000);
        for (const row of rows) seen.add(row.join('/'));
        assert.equal(await conn.source!().count(st, r, view), rows.length);
      }
      assert.equal(seen.size, counts.PlaylistTrack);
    } finally {
      await view.release();
    }
  });

  test('copying Chinook into a new SQLite file keeps every row', async () => {
    const target = await open(freshSqlite('sqlite_chinook_copy'));
    const view = await conn.source!().snapshot(1);
    try {
      const schema = await conn.introspect();
      const tables: TargetTable[] = schema.tables.map((t) => ({
        ...t,
        columns: t.columns.map((c) => ({ ...c, nativeType: target.nativeType(c.type).native })),
        key: t.primaryKey,
      }));
      for (const t of tables) await target.target!().prepare(t, 'fail');
      for (const t of tables) {
        const st = await sourceTable(conn, t.name);
        const res = await target.target!().writeChunk(
          { table: t, range: {}, replace: false, isolate: false },
          conn.source!().read(st, {}, view, 1000),
        );
        assert.equal(res.rows, counts[t.name]);
        await target.target!().finishTable(t);
      }
      for (const t of tables) await target.target!().addForeignKeys(t);
      const copied = await target.introspect();
      assert.deepEqual(
        copied.tables.map((t) => [t.name, t.rowEstimate, t.primaryKey.join(), t.foreignKeys.length]),
        schema.tables.map((t) => [t.name, t.rowEstimate, t.primaryKey.join(), t.foreignKeys.length]),
      );
      const invoices = tables.find((t) => t.name === 'Invoice')!;
      const [first] = await collect(target.target!().readBack(invoices, { upper: [2n] }, 10));
      assert.deepEqual(first, [
        1n,
        2n,
        '2021-01-01 00:00:00',
        'Theodor-Heuss-Straße 34',
        'Stuttgart',
        null,
        'Germany',
        '70174',
        '1.98',
      ]);
    } finally {
      await view.release();
      await target.close();
    }
  });
});
