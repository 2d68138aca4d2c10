// Kill -9 in the middle of a table, run again: every row exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlanStatus } from '../../src/pipeline/observe/status.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freshMysql, freshPg, mysqlExec, pgExec, re } from '../helpers.js';
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

  const before = ferry(['status', file, '--json'], { cwd: dir });
  assert.equal(before.code, 0, before.stderr);
  assert.equal((JSON.parse(before.stdout) as PlanStatus).phase, 'not started');
  await killMidRun(file, dir);
  const partial = await rowsIn(target);
  assert.ok(partial > 0 && partial < ROWS, `killed mid-table with ${partial} rows written`);
  const midway = JSON.parse(ferry(['status', file, '--json'], { cwd: dir }).stdout) as PlanStatus;
  assert.equal(midway.phase, 'copying');
  // a chunk the target committed as the run was killed is not done yet: it is written again
  assert.ok(midway.tables[0]!.rows > 0 && midway.tables[0]!.rows <= partial, `${midway.tables[0]!.rows} of ${partial}`);
  assert.ok(midway.tables[0]!.chunksDone > 0 && midway.tables[0]!.chunksDone < midway.tables[0]!.chunks);

  const state = new Database(join(dir, '.ferry', 'state.db'), { readonly: true });
  const [doneBefore, rowsBefore] = state
    .prepare("SELECT count(*), coalesce(sum(rows), 0) FROM chunks WHERE status = 'done'")
    .raw()
    .get() as [number, number];
  state.close();
  const again = ferry(['run', file], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  // the resumed run says what it resumed after, and counts only what it copied itself
  assert.match(
    again.stdout,
    re`resuming: ${doneBefore} chunks \(${rowsBefore} rows\) were copied by earlier runs and are not copied again`,
  );
  assert.match(
    again.stdout,
    re`copied ${ROWS - rowsBefore} rows in [\d.]+ s \(\d+ rows/s\); resumed after ${doneBefore} chunks \(${rowsBefore} rows\) copied by earlier runs, 0 rejected`,
  );
  const [resumedRun] = readdirSync(join(dir, '.ferry', 'audit'))
    .sort()
    .slice(-1);
  const report = ferry(['report'], { cwd: dir });
  assert.equal(report.code, 0, report.stderr);
  const markdown = readFileSync(join(dir, '.ferry', 'reports', `${resumedRun!.replace(/\.jsonl$/, '')}.md`), 'utf8');
  // the report writes whole numbers with thousands separators
  const separated = (x: number) => x.toLocaleString('en-US');
  assert.match(markdown, re`Total: ${separated(ROWS - rowsBefore)} rows copied by this run`);
  assert.match(
    markdown,
    re`This run resumed after ${separated(doneBefore)} chunks \(${separated(rowsBefore)} rows\) copied by earlier runs`,
  );
  assert.match(markdown, re`\| items \| ${separated(doneBefore)} \| ${separated(rowsBefore)} \|`);
  const [{ n, d }] = (await mysqlExec(target, 'SELECT count(*) n, count(DISTINCT id) d FROM items')) as {
    n: number;
    d: number;
  }[];
  assert.equal(Number(n), ROWS);
  assert.equal(Number(d), ROWS);
  const v = await verifyPlan(file);
  assert.ok(v.ok, JSON.stringify(v.tables));
  const after = JSON.parse(ferry(['status', file, '--json'], { cwd: dir }).stdout) as PlanStatus;
  assert.deepEqual(
    [
      after.phase,
      after.tables[0]!.state,
      after.tables[0]!.rows,
      after.tables[0]!.chunksDone === after.tables[0]!.chunks,
    ],
    ['copied', 'linked', ROWS, true],
  );

  // run again once finished: nothing to do, and no new run (the latest is still the one that finished)
  const audits = readdirSync(join(dir, '.ferry', 'audit'));
  const finished = ferry(['run', file], { cwd: dir });
  assert.equal(finished.code, 0, finished.stderr);
  assert.match(
    finished.stdout,
    re`^nothing to do: every table of ${file} was copied by run ${resumedRun!.replace(/\.jsonl$/, '')} \(finished `,
  );
  assert.deepEqual(readdirSync(join(dir, '.ferry', 'audit')), audits, 'no run was started');
  assert.match(ferry(['report'], { cwd: dir }).stdout, re`report of run ${resumedRun!.replace(/\.jsonl$/, '')}:`);
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
