// One run at a time: two `ferry run`s of one plan started together, from one state folder or
// from two (as from two machines: only the lock on the target is shared), on a table with a
// primary key and one without. Exactly one copies, the other stops at once with one line that
// names the holder, and the target holds every row exactly once. A run killed while holding
// the locks leaves them to the next run, which takes them over and copies everything.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import Database from 'better-sqlite3';
import { startDynalite } from '../connectors/dynamodb-local.js';
import { startDenyingProxy, startS3 } from '../connectors/objectstore-servers.js';
import { loadPlan } from '../../src/core/plan.js';
import { StateStore } from '../../src/pipeline/session/checkpoints.js';
import { lockPlan } from '../../src/pipeline/session/lock.js';
import { freshPg, mysqlExec, pgExec, tmpDir } from '../helpers.js';
import {
  ENGINES,
  ferryAsync,
  ferrySpawn,
  freshDb,
  oneLine,
  planFor,
  runMeanwhile,
  type CliResult,
  type Engine,
} from './support.js';

const KEYED = 3000;
const LOOSE = 1000;

let made: Promise<string> | undefined;
/** The source every test reads, made once. */
function source(): Promise<string> {
  return (made ??= makeSource());
}

async function makeSource(): Promise<string> {
  const url = await freshPg('ferry_one_run_src');
  await pgExec(
    url,
    `CREATE TABLE keyed (id int PRIMARY KEY, v text);
     INSERT INTO keyed SELECT g, 'value ' || g FROM generate_series(1, ${KEYED}) g;
     CREATE TABLE loose (v text);
     INSERT INTO loose SELECT 'line ' || (g % 10) FROM generate_series(1, ${LOOSE}) g;`,
  );
  return url;
}

async function count(engine: Engine, url: string, table: string): Promise<number> {
  const sql = `SELECT count(*) AS n FROM ${table}`;
  if (engine === 'postgres') return Number((await pgExec(url, sql)).rows[0].n);
  if (engine === 'mysql') return Number(((await mysqlExec(url, sql)) as { n: number }[])[0]!.n);
  const db = new Database(url.slice('sqlite:'.length), { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

let targets = 0;

/** A plan into `target` whose copy takes a few seconds whatever the machine: reads throttled to 1500 rows a second. */
async function throttledPlan(target: string) {
  return planFor(await source(), target, (p) => (p.settings.throttle = { rowsPerSecond: 1500 }), { rowsPerChunk: 500 });
}

async function slowPlan(engine: Engine) {
  const target = await freshDb(engine, `ferry_one_run_${engine}_${++targets}`);
  return { ...(await throttledPlan(target)), target };
}

/** Two runs of the plan started together, from its own state folder and from another (as from a second machine). */
async function runsFromTwoFolders(file: string, dir: string) {
  const other = tmpDir('ferry-one-run-other-');
  const results = await Promise.all([
    ferryAsync(['run', file], { cwd: dir }),
    ferryAsync(['run', file, '--state-dir', join(other, '.ferry')], { cwd: other }),
  ]);
  return { results, winner: results[0]!.code === 0 ? dir : other };
}

/** `ferry verify` from the state folder of the run that copied. */
function verifyFrom(file: string, winner: string): Promise<CliResult> {
  return ferryAsync(['verify', file, '--state-dir', join(winner, '.ferry')], { cwd: winner });
}

const REFUSED =
  /^ferry: another ferry command holds plan \S+ferry\.plan\.yaml \(its lock (in the state folder|on the target)\): ferry run, process (\d+) on host \S+, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: wait for that command to end/;

/**
 * Exactly one of two runs copied and the other was refused in one line naming the holder, by
 * its lock `where`. MySQL tells the holder's host and since when, not its process.
 */
function oneRefused(results: CliResult[], where: string, engine?: Engine): void {
  const codes = results.map((r) => r.code).sort();
  assert.deepEqual(codes, [0, 1], results.map((r) => r.stderr).join('\n'));
  const line = oneLine(results.find((r) => r.code === 1)!.stderr);
  if (engine === 'mysql' && where === 'on the target')
    assert.match(line, /\(its lock on the target\): ferry, host \S+, since .* UTC: wait/);
  else {
    const m = REFUSED.exec(line);
    assert.ok(m, line);
    assert.equal(m[1], where);
  }
}

for (const engine of ENGINES)
  describe(`one run at a time into ${engine}`, () => {
    test('two runs started together from one state folder: one copies every row once, the other is refused', async () => {
      const { file, dir, target } = await slowPlan(engine);
      const results = await Promise.all([
        ferryAsync(['run', file], { cwd: dir }),
        ferryAsync(['run', file], { cwd: dir }),
      ]);
      oneRefused(results, 'in the state folder', engine);
      assert.equal(await count(engine, target, 'keyed'), KEYED);
      assert.equal(await count(engine, target, 'loose'), LOOSE);
    });

    test('two runs started together from two state folders: the lock on the target refuses one', async () => {
      const { file, dir, target } = await slowPlan(engine);
      const { results } = await runsFromTwoFolders(file, dir);
      oneRefused(results, 'on the target', engine);
      assert.equal(await count(engine, target, 'keyed'), KEYED);
      assert.equal(await count(engine, target, 'loose'), LOOSE);
    });

    test('a verify while a run holds the plan is refused; a run killed holding the locks leaves them to the next', async () => {
      const { file, dir, target } = await slowPlan(engine);
      // the run takes the locks, then waits for its schedule window (12 hours away) before the first write
      const text = readFileSync(file, 'utf8');
      const h = (new Date().getUTCHours() + 12) % 24;
      writeFileSync(
        file,
        text.replace(/^settings:\n/m, `settings:\n  schedule: { windows: ["daily ${h}:00-${h}:30 UTC"] }\n`),
      );
      const held = ferrySpawn(['run', file], { cwd: dir });
      let out = '';
      held.stdout.on('data', (d) => (out += d));
      held.stderr.on('data', (d) => (out += d));
      const ended = new Promise((r) => held.on('exit', r));
      while (!/paused outside the schedule windows/.test(out)) await new Promise((r) => setTimeout(r, 100));

      const verify = await ferryAsync(['verify', file], { cwd: dir });
      assert.equal(verify.code, 1, verify.stderr);
      assert.match(
        oneLine(verify.stderr),
        new RegExp(
          `^ferry: another ferry command holds plan \\S+ \\(its lock in the state folder\\): ferry run, process ${held.pid} on host `,
        ),
      );
      held.kill('SIGKILL');
      await ended;
      assert.equal(readdirSync(join(dir, '.ferry', 'locks')).length, 1, 'the killed run left its lock file');

      writeFileSync(file, text);
      const run = await ferryAsync(['run', file], { cwd: dir });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await count(engine, target, 'keyed'), KEYED);
      assert.equal(await count(engine, target, 'loose'), LOOSE);
      assert.deepEqual(readdirSync(join(dir, '.ferry', 'locks')), [], 'the run released its lock');
      const after = await ferryAsync(['verify', file], { cwd: dir });
      assert.equal(after.code, 0, after.stderr);
    });
  });

test('two runs into a folder of Parquet files from two state folders: the lock file at its root refuses one', async () => {
  const lake = join(tmpDir('ferry-one-run-lake-'), 'lake');
  const { file, dir } = await throttledPlan(`file:${lake}`);
  const { results, winner } = await runsFromTwoFolders(file, dir);
  oneRefused(results, 'on the target');
  assert.deepEqual(readdirSync(lake).sort(), ['keyed', 'loose'], 'the lock file is gone');
  // verify compares every row of the source with the files: each row is there exactly once
  const verify = await verifyFrom(file, winner);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
});

test('two runs into S3 from two state folders: the lock object refuses one; a verify that may not write goes on', async () => {
  const s3 = await startS3();
  // the account may write while the plan runs, and only read when it is verified
  let readOnly = false;
  const proxy = await startDenyingProxy(s3, (r) => readOnly && ['PUT', 'POST', 'DELETE'].includes(r.method));
  try {
    const { file, dir } = await throttledPlan(s3.url('one-run', '', proxy.endpoint));
    const { results, winner } = await runsFromTwoFolders(file, dir);
    oneRefused(results, 'on the target');
    const left = readdirSync(join(s3.dir, s3.bucket, 'one-run'));
    assert.ok(!left.some((n) => n.includes('.lock')), `the lock object is gone: ${left.join(', ')}`);
    readOnly = true;
    const verify = await verifyFrom(file, winner);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(
      verify.stderr,
      /cannot take the lock of plan \S+ on the target; verify goes on with its lock in the state folder only/,
    );
  } finally {
    await proxy.stop();
    await s3.stop();
  }
});

test('two runs into DynamoDB from two state folders: the conditional lock item refuses one, and is gone after', async () => {
  const dynamo = await startDynalite();
  try {
    const { file, dir } = await throttledPlan(dynamo.url);
    const { results, winner } = await runsFromTwoFolders(file, dir);
    oneRefused(results, 'on the target');
    const client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint });
    try {
      const locks = await client.send(new ScanCommand({ TableName: '_ferry_locks' }));
      assert.equal(locks.Count, 0, 'the lock item is gone');
    } finally {
      client.destroy();
    }
    const verify = await verifyFrom(file, winner);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  } finally {
    await dynamo.stop();
  }
});

test('a backup is refused while a run holds the plan; compactions exclude each other, not the run', async () => {
  const lake = tmpDir('ferry-one-run-aside-');
  const { file, dir } = await planFor(
    await source(),
    `file:${join(lake, 'lake')}`,
    (p) => {
      // long enough for a backup to start while it runs (about 20 s)
      p.settings.throttle = { rowsPerSecond: 200 };
      p.settings.backup = { before: false, to: join(lake, 'backups'), keyEnv: 'FERRY_ONE_RUN_KEY' };
    },
    { rowsPerChunk: 500 },
  );
  const env = { FERRY_ONE_RUN_KEY: 'ab'.repeat(32) };
  const run = await runMeanwhile(file, dir, 1, async () => {
    const backup = await ferryAsync(['backup', file], { cwd: dir, env });
    assert.equal(backup.code, 1, backup.stdout + backup.stderr);
    const m = REFUSED.exec(oneLine(backup.stderr));
    assert.ok(m, backup.stderr);
  });
  assert.equal(run.code, 0, run.stderr);

  // a compaction holds its own lock: a second one is refused, a run of the plan is not
  const state = new StateStore(join(dir, '.ferry'));
  const lease = await lockPlan({
    state,
    hash: loadPlan(file).hash,
    planFile: file,
    command: 'compact',
    scope: 'compact',
  });
  try {
    const second = await ferryAsync(['compact', file], { cwd: dir });
    assert.equal(second.code, 1, second.stdout + second.stderr);
    assert.match(
      oneLine(second.stderr),
      /^ferry: another ferry command holds plan \S+ \(its lock in the state folder\): ferry compact, process \d+/,
    );
    const again = await ferryAsync(['run', file], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
  } finally {
    await lease.release();
    state.close();
  }
  const compacted = await ferryAsync(['compact', file], { cwd: dir });
  assert.equal(compacted.code, 0, compacted.stderr);
});
