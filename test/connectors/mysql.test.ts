// The MySQL/MariaDB connector against the MariaDB server of this machine.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { toFerryError } from '../../src/connectors/mysql/errors.js';
import { mysqlConnector } from '../../src/connectors/mysql/index.js';
import { parseEndpoint } from '../../src/connectors/mysql/session.js';
import type { Connector, SourceTable, TargetTable } from '../../src/core/contracts.js';
import { FerryError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { formatType, parseType } from '../../src/core/types.js';
import { sourceContract } from '../contract/source-contract.js';
import { applyUntilKilled } from '../contract/apply-contract.js';
import { batchesOf, collect, targetContract, writeUntilKilled } from '../contract/target-contract.js';
import { edgeColumns } from '../fixtures/edge.js';
import { loadChinook } from '../e2e/support.js';
import { dbName, freshMysql, hostPort, MYSQL_BASE, mysqlExec, mysqlUser, re, unique } from '../helpers.js';

const open = (url: string) => mysqlConnector.connect({ url, log: silentLogger });

let sourceContractDb = '';
sourceContract('mysql', {
  open: async () => open((sourceContractDb = await freshMysql('mysql_source_contract'))),
  floatSpecials: false,
  columns: true,
  analyze: (table) => mysqlExec(sourceContractDb, `ANALYZE TABLE \`${table}\``),
});
targetContract('mysql', { open: async () => open(await freshMysql('mysql_target_contract')), floatSpecials: false });
// the write path of servers without LOAD DATA LOCAL INFILE: multi-row INSERTs
targetContract('mysql with INSERT', {
  open: async () => open(`${await freshMysql('mysql_target_insert')}?localInfile=false`),
  floatSpecials: false,
});

/** The table as introspect reports it, ready to read. */
async function sourceTable(conn: Connector, name: string, key?: string[]): Promise<SourceTable> {
  const t = (await conn.introspect({ tables: [name] })).tables[0]!;
  return { name: t.name, columns: t.columns, key: key ?? t.primaryKey };
}

async function readAll(conn: Connector, table: SourceTable): Promise<unknown[][]> {
  const source = conn.source!();
  const view = await source.snapshot(1);
  try {
    return await collect(source.read(table, {}, view, 100));
  } finally {
    await view.release();
  }
}

describe('mysql: type map', () => {
  let conn: Connector;
  before(async () => (conn = await open(await freshMysql('mysql_typemap'))));
  after(async () => conn?.close());

  test('every canonical type of the edge fixture maps to a native type and back', () => {
    // stored in another type, with a note saying so (uuid: as char(36), every value kept)
    const substituted = new Set(['jsonb', 'timestamptz(6)', 'array<int32>', 'array<text>', 'uuid']);
    for (const { type } of edgeColumns) {
      const choice = conn.nativeType(type);
      const back = formatType(conn.canonicalType(choice.native));
      if (substituted.has(formatType(type)))
        assert.ok(choice.note, `${formatType(type)} -> ${choice.native} says what is lost`);
      else {
        assert.equal(back, formatType(type), `${formatType(type)} -> ${choice.native} -> ${back}`);
        assert.equal(choice.note, undefined, `${formatType(type)} is exact`);
      }
    }
  });

  test('native types as information_schema and DDL write them', () => {
    const cases: [string, string][] = [
      ['int(11)', 'int32'],
      ['int(10) unsigned zerofill', 'uint32'],
      ['INTEGER UNSIGNED', 'uint32'],
      ['tinyint(1)', 'bool'],
      ['tinyint(4)', 'int8'],
      ['tinyint(1) unsigned', 'uint8'],
      ['BOOLEAN', 'bool'],
      ['mediumint(8) unsigned', 'uint24'],
      ['bigint(20) unsigned', 'uint64'],
      ['NUMERIC(10,2)', 'decimal(10,2)'],
      ['decimal(12, 4) unsigned', 'decimal(12,4)'],
      ['decimal', 'decimal(10,0)'],
      ['float', 'float32'],
      ['float(30)', 'float64'],
      ['double precision', 'float64'],
      ['real', 'float64'],
      ['NVARCHAR(160)', 'varchar(160)'],
      ['varchar(20) CHARACTER SET latin1', 'varchar(20)'],
      ['char(2)', 'char(2)'],
      ['mediumtext', 'text'],
      ['binary(16)', 'binary(16)'],
      ['longblob', 'bytes'],
      ['DATETIME', 'timestamp(0)'],
      ['datetime(6)', 'timestamp(6)'],
      ['timestamp(3)', 'timestamptz(3)'],
      ['time(6)', 'time(6)'],
      ['year(4)', 'year'],
      ["enum('a','It''s','B c')", "enum('a','It''s','B c')"],
      ["set('read','write')", "set('read','write')"],
      ['json', 'json'],
      ['uuid', 'uuid'],
      ['bit(1)', 'bit(1)'],
      ['geometry', 'geometry'],
      ['point', 'geometry'],
    ];
    for (const [native, canonical] of cases) assert.equal(formatType(conn.canonicalType(native)), canonical, native);
    assert.throws(
      () => conn.canonicalType('vector(3)'),
      (e: FerryError) => e.code === 'UNSUPPORTED' && /vector/.test(e.message),
    );
  });

  test('canonical types MySQL lacks get the documented substitutes', () => {
    const cases: [string, string][] = [
      ['jsonb', 'json'],
      ['timestamptz(6)', 'datetime(6)'],
      ['timetz(3)', 'varchar(24)'],
      ['uuid', 'char(36)'],
      ['interval', 'varchar(64)'],
      ['array<int64>', 'json'],
      ['varbit(10)', 'varchar(10)'],
      ['decimal', 'decimal(65,30)'],
      ['char(300)', 'varchar(300)'],
      ['varchar(20000)', 'longtext'],
      ['bit(100)', 'varchar(100)'],
    ];
    for (const [canonical, native] of cases) {
      const choice = conn.nativeType(parseType(canonical));
      assert.equal(choice.native, native, canonical);
      assert.match(choice.note ?? '', /./, `${canonical} says what is lost`);
    }
    assert.equal(conn.nativeType(parseType('text')).native, 'longtext');
    assert.equal(conn.nativeType(parseType('bytes')).native, 'longblob');
    assert.equal(conn.canonicalType('datetime(6)').kind, 'timestamp');
  });
});

describe('mysql: reading values as stored', () => {
  let conn: Connector;
  let url: string;
  before(async () => {
    url = await freshMysql('mysql_values');
    conn = await open(url);
  });
  after(async () => conn?.close());

  test('zero dates are read as the raw strings', async () => {
    await mysqlExec(
      url,
      `SET SESSION sql_mode = '';
       CREATE TABLE zero (id int PRIMARY KEY, d date, dt datetime(6), ts timestamp NULL);
       INSERT INTO zero VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'), (2, '2024-00-15', '2024-03-00 10:00:00.5', NULL), (3, '2024-02-29', '2024-02-29 23:59:59.999999', '2024-02-29 12:00:00')`,
    );
    const rows = await readAll(conn, await sourceTable(conn, 'zero'));
    assert.deepEqual(rows, [
      [1, '0000-00-00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00'],
      [2, '2024-00-15', '2024-03-00 10:00:00.500000', null],
      [3, '2024-02-29', '2024-02-29 23:59:59.999999', '2024-02-29 12:00:00Z'],
    ]);
  });

  test('tinyint(1) gives booleans for 0 and 1 and the number for anything else', async () => {
    await mysqlExec(
      url,
      'CREATE TABLE flags (id int PRIMARY KEY, flag tinyint(1)); INSERT INTO flags VALUES (1, 0), (2, 1), (3, 2), (4, -1), (5, NULL)',
    );
    const rows = await readAll(conn, await sourceTable(conn, 'flags'));
    assert.deepEqual(rows, [
      [1, false],
      [2, true],
      [3, 2],
      [4, -1],
      [5, null],
    ]);
  });

  test('doubles and floats are exact, times keep their sign and hours', async () => {
    await mysqlExec(
      url,
      `CREATE TABLE nums (id int PRIMARY KEY, d double, f float, t time(6), big bigint unsigned, b bit(12));
       INSERT INTO nums VALUES (1, 9.999999999999998, 0.1, '-838:59:59', 18446744073709551615, b'101'), (2, 0.1e0 + 0.2e0, 16777217, '100:00:00.000001', 0, b'111111111111')`,
    );
    const rows = await readAll(conn, await sourceTable(conn, 'nums'));
    assert.deepEqual(rows, [
      [1, 9.999999999999998, Math.fround(0.1), '-838:59:59.000000', 18446744073709551615n, '000000000101'],
      [2, 0.1 + 0.2, 16777216, '100:00:00.000001', 0n, '111111111111'],
    ]);
  });

  test('MariaDB json columns are introspected as json', async () => {
    await mysqlExec(url, 'CREATE TABLE docs (id int PRIMARY KEY, doc json, plain longtext)');
    const t = await sourceTable(conn, 'docs');
    assert.deepEqual(
      t.columns.map((c) => [c.nativeType, formatType(c.type)]),
      [
        ['int(11)', 'int32'],
        ['json', 'json'],
        ['longtext', 'text'],
      ],
    );
  });

  test('a composite key splits into ranges that cover every row once', async () => {
    await mysqlExec(url, 'CREATE TABLE pairs (a int, b varchar(10), c int, PRIMARY KEY (a, c))');
    const values = Array.from({ length: 1000 }, (_, i) => `(${i % 7}, 'r${i}', ${i})`).join(',');
    await mysqlExec(url, `INSERT INTO pairs VALUES ${values}`);
    const table = await sourceTable(conn, 'pairs');
    const source = conn.source!();
    const view = await source.snapshot(3);
    try {
      const ranges = await source.split(table, 90, view);
      assert.ok(ranges.length >= 10 && ranges.length <= 13, `${ranges.length} ranges`);
      const seen: unknown[] = [];
      await Promise.all(
        ranges.map(async (r) => {
          for (const row of await collect(source.read(table, r, view, 50))) seen.push(row[2]);
        }),
      );
      assert.equal(seen.length, 1000);
      assert.equal(new Set(seen).size, 1000);
    } finally {
      await view.release();
    }
  });

  test('a key value repeated more often than the chunk size still splits correctly', async () => {
    await mysqlExec(
      url,
      'CREATE TABLE repeats (k int, v int); INSERT INTO repeats SELECT IF(seq < 500, 1, seq), seq FROM seq_1_to_700',
    );
    const table = { ...(await sourceTable(conn, 'repeats')), key: ['k'] };
    const source = conn.source!();
    const view = await source.snapshot(1);
    try {
      const ranges = await source.split(table, 100, view);
      let total = 0;
      for (const r of ranges) total += await source.count(table, r, view);
      assert.equal(total, 700);
    } finally {
      await view.release();
    }
  });
});

describe('mysql: writing refuses what MySQL cannot hold', () => {
  let conn: Connector;
  before(async () => (conn = await open(await freshMysql('mysql_limits'))));
  after(async () => conn?.close());

  const column = (type: string, nativeType?: string) => ({
    name: 'x',
    type: parseType(type),
    nativeType: nativeType ?? conn.nativeType(parseType(type)).native,
    nullable: true,
  });

  test('valueCheck names dates, times and floats out of range', () => {
    const target = conn.target!();
    const date = target.valueCheck!(column('date'))!;
    assert.equal(date('0001-01-01'), undefined);
    assert.equal(date('9999-12-31'), undefined);
    assert.match(date('-0044-03-15')!, /outside/);
    assert.match(date('10000-01-01')!, /outside/);
    const stamp = target.valueCheck!(column('timestamptz(6)'))!;
    assert.equal(stamp('2024-01-01 00:00:00Z'), undefined);
    const ts = target.valueCheck!(column('timestamp(0)', 'timestamp'))!;
    assert.match(ts('2040-01-01 00:00:00Z')!, /TIMESTAMP range/);
    assert.equal(ts('2030-01-01 00:00:00Z'), undefined);
    const time = target.valueCheck!(column('time(6)'))!;
    assert.equal(time('-838:59:59'), undefined);
    assert.match(time('839:00:00')!, /outside/);
    const f = target.valueCheck!(column('float64'))!;
    assert.match(f(-0)!, /negative zero/);
    assert.equal(target.valueCheck!(column('int32')), undefined);
  });

  test('a value that does not fit fails the chunk with the server reason', async () => {
    const target = conn.target!();
    const table: TargetTable = {
      name: 'narrow',
      columns: [
        { name: 'id', type: parseType('int32'), nativeType: 'int', nullable: false },
        { name: 'label', type: parseType('varchar(3)'), nativeType: 'varchar(3)', nullable: true },
      ],
      primaryKey: ['id'],
      key: ['id'],
      uniqueKeys: [],
      indexes: [],
      foreignKeys: [],
    };
    await target.prepare(table, 'drop');
    await assert.rejects(
      target.writeChunk(
        { table, range: {}, replace: false, isolate: false },
        batchesOf([
          [1, 'abc'],
          [2, 'abcd'],
        ]),
      ),
      (e: FerryError) => {
        assert.equal(e.code, 'WRITE_FAILED');
        assert.match(e.message, /label/);
        assert.equal(e.transient, false);
        return true;
      },
    );
    const res = await target.writeChunk(
      { table, range: {}, replace: false, isolate: true },
      batchesOf([
        [1, 'abc'],
        [2, 'abcd'],
        [3, 'ok'],
      ]),
    );
    assert.equal(res.rows, 2);
    assert.deepEqual(
      res.rejects.map((r) => r.row[0]),
      [2],
    );
    assert.match(res.rejects[0]!.reason, /too long/i);
  });

  test('a timetz value is stored as its text, offset kept, and read back the same', async () => {
    const target = conn.target!();
    const native = conn.nativeType(parseType('timetz(6)')).native;
    const table: TargetTable = {
      name: 'clock_text',
      columns: [
        { name: 'id', type: parseType('int32'), nativeType: 'int', nullable: false },
        { name: 't', type: conn.canonicalType(native), nativeType: native, nullable: true },
      ],
      primaryKey: ['id'],
      key: ['id'],
      uniqueKeys: [],
      indexes: [],
      foreignKeys: [],
    };
    const values = ['01:16:00+09:00', '23:59:59.999999-05:30', '24:00:00+15:59:59', '00:00:00-15:59:59'];
    await target.prepare(table, 'drop');
    await target.writeChunk(
      { table, range: {}, replace: false, isolate: false },
      batchesOf(values.map((v, i) => [i + 1, v])),
    );
    assert.deepEqual(
      await collect(target.readBack(table, {}, 10)),
      values.map((v, i) => [i + 1, v]),
    );
  });

  test('a timetz value in a time column (a plan that casts it) is stored as its UTC time of day', async () => {
    const target = conn.target!();
    const native = 'time(0)';
    const table: TargetTable = {
      name: 'clock',
      columns: [
        { name: 'id', type: parseType('int32'), nativeType: 'int', nullable: false },
        { name: 't', type: conn.canonicalType(native), nativeType: native, nullable: true },
      ],
      primaryKey: ['id'],
      key: ['id'],
      uniqueKeys: [],
      indexes: [],
      foreignKeys: [],
    };
    await target.prepare(table, 'drop');
    await target.writeChunk(
      { table, range: {}, replace: false, isolate: false },
      batchesOf([
        [1, '12:30:00+02:00'],
        [2, '23:00:00-05'],
        [3, '08:00:00'],
      ]),
    );
    assert.deepEqual(await collect(target.readBack(table, {}, 10)), [
      [1, '10:30:00'],
      [2, '04:00:00'],
      [3, '08:00:00'],
    ]);
  });
});

describe('mysql: tables, keys and indexes', () => {
  let conn: Connector;
  let url: string;
  before(async () => {
    url = await freshMysql('mysql_tables');
    conn = await open(url);
  });
  after(async () => conn?.close());

  const col = (
    name: string,
    type: string,
    nativeType: string,
    extra: Partial<TargetTable['columns'][number]> = {},
  ) => ({ name, type: parseType(type), nativeType, nullable: true, ...extra });
  const tableOf = (name: string, columns: TargetTable['columns'], more: Partial<TargetTable> = {}): TargetTable => ({
    name,
    columns,
    primaryKey: ['id'],
    key: ['id'],
    uniqueKeys: [],
    indexes: [],
    foreignKeys: [],
    ...more,
  });

  test('check names keys MySQL cannot build before anything is written', async () => {
    const t = tableOf(
      'x'.repeat(70),
      [col('id', 'text', 'longtext'), col('a', 'varchar(800)', 'varchar(800)'), col('b', 'text', 'longtext')],
      {
        uniqueKeys: [['a']],
        indexes: [{ name: 'b_idx', columns: ['b'], unique: false }],
      },
    );
    const findings = await conn.target!().check([t]);
    const codes = findings.map((f) => `${f.severity} ${f.code}`).sort();
    assert.deepEqual(codes, [
      'error IDENTIFIER_TOO_LONG',
      'error KEY_ON_TEXT',
      'error KEY_TOO_LONG',
      'info INDEX_ON_TEXT',
    ]);
    for (const f of findings) assert.match(f.action, /\w/);
  });

  test('the auto-increment counter of a table whose keys are all below 1 starts at 1', async () => {
    const target = conn.target!();
    const negative = tableOf('counted_negative', [
      col('id', 'int64', 'bigint', { nullable: false, autoIncrement: true }),
      col('note', 'text', 'longtext'),
    ]);
    await target.prepare(negative, 'drop');
    await target.writeChunk(
      { table: negative, range: {}, replace: false, isolate: false },
      batchesOf([
        [-5n, 'a'],
        [-2n, 'b'],
      ]),
    );
    await target.finishTable(negative);
    await mysqlExec(url, "INSERT INTO counted_negative (note) VALUES ('next')");
    const [row] = (await mysqlExec(url, "SELECT id FROM counted_negative WHERE note = 'next'")) as { id: number }[];
    assert.equal(Number(row!.id), 1);
  });

  test('finishing a table twice is harmless and the auto-increment counter continues after the data', async () => {
    const target = conn.target!();
    const parent = tableOf(
      'counted',
      [col('id', 'int64', 'bigint', { nullable: false, autoIncrement: true }), col('note', 'text', 'longtext')],
      {
        indexes: [{ name: 'counted_note_idx', columns: ['note'], unique: false }],
      },
    );
    const child = tableOf(
      'counted_child',
      [col('id', 'int64', 'bigint', { nullable: false }), col('parent', 'int64', 'bigint')],
      {
        foreignKeys: [
          {
            name: 'counted_child_parent_fk',
            columns: ['parent'],
            refTable: 'counted',
            refColumns: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      },
    );
    for (const t of [parent, child]) await target.prepare(t, 'drop');
    await target.writeChunk(
      { table: parent, range: {}, replace: false, isolate: false },
      batchesOf(Array.from({ length: 10 }, (_, i) => [BigInt(i + 1), `note ${i}`])),
    );
    await target.writeChunk({ table: child, range: {}, replace: false, isolate: false }, batchesOf([[1n, 3n]]));
    for (let i = 0; i < 2; i++) {
      await target.finishTable(parent);
      await target.finishTable(child);
      await target.addForeignKeys(child);
    }
    await mysqlExec(url, "INSERT INTO counted (note) VALUES ('next')");
    const [row] = (await mysqlExec(url, "SELECT id FROM counted WHERE note = 'next'")) as { id: number }[];
    assert.equal(Number(row!.id), 11);
    const schema = await conn.introspect({ tables: ['counted', 'counted_child'] });
    const byName = new Map(schema.tables.map((t) => [t.name, t]));
    assert.deepEqual(
      byName.get('counted')!.indexes.map((i) => [i.name, i.expression]),
      [['counted_note_idx', 'prefix of 255 on note']],
    );
    assert.deepEqual(
      byName.get('counted_child')!.foreignKeys.map((f) => [f.name, f.onDelete]),
      [['counted_child_parent_fk', 'CASCADE']],
    );
  });

  test('a key of 0 in an auto-increment column stays 0, whichever chunk comes first (with a binary column, LOAD DATA has a SET clause)', async () => {
    const target = conn.target!();
    const t = tableOf('zero_key', [
      col('id', 'int32', 'int', { nullable: false, autoIncrement: true }),
      col('picture', 'bytes', 'longblob'),
    ]);
    await target.prepare(t, 'drop');
    // the later chunk first: the counter has moved past 0 when the row with key 0 arrives
    await target.writeChunk(
      { table: t, range: { lower: [5] }, replace: false, isolate: false },
      batchesOf([
        [5, new Uint8Array([5])],
        [6, null],
      ]),
    );
    await target.writeChunk(
      { table: t, range: { upper: [5] }, replace: false, isolate: false },
      batchesOf([
        [0, new Uint8Array([0])],
        [1, null],
      ]),
    );
    const rows = (await mysqlExec(url, 'SELECT id, HEX(picture) AS p FROM zero_key ORDER BY id')) as {
      id: number;
      p: string | null;
    }[];
    assert.deepEqual(
      rows.map((r) => [Number(r.id), r.p]),
      [
        [0, '00'],
        [1, null],
        [5, '05'],
        [6, null],
      ],
    );
  });

  test('an auto-increment column that does not lead the primary key gets the index MySQL needs', async () => {
    const target = conn.target!();
    const t = tableOf(
      'dated',
      [
        col('day', 'date', 'date', { nullable: false }),
        col('id', 'int32', 'int', { nullable: false, autoIncrement: true }),
      ],
      {
        primaryKey: ['day', 'id'],
        key: ['day', 'id'],
        indexes: [{ name: 'dated_id_idx', columns: ['id'], unique: false }],
      },
    );
    await target.prepare(t, 'drop');
    await target.writeChunk(
      { table: t, range: {}, replace: false, isolate: false },
      batchesOf([
        ['2024-01-01', 1],
        ['2024-01-02', 7],
      ]),
    );
    await target.finishTable(t);
    await mysqlExec(url, "INSERT INTO dated (day) VALUES ('2024-01-03')");
    assert.deepEqual(await mysqlExec(url, 'SELECT MAX(id) AS id FROM dated'), [{ id: 8 }]);
    const info = (await conn.introspect({ tables: ['dated'] })).tables[0]!;
    assert.equal(info.indexes.length, 1, 'one index on id, not two');
  });

  test('a foreign key the rows break is refused when it is added', async () => {
    const target = conn.target!();
    const parent = tableOf('owner', [col('id', 'int32', 'int', { nullable: false })]);
    const child = tableOf('owned', [col('id', 'int32', 'int', { nullable: false }), col('owner', 'int32', 'int')], {
      foreignKeys: [{ name: 'owned_owner_fk', columns: ['owner'], refTable: 'owner', refColumns: ['id'] }],
    });
    for (const t of [parent, child]) await target.prepare(t, 'drop');
    await target.writeChunk({ table: child, range: {}, replace: false, isolate: false }, batchesOf([[1, 42]]));
    await assert.rejects(
      target.addForeignKeys(child),
      (e: FerryError) => e.code === 'WRITE_FAILED' && /owned/.test(e.message),
    );
  });
});

describe('mysql: connection errors', () => {
  const oneLineWithout = (e: unknown, code: string, secret?: string) => {
    assert.ok(e instanceof FerryError, String(e));
    assert.equal(e.code, code);
    assert.doesNotMatch(e.oneLine(), /\n/);
    if (secret) assert.ok(!e.oneLine().includes(secret), e.oneLine());
    return true;
  };

  test('an unreachable host is CONNECT_FAILED', async () => {
    await assert.rejects(
      open('mysql://root:s3cret-pw@127.0.0.1:1/x'),
      (e) => oneLineWithout(e, 'CONNECT_FAILED', 's3cret-pw') && /127\.0\.0\.1:1/.test((e as Error).message),
    );
  });

  test('a wrong password is AUTH_FAILED naming the user', async () => {
    const user = mysqlUser('ferry_mysql_pw');
    await mysqlExec(`${MYSQL_BASE}/mysql`, `CREATE USER '${user}'@'%' IDENTIFIED BY 'right-pw-123'`);
    await assert.rejects(open(`mysql://${user}:wrong-pw-456@${hostPort(MYSQL_BASE)}/mysql`), (e) => {
      oneLineWithout(e, 'AUTH_FAILED', 'wrong-pw-456');
      assert.match((e as Error).message, re`${user}@`);
      return true;
    });
  });

  test('an unknown database is DATABASE_NOT_FOUND', async () => {
    await assert.rejects(
      open(`${MYSQL_BASE}/${unique('mysql_no_such_db')}`),
      (e) => oneLineWithout(e, 'DATABASE_NOT_FOUND') && re`${unique('mysql_no_such_db')}`.test((e as Error).message),
    );
  });

  test('a deadlock is a transient WRITE_FAILED', async () => {
    const url = await freshMysql('mysql_deadlock');
    await mysqlExec(url, 'CREATE TABLE pair (id int PRIMARY KEY, v int); INSERT INTO pair VALUES (1, 0), (2, 0)');
    const [a, b] = await Promise.all([mysql.createConnection({ uri: url }), mysql.createConnection({ uri: url })]);
    try {
      await a.query('START TRANSACTION');
      await b.query('START TRANSACTION');
      await a.query('UPDATE pair SET v = 1 WHERE id = 1');
      await b.query('UPDATE pair SET v = 1 WHERE id = 2');
      // InnoDB picks either transaction as the victim: the other one goes through
      const outcomes = await Promise.allSettled([
        a.query('UPDATE pair SET v = 1 WHERE id = 2'),
        b.query('UPDATE pair SET v = 1 WHERE id = 1'),
      ]);
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      assert.equal(refused.length, 1, 'one transaction is the deadlock victim');
      const victim: unknown = refused[0]!.reason;
      const e = toFerryError(victim, parseEndpoint(url), 'write', 'pair');
      assert.equal(e.code, 'WRITE_FAILED');
      assert.equal(e.transient, true);
      assert.match(e.message, /deadlock/i);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  test('a write whose connection is killed is a transient WRITE_FAILED, and its rows stop being pulled', async () => {
    const url = await freshMysql('mysql_write_killed');
    const conn = await open(url);
    try {
      const table: TargetTable = {
        name: 'endless',
        columns: [
          { name: 'id', type: parseType('int32'), nativeType: 'int', nullable: false },
          { name: 'note', type: parseType('text'), nativeType: 'text', nullable: true },
        ],
        primaryKey: ['id'],
        key: ['id'],
        uniqueKeys: [],
        indexes: [],
        foreignKeys: [],
      };
      await conn.target!().prepare(table, 'drop');
      await writeUntilKilled(conn.target!(), table, async () => {
        const [writer] = (await mysqlExec(
          url,
          "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'LOAD DATA%'",
          [dbName(url)],
        )) as { id: number }[];
        if (writer) await mysqlExec(url, `KILL ${writer.id}`);
        return writer !== undefined;
      });
    } finally {
      await conn.close();
    }
  });

  test('live changes: a connection killed inside a batch leaves neither the batch nor its position', async () => {
    const url = await freshMysql('mysql_apply_killed');
    const conn = await open(url);
    try {
      await applyUntilKilled(conn, async () => {
        const [applier] = (await mysqlExec(
          url,
          'SELECT p.ID AS id FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.DB = ? AND p.ID <> CONNECTION_ID()',
          [dbName(url)],
        )) as { id: number }[];
        if (applier) await mysqlExec(url, `KILL ${applier.id}`);
        return applier !== undefined;
      });
    } finally {
      await conn.close();
    }
  });

  test('a reader whose connection is killed says the snapshot is gone, and so does every read after it', async () => {
    const url = await freshMysql('mysql_killed');
    await mysqlExec(url, 'CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT seq FROM seq_1_to_100');
    const conn = await open(url);
    try {
      const table = await sourceTable(conn, 'items');
      const source = conn.source!();
      const view = await source.snapshot(1);
      try {
        const [reader] = (await mysqlExec(
          url,
          'SELECT t.trx_mysql_thread_id AS id FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.DB = ?',
          [dbName(url)],
        )) as { id: number }[];
        await mysqlExec(url, `KILL ${reader!.id}`);
        const gone = (e: FerryError) =>
          e.code === 'SNAPSHOT_LOST' &&
          !e.transient &&
          /^the source's consistent snapshot is gone \(MySQL at /.test(e.message);
        await assert.rejects(collect(source.read(table, {}, view, 10)), gone);
        await assert.rejects(source.count(table, {}, view), gone);
      } finally {
        await view.release();
      }
    } finally {
      await conn.close();
    }
  });

  test('an unknown table is TABLE_NOT_FOUND', async () => {
    const conn = await open(await freshMysql('mysql_errors'));
    try {
      const table: SourceTable = {
        name: 'missing',
        columns: [{ name: 'id', type: parseType('int32'), nativeType: 'int', nullable: false }],
        key: ['id'],
      };
      const source = conn.source!();
      const view = await source.snapshot(1);
      try {
        await assert.rejects(
          source.count(table, {}, view),
          (e) => oneLineWithout(e, 'TABLE_NOT_FOUND') && /missing/.test((e as Error).message),
        );
      } finally {
        await view.release();
      }
    } finally {
      await conn.close();
    }
  });
});

describe('mysql: Chinook', () => {
  let conn: Connector;
  before(async () => {
    conn = await open(await loadChinook('mysql', 'mysql_chinook'));
  });
  after(async () => conn?.close());

  test('introspect finds the tables, keys and types', async () => {
    const schema = await conn.introspect();
    assert.equal(schema.engine, 'mariadb');
    assert.deepEqual(schema.tables.map((t) => t.name).sort(), [
      'Album',
      'Artist',
      'Customer',
      'Employee',
      'Genre',
      'Invoice',
      'InvoiceLine',
      'MediaType',
      'Playlist',
      'PlaylistTrack',
      'Track',
    ]);
    const byName = new Map(schema.tables.map((t) => [t.name, t]));
    assert.deepEqual(byName.get('PlaylistTrack')!.primaryKey, ['PlaylistId', 'TrackId']);
    for (const t of schema.tables) assert.equal(t.primaryKey.length, t.name === 'PlaylistTrack' ? 2 : 1, t.name);
    assert.equal(
      schema.tables.reduce((n, t) => n + t.foreignKeys.length, 0),
      11,
    );
    const self = byName.get('Employee')!.foreignKeys[0]!;
    assert.deepEqual([self.columns, self.refTable, self.refColumns], [['ReportsTo'], 'Employee', ['EmployeeId']]);
    const invoice = byName.get('Invoice')!;
    const type = (name: string) => formatType(invoice.columns.find((c) => c.name === name)!.type);
    assert.equal(type('Total'), 'decimal(10,2)');
    assert.equal(type('InvoiceDate'), 'timestamp(0)');
    assert.equal(type('BillingCity'), 'varchar(40)');
    assert.ok(byName.get('Track')!.rowEstimate > 0);
  });

  test('every row of every table is read once, in chunks', async () => {
    const schema = await conn.introspect();
    const source = conn.source!();
    const view = await source.snapshot(2);
    try {
      let total = 0;
      for (const t of schema.tables) {
        const table: SourceTable = { name: t.name, columns: t.columns, key: t.primaryKey };
        const ranges = await source.split(table, 1000, view);
        const counts = await Promise.all(
          ranges.map(async (r) => (await collect(source.read(table, r, view, 500))).length),
        );
        total += counts.reduce((a, b) => a + b, 0);
      }
      assert.equal(total, 15607);
    } finally {
      await view.release();
    }
  });
});
