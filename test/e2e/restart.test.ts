// A database server restarted in the middle of `ferry run`, as a user runs it. As the target:
// the same command rides it out (the chunks in flight are tried again on new connections, each
// replacing what an attempt left) and every row is there once. As the source: the snapshot is
// gone, the run says so in one line, and the same command run again finishes from a new one.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Plan } from '../../src/core/plan.js';
import { freshMysql, freshPg, re } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { ferry, fillItems, itemsIn, planFor, runMeanwhile, type CliResult } from './support.js';

const ROWS = 20_000;
const ROWS_PER_CHUNK = 2_000;
const CHUNKS = ROWS / ROWS_PER_CHUNK;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const items = (url: string): Promise<void> => fillItems(url, ROWS);

/** A plan whose reads are throttled, so that the run is still copying when the server goes. */
function slowPlan(source: string, target: string, edit: (p: Plan) => void = () => {}) {
  return planFor(
    source,
    target,
    (p) => {
      p.settings.throttle = { rowsPerSecond: 4000 };
      p.settings.batchRows = 500;
      edit(p);
    },
    { rowsPerChunk: ROWS_PER_CHUNK },
  );
}

function chunkState(dir: string): { done: number; mostAttempts: number } {
  const db = new Database(join(dir, '.ferry', 'state.db'), { readonly: true });
  try {
    return db
      .prepare("SELECT count(*) FILTER (WHERE status = 'done') AS done, max(attempts) AS mostAttempts FROM chunks")
      .get() as { done: number; mostAttempts: number };
  } finally {
    db.close();
  }
}

function noStackTrace(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /^\s+at |Unhandled|node:internal/m, r.stderr);
}

/** Every row once in the target, and `ferry verify` agrees. */
async function copiedOnce(target: string, file: string, dir: string): Promise<void> {
  assert.deepEqual(await itemsIn(target), { rows: ROWS, distinct: ROWS });
  const verify = ferry(['verify', file], { cwd: dir });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
}

/** A private server of this file's, with the name ferry gives its engine in messages. */
type Server = (PrivatePostgres | PrivateMariadb) & { engine: 'PostgreSQL' | 'MySQL' };

/** A run whose target goes down for a few seconds after two chunks: the same command finishes. */
async function targetDownAWhile(source: string, server: Server): Promise<void> {
  const target = await server.database('target_down_a_while');
  const { file, dir } = await slowPlan(source, target);
  const run = await runMeanwhile(file, dir, 2, async () => {
    await server.shutdown();
    await sleep(3000);
    await server.start();
  });
  assert.equal(run.code, 0, run.stderr);
  noStackTrace(run);
  assert.ok(chunkState(dir).mostAttempts > 1, 'chunks in flight were tried again');
  await copiedOnce(target, file, dir);
}

/** A run whose source restarts after two chunks stops with one line; the same command then finishes. */
async function sourceRestarted(server: Server, fill: (url: string) => Promise<void>, target: string): Promise<void> {
  const source = await server.database('source_restarted');
  await fill(source);
  const { file, dir } = await slowPlan(source, target);
  const run = await runMeanwhile(file, dir, 2, () => server.restart());
  assert.equal(run.code, 1, run.stdout + run.stderr);
  noStackTrace(run);
  const { done } = chunkState(dir);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(
    lines[0]!,
    re`^ferry: the source's consistent snapshot is gone \(${server.engine} at 127.0.0.1:${server.port}: .+\); the ${done} chunks copied so far are kept: run the same command to copy the rest from a new snapshot \(the chunks copied before and after it then come from two different moments of the source\)$`,
  );
  assert.ok(done >= 2 && done < CHUNKS, `${done} of ${CHUNKS} chunks kept`);
  const again = ferry(['run', file], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  await copiedOnce(target, file, dir);
}

describe('restart: PostgreSQL', () => {
  let server: Server;
  before(async () => {
    server = { ...(await privatePostgres()), engine: 'PostgreSQL' };
  });
  after(() => server?.stop());

  test('a target down for a few seconds in the middle of a run: the same command finishes, every row once', async () => {
    const source = await freshMysql('ferry_restart_pgdst_src');
    await items(source);
    await targetDownAWhile(source, server);
  });

  test('a target that stays down: the run stops after settings.retries.attempts with one line, and resumes later', async () => {
    const source = await freshMysql('ferry_restart_pgdown_src');
    await items(source);
    const target = await server.database('target_down');
    const { file, dir } = await slowPlan(
      source,
      target,
      (p) => (p.settings.retries = { attempts: 3, maxDelaySeconds: 1 }),
    );
    const run = await runMeanwhile(file, dir, 2, () => server.shutdown());
    try {
      assert.equal(run.code, 1, run.stderr);
      noStackTrace(run);
      const last = run.stderr.trim().split('\n').at(-1)!;
      const [, chunk] =
        /^ferry: items chunk (\d+) failed 3 times in \d+ s: .+: check the server named here, then run the same command to resume \(settings\.retries sets how long a run keeps trying\)$/.exec(
          last,
        ) ?? assert.fail(last);
      // the log's lines, as a person reads them: `[time] WARN: <message> {details}`
      const retried = run.stderr
        .split('\n')
        .filter((l) => l.includes(`WARN: items chunk ${chunk}: transient error, retrying`));
      assert.equal(retried.length, 2, run.stderr);
    } finally {
      await server.start();
    }
    const again = ferry(['run', file], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    await copiedOnce(target, file, dir);
  });

  test('a source restarted in the middle of a run: one line says the snapshot is gone; the same command finishes', async () => {
    await sourceRestarted(server, items, await freshMysql('ferry_restart_pgsrc_dst'));
  });
});

describe('restart: MariaDB', () => {
  let server: Server;
  before(async () => {
    server = { ...(await privateMariadb()), engine: 'MySQL' };
  });
  after(() => server?.stop());

  test('a target down for a few seconds in the middle of a run: the same command finishes, every row once', async () => {
    const source = await freshPg('ferry_restart_mydst_src');
    await items(source);
    await targetDownAWhile(source, server);
  });

  test('a source restarted in the middle of a run: one line says the snapshot is gone; the same command finishes', async () => {
    await sourceRestarted(server, items, await freshPg('ferry_restart_mysrc_dst'));
  });
});
