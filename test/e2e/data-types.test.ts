// Types the data decides: SQLite columns holding values of several storage classes, MySQL
// tinyint(1) holding other integers, MySQL TIME holding durations. assess finds each, the plan
// gives the column a type that holds every value, the run copies them (or rejects a value no
// type of the column holds, with the reason) and verify passes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { stateParse } from '../../src/core/values.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { assess } from '../../src/pipeline/plan/assess.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { freshMysql, freshPg, freshSqlite, mysqlExec, pgExec, tmpDir } from '../helpers.js';
import { freshDb, planFor } from './support.js';

function rejectsOf(dir: string, table: string): { id: number; reason: string }[] {
  return readFileSync(join(dir, '.ferry', 'rejects', `${table}.ndjson`), 'utf8')
    .trim()
    .split('\n')
    .map((l) => stateParse<{ row: unknown[]; reason: string }>(l))
    .map((r) => ({ id: Number(r.row[0]), reason: r.reason }))
    .sort((a, b) => a.id - b.id);
}

async function pgText(url: string, sql: string): Promise<(string | null)[][]> {
  const r = await pgExec(url, sql);
  return r.rows.map((row: Record<string, string | null>) => Object.values(row));
}

/** The findings of a kind, as [column, severity, message]. */
async function findingsOf(source: string, target: string, codes: string[]): Promise<string[][]> {
  const a = await assess({ source, target });
  return a.findings.filter((f) => codes.includes(f.code)).map((f) => [f.column!, f.severity, f.message]);
}

function sqliteLoose(name: string): string {
  const url = freshSqlite(name);
  const db = new Database(url.slice('sqlite:'.length));
  db.exec(`CREATE TABLE item (id INTEGER PRIMARY KEY, anything, qty INTEGER, amount, price NUMERIC(10,2),
             flag BOOLEAN, level BOOLEAN, photo BLOB, note BLOB, label TEXT)`);
  // SQL literals: better-sqlite3 would bind every JavaScript number as a real
  db.exec(`INSERT INTO item VALUES
    (1, 'abc', 1, 1, 1.5, 1, 0, x'00ff', 'hello', 'a'),
    (2, 5, 'many', 2.5, 2, 0, 2, x'01', NULL, 'b'),
    (3, 1.25, 2.5, NULL, NULL, NULL, 1, NULL, 'x', NULL),
    (4, NULL, 3, 3, 3, 1, -3, NULL, NULL, 'd'),
    (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, x'6869')`);
  db.close();
  return url;
}

describe('SQLite storage classes', () => {
  test('assess reads each column’s storage classes; the plan gives it a type that holds every value', async () => {
    const source = sqliteLoose('loose_assess');
    const target = await freshPg('ferry_loose_assess');
    assert.deepEqual(await findingsOf(source, target, ['MIXED_STORAGE', 'NOT_BOOLEAN']), [
      ['label', 'warning', 'item.label TEXT (text) holds text and blob values: planned as text (text) in postgres'],
      [
        'anything',
        'info',
        'item.anything without a declared type (bytes) holds integer, real and text values: planned as text (text) in postgres',
      ],
      [
        'qty',
        'info',
        'item.qty INTEGER (int64) holds integer, real and text values: planned as text (text) in postgres',
      ],
      [
        'amount',
        'info',
        'item.amount without a declared type (bytes) holds integer and real values: planned as numeric (decimal) in postgres',
      ],
      [
        'level',
        'info',
        'item.level BOOLEAN (bool) holds 2 values other than 0 and 1 (from -3 to 2): planned as smallint (int8) in postgres',
      ],
      ['note', 'info', 'item.note BLOB (bytes) holds text values: planned as text (text) in postgres'],
    ]);
  });

  for (const to of ['postgres', 'mysql', 'sqlite', 'folder'] as const)
    test(`into ${to}: every value arrives in a type that holds it; a blob in a text column is rejected with the reason`, async () => {
      const source = sqliteLoose(`loose_${to}`);
      const target = to === 'folder' ? `file:${tmpDir('ferry-loose-')}` : await freshDb(to, `ferry_loose_${to}`);
      const { file, dir, plan } = await planFor(source, target, (p) => (p.settings.maxRejects = 1));
      const types = Object.fromEntries(plan.waves[0]!.tables[0]!.columns.map((c) => [c.source, c.type]));
      const text = { postgres: 'text', mysql: 'longtext', sqlite: 'TEXT', folder: 'STRING' }[to];
      assert.equal(types.anything, text);
      assert.equal(types.qty, text);
      assert.equal(types.note, text);
      assert.equal(types.label, text);
      assert.equal(
        types.amount,
        { postgres: 'numeric', mysql: 'decimal(65,30)', sqlite: 'DECIMAL_TEXT', folder: 'STRING' }[to],
      );
      assert.equal(types.level, { postgres: 'smallint', mysql: 'tinyint', sqlite: 'TINYINT', folder: 'INT8' }[to]);
      assert.equal(types.flag, { postgres: 'boolean', mysql: 'tinyint(1)', sqlite: 'BOOLEAN', folder: 'BOOLEAN' }[to]);
      assert.equal(types.photo, { postgres: 'bytea', mysql: 'longblob', sqlite: 'BLOB', folder: 'BINARY' }[to]);
      assert.equal((await runPlan(file)).rejects, 1);
      assert.deepEqual(rejectsOf(dir, 'item'), [
        {
          id: 5,
          reason:
            'column label: a blob of 2 bytes is not text (give the column a bytes type in the plan to keep its blobs)',
        },
      ]);
      const v = await verifyPlan(file);
      assert.deepEqual(
        v.tables.map((t) => [t.status, t.targetRows, t.rejected]),
        [['match', 4, 1]],
      );
      if (to === 'postgres')
        assert.deepEqual(
          await pgText(
            target,
            `SELECT id::text, anything, qty, amount::text, price::text, flag::text, level::text, encode(photo, 'hex'), note, label FROM item ORDER BY id`,
          ),
          [
            ['1', 'abc', '1', '1', '1.50', 'true', '0', '00ff', 'hello', 'a'],
            ['2', '5', 'many', '2.5', '2.00', 'false', '2', '01', null, 'b'],
            ['3', '1.25', '2.5', null, null, null, '1', null, 'x', null],
            ['4', null, '3', '3', '3.00', 'true', '-3', null, null, 'd'],
          ],
        );
    });

  test('a text value in a column planned as bytes is rejected, never made bytes', async () => {
    const source = sqliteLoose('loose_bytes');
    const target = await freshPg('ferry_loose_bytes');
    const { file, dir } = await planFor(source, target, (p) => {
      p.settings.maxRejects = 1;
      p.waves[0]!.tables[0]!.columns.find((c) => c.source === 'label')!.exclude = true;
      p.waves[0]!.tables[0]!.columns.find((c) => c.source === 'note')!.type = 'bytea';
    });
    await assert.rejects(runPlan(file), /2 rows were rejected and the plan allows 1/);
    assert.deepEqual(rejectsOf(dir, 'item'), [
      {
        id: 1,
        reason: 'column note: "hello" is text, not bytes (give the column a text type in the plan to keep it)',
      },
      { id: 3, reason: 'column note: "x" is text, not bytes (give the column a text type in the plan to keep it)' },
    ]);
  });
});

describe('MySQL tinyint(1) and TIME', () => {
  async function mysqlApp(name: string): Promise<string> {
    const url = await freshMysql(name);
    await mysqlExec(
      url,
      `CREATE TABLE shift (id int PRIMARY KEY, active tinyint(1), level tinyint(1), length time(3), starts time)`,
    );
    await mysqlExec(
      url,
      `INSERT INTO shift VALUES (1, 1, 1, '-838:59:59', '09:30'), (2, 0, 2, '25:00:00.5', '23:59:59'),
         (3, NULL, -5, '10:00', NULL), (4, 1, NULL, NULL, '00:00')`,
    );
    return url;
  }

  test('assess finds tinyint(1) values other than 0 and 1, and times that are durations', async () => {
    const source = await mysqlApp('mysql_classes_assess');
    assert.deepEqual(
      await findingsOf(source, await freshPg('ferry_mysql_classes_assess'), ['NOT_BOOLEAN', 'TIME_DURATIONS']),
      [
        [
          'level',
          'info',
          'shift.level tinyint(1) (bool) holds 2 values other than 0 and 1 (from -5 to 2): planned as smallint (int8) in postgres',
        ],
        [
          'length',
          'info',
          'shift.length time(3) (time(3)) holds 2 durations (negative, or 24 hours and more), which a postgres time of day cannot: planned as interval (interval) in postgres',
        ],
      ],
    );
    // MySQL's own TIME holds durations
    assert.deepEqual(
      (await findingsOf(source, await freshMysql('ferry_mysql_classes_assess_to'), ['TIME_DURATIONS'])).length,
      0,
    );
  });

  for (const to of ['postgres', 'sqlite', 'mysql', 'folder'] as const)
    test(`into ${to}: a flag stays boolean, other tinyint(1) values a small integer, durations an interval where times are of a day`, async () => {
      const source = await mysqlApp(`mysql_classes_${to}`);
      const target =
        to === 'folder' ? `file:${tmpDir('ferry-mysql-classes-')}` : await freshDb(to, `ferry_mysql_classes_${to}`);
      const { file, plan } = await planFor(source, target);
      const types = Object.fromEntries(plan.waves[0]!.tables[0]!.columns.map((c) => [c.source, c.type]));
      assert.deepEqual(
        types,
        {
          postgres: { id: 'integer', active: 'boolean', level: 'smallint', length: 'interval', starts: 'time(0)' },
          sqlite: { id: 'INT32', active: 'BOOLEAN', level: 'TINYINT', length: 'INTERVAL', starts: 'TIME(0)' },
          mysql: { id: 'int', active: 'tinyint(1)', level: 'tinyint', length: 'time(3)', starts: 'time(0)' },
          folder: { id: 'INT32', active: 'BOOLEAN', level: 'INT8', length: 'STRING', starts: 'TIME(MICROS)' },
        }[to],
      );
      assert.equal((await runPlan(file)).rejects, 0);
      assert.equal((await verifyPlan(file)).ok, true);
      if (to === 'postgres')
        assert.deepEqual(
          await pgText(
            target,
            `SELECT id::text, active::text, level::text, length::text, starts::text FROM shift ORDER BY id`,
          ),
          [
            ['1', 'true', '1', '-838:59:59', '09:30:00'],
            ['2', 'false', '2', '25:00:00.5', '23:59:59'],
            ['3', null, '-5', '10:00:00', null],
            ['4', 'true', null, null, '00:00:00'],
          ],
        );
      if (to === 'sqlite') {
        const db = new Database(target.slice('sqlite:'.length), { readonly: true });
        assert.deepEqual(db.prepare('SELECT length FROM shift ORDER BY id').pluck().all(), [
          'PT-838H-59M-59S',
          'PT25H0.5S',
          'PT10H',
          null,
        ]);
        db.close();
      }
    });

  test('a plan that keeps a duration column a time of day rejects each duration with what to do', async () => {
    const source = await mysqlApp('mysql_classes_time');
    const target = await freshPg('ferry_mysql_classes_time');
    const { file, dir } = await planFor(source, target, (p) => {
      p.settings.maxRejects = 2;
      p.waves[0]!.tables[0]!.columns.find((c) => c.source === 'length')!.type = 'time(3)';
    });
    assert.equal((await runPlan(file)).rejects, 2);
    assert.deepEqual(rejectsOf(dir, 'shift'), [
      {
        id: 1,
        reason:
          "column length: time -838:59:59.000 is a duration, not a time of day (change the column's type in the plan to interval)",
      },
      {
        id: 2,
        reason:
          "column length: time 25:00:00.500 is a duration, not a time of day (change the column's type in the plan to interval)",
      },
    ]);
  });
});
