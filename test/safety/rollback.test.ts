// Rollback on SQL targets: tables a run created are dropped, tables it replaced or emptied come
// back from the pre-run backup; a target changed since the run stops the rollback unless
// forced. Object storage and DynamoDB targets: stores.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { rollbackRun } from '../../src/pipeline/safety/rollback.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { freshMysql, freshPg, freshSqlite, mysqlExec, pgExec, tmpDir } from '../helpers.js';
import { ferry, planFor } from '../e2e/support.js';
import { shop } from './shop.js';

process.env.FERRY_ROLLBACK_KEY = randomBytes(32).toString('hex');

async function pgTables(url: string): Promise<string[]> {
  return (await pgExec(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map(
    (r) => r.tablename as string,
  );
}

test('PostgreSQL: created tables are dropped, a replaced table comes back from the pre-run backup', async () => {
  const target = await freshPg('ferry_safety_rb_pg');
  // the application's own table, with a name the plan also uses
  await pgExec(
    target,
    "CREATE TABLE customer (id int PRIMARY KEY, name text, since date); INSERT INTO customer VALUES (1, 'the original', '2001-02-03'), (2, 'also original', NULL)",
  );
  await pgExec(target, 'CREATE TABLE unrelated (id int PRIMARY KEY); INSERT INTO unrelated VALUES (7)');
  const { file, dir } = await planFor(
    shop('ferry_safety_rb_pg_src'),
    target,
    (p) => {
      p.target.ifExists = 'drop';
      p.settings.backup = {
        before: true,
        to: join(tmpDir('ferry-safety-rb-'), 'backups'),
        keyEnv: 'FERRY_ROLLBACK_KEY',
      };
    },
    { rowsPerChunk: 250 },
  );
  const run = await runPlan(file);
  assert.ok((await verifyPlan(file)).ok);
  assert.deepEqual(await pgTables(target), ['customer', 'orders', 'unrelated']);

  const check = ferry(['rollback', '--check', '--state-dir', join(dir, '.ferry')]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /customer .*restore/);
  assert.match(check.stdout, /orders .*drop .*the run created it/);
  assert.deepEqual(await pgTables(target), ['customer', 'orders', 'unrelated'], '--check changes nothing');

  const r = await rollbackRun({ stateDir: join(dir, '.ferry'), runId: run.runId });
  assert.deepEqual(
    r.steps.map((s) => [s.table, s.action]),
    [
      ['customer', 'restore'],
      ['orders', 'drop'],
    ],
  );
  assert.deepEqual(await pgTables(target), ['customer', 'unrelated']);
  assert.deepEqual((await pgExec(target, 'SELECT id, name, since::text FROM customer ORDER BY id')).rows, [
    { id: 1, name: 'the original', since: '2001-02-03' },
    { id: 2, name: 'also original', since: null },
  ]);
  assert.deepEqual((await pgExec(target, 'SELECT * FROM unrelated')).rows, [{ id: 7 }]);
  // the plan starts afresh: a new run (after a new pre-run backup) copies everything again
  const again = ferry(['run', file], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await pgExec(target, 'SELECT count(*)::int n FROM orders')).rows[0].n, 1200);
  const audit = ferry(['audit', 'verify', '--state-dir', join(dir, '.ferry')]);
  assert.equal(audit.code, 0, audit.stdout);
  assert.match(audit.stdout, new RegExp(`${r.runId}: intact`));
});

test('MySQL: a target changed since the run stops the rollback, --force goes ahead', async () => {
  const target = await freshMysql('ferry_safety_rb_my');
  const { file, dir } = await planFor(shop('ferry_safety_rb_my_src'), target, () => {}, { rowsPerChunk: 250 });
  await runPlan(file);
  // the application has started writing to the new database
  await mysqlExec(target, 'UPDATE orders SET total = total + 1 WHERE id = 17');
  const state = ['--state-dir', join(dir, '.ferry')];
  const refused = ferry(['rollback', ...state]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^ferry: refusing to roll back run \S+: orders changed since the run left it \(1200 rows then, 1200 rows now, with other content\): find out who writes to the target/,
  );
  assert.equal(refused.stderr.trim().split('\n').length, 1);
  assert.deepEqual(await mysqlExec(target, 'SELECT count(*) n FROM orders'), [{ n: 1200 }], 'nothing was touched');
  const check = ferry(['rollback', '--check', ...state]);
  assert.equal(check.code, 3, 'a check that finds the target changed fails');
  assert.match(check.stdout, /orders .*drop .*changed since the run/);
  const forced = ferry(['rollback', '--force', ...state]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(await mysqlExec(target, 'SHOW TABLES'), []);
  const none = ferry(['rollback', ...state]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /left nothing to roll back/);
});

test("SQLite: created tables are dropped; an emptied table without a backup needs --force, then loses only the run's rows", async () => {
  const target = freshSqlite('ferry_safety_rb_lite');
  const path = target.slice('sqlite:'.length);
  const db = new Database(path);
  db.exec(
    "CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, credit NUMERIC(10,2)); INSERT INTO customer VALUES (1, 'earlier', 0)",
  );
  db.close();
  const { file, dir } = await planFor(
    shop('ferry_safety_rb_lite_src'),
    target,
    (p) => (p.target.ifExists = 'truncate'),
    { rowsPerChunk: 250 },
  );
  await runPlan(file);
  const state = join(dir, '.ferry');
  await assert.rejects(
    rollbackRun({ stateDir: state }),
    /customer existed before the run, which truncated it, and no pre-run backup holds it: its earlier rows cannot be brought back/,
  );
  const r = await rollbackRun({ stateDir: state, force: true });
  assert.deepEqual(
    r.steps.map((s) => [s.table, s.action]),
    [
      ['customer', 'empty'],
      ['orders', 'drop'],
    ],
  );
  const after = new Database(path, { readonly: true });
  const tables = after
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name")
    .pluck()
    .all();
  assert.deepEqual(tables, ['customer'], 'the table that was there before stays');
  assert.equal(after.prepare('SELECT count(*) FROM customer').pluck().get(), 0);
  after.close();
});

test('a run that failed half way is rolled back too', async () => {
  const target = await freshPg('ferry_safety_rb_failed');
  const { file, dir } = await planFor(
    shop('ferry_safety_rb_failed_src'),
    target,
    (p) => {
      // orders.total cannot take the values: the run stops at the error budget
      p.waves.at(-1)!.tables[0]!.columns.find((c) => c.target === 'total')!.type = 'numeric(2,1)';
    },
    { rowsPerChunk: 250 },
  );
  await assert.rejects(runPlan(file), /rows were rejected/);
  assert.deepEqual(await pgTables(target), ['customer', 'orders']);
  const r = await rollbackRun({ stateDir: join(dir, '.ferry') });
  assert.ok(
    r.steps.some((s) => s.table === 'orders' && s.action === 'drop' && /did not finish/.test(s.reason)),
    JSON.stringify(r.steps),
  );
  assert.deepEqual(await pgTables(target), []);
});
