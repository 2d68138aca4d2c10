// Kill -9 in the middle of a table, run again: every row exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { freshMysql, freshPg, mysqlExec, pgExec } from '../helpers.js';
import { ferry, killMidRun, planFor } from './support.js';

const ROWS = 400_000;

async function rowsIn(target: string): Promise<number> {
  const [{ n }] = (await mysqlExec(target, 'SELECT count(*) n FROM items')) as { n: number }[];
  return Number(n);
}

test('SIGKILL during a table, then run again: exactly one copy of every row, verified', async () => {
  const source = await freshPg('ferry_resume_src');
  await pgExec(
    source,
    `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2), at timestamptz(6))`,
  );
  await pgExec(
    source,
    `INSERT INTO items SELECT g, 'item ' || g || ' ü', (g % 10000) / 100.0, '2024-01-01'::timestamptz + g * interval '1.000001 second' FROM generate_series(1, ${ROWS}) g`,
  );
  const target = await freshMysql('ferry_resume_dst');
  const { file, dir } = await planFor(source, target, (p) => (p.settings.batchRows = 2000), { rowsPerChunk: 10_000 });

  await killMidRun(file, dir);
  const partial = await rowsIn(target);
  assert.ok(partial > 0 && partial < ROWS, `killed mid-table with ${partial} rows written`);

  const again = ferry(['run', file], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  const [{ n, d }] = (await mysqlExec(target, 'SELECT count(*) n, count(DISTINCT id) d FROM items')) as {
    n: number;
    d: number;
  }[];
  assert.equal(Number(n), ROWS);
  assert.equal(Number(d), ROWS);
  const v = await verifyPlan(file);
  assert.ok(v.ok, JSON.stringify(v.tables));
});

test('a table without a key is replaced whole on resume, never duplicated', async () => {
  const source = await freshPg('ferry_resume_nokey_src');
  await pgExec(source, `CREATE TABLE log (at timestamp(6), line text)`);
  await pgExec(
    source,
    `INSERT INTO log SELECT '2024-01-01'::timestamp + g * interval '1 microsecond', 'line ' || g FROM generate_series(1, 50000) g`,
  );
  const target = await freshPg('ferry_resume_nokey_dst');
  const { file, dir } = await planFor(source, target);
  assert.equal(ferry(['run', file], { cwd: dir }).code, 0);
  // a second run of a finished plan changes nothing
  assert.equal(ferry(['run', file], { cwd: dir }).code, 0);
  const { rows } = await pgExec(target, 'SELECT count(*)::int n FROM log');
  assert.equal(rows[0].n, 50000);
  assert.ok((await verifyPlan(file)).ok);
});
