// Servers that die (kill -9) around a command, as source and as target, before it connects,
// while it copies and while it verifies: every command ends within the plan's retry limit plus
// a minute (a command that does not is killed, and the test fails), with the documented exit
// code and one line; once the server is back, the same command resumes and every row is there
// once. And an address that takes a connection but never answers: the connect times out in one
// line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { freshMysql, freshPg, mysqlExec, pgExec, re, tmpDir } from '../helpers.js';
import { privateMariadb } from '../private-mariadb.js';
import { privatePostgres } from '../private-postgres.js';
import { fillItems, itemsIn, planFor, type CliResult } from './support.js';

const ROWS = 20_000;
const ROWS_PER_CHUNK = 2_000;
/** few and short retries: the limit a command must end within is theirs plus a minute */
const RETRIES = { attempts: 3, maxDelaySeconds: 1 };
const DEADLINE_MS = 90_000;
/**
 * A server that stops answering is found out by its silence (core/liveness.ts: asked every 10 s,
 * gone after 30 s without an answer), and each retry waits out a connect timeout (10 s): the
 * limit is that plus a minute.
 */
const SILENT_DEADLINE_MS = 10_000 + 30_000 + RETRIES.attempts * 10_000 + 60_000;

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `ferry ARGS` in `cwd`, with `meanwhile` done as soon as `when` says so (polled); a command
 * still running at the deadline is killed and the test fails.
 */
async function ferryWithin(
  args: string[],
  cwd: string,
  during?: { when: () => Promise<boolean>; meanwhile: () => void | Promise<void> },
  deadlineMs = DEADLINE_MS,
): Promise<CliResult> {
  // logs as JSON lines: the retries' lines are told from the one line of the outcome
  const child = spawn(process.execPath, [CLI, '--json-logs', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let hung = false;
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, deadlineMs);
  if (during) {
    let running = true;
    void exited.then(() => (running = false));
    while (running && !(await during.when())) await sleep(20);
    assert.ok(running, `the command ended before the fault: ${stdout}${stderr}`);
    await during.meanwhile();
  }
  const code = await exited;
  clearTimeout(deadline);
  assert.ok(!hung, `ferry ${args[0]} did not end within ${deadlineMs / 1000} s: ${stderr}`);
  return { code: code ?? -1, stdout, stderr };
}

/** The last line of stderr, asserting the rest is the retries' log lines only (JSON) and no stack trace. */
function lastLine(r: CliResult): string {
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(
    lines.slice(0, -1).filter((l) => !l.startsWith('{')),
    [],
    r.stderr,
  );
  assert.doesNotMatch(r.stderr, /^\s+at |Unhandled|node:internal/m, r.stderr);
  return lines.at(-1)!;
}

interface Server {
  engine: 'PostgreSQL' | 'MySQL';
  port: number;
  database(name: string): Promise<string>;
  kill(): Promise<void>;
  freeze(): void;
  thaw(): void;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
  /** whether a ferry session is connected to database `db` */
  serving(db: string): Promise<boolean>;
}

/** A plan with short retries whose reads are throttled, so that the run is still copying when the server dies. */
function slowPlan(source: string, target: string) {
  return planFor(
    source,
    target,
    (p) => {
      p.settings.throttle = { rowsPerSecond: 4000 };
      p.settings.batchRows = 500;
      p.settings.retries = RETRIES;
    },
    { rowsPerChunk: ROWS_PER_CHUNK },
  );
}

/** Whether `minDone` chunks of the run in `dir` are durable. */
async function chunksDone(dir: string, minDone: number): Promise<boolean> {
  try {
    const db = new Database(`${dir}/.ferry/state.db`, { readonly: true, fileMustExist: true });
    try {
      const { done } = db.prepare("SELECT count(*) AS done FROM chunks WHERE status = 'done'").get() as {
        done: number;
      };
      return done >= minDone;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

/** The same command once the server is back (started again after a kill): it finishes, every row once, and verify agrees. */
async function resumes(server: Server, file: string, dir: string, target: string, killed = true): Promise<void> {
  if (killed) await server.start();
  const again = await ferryWithin(['run', file], dir);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await itemsIn(target), { rows: ROWS, distinct: ROWS });
  const verify = await ferryWithin(['verify', file], dir);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
}

const dbOf = (url: string) => new URL(url).pathname.slice(1);

function faults(make: () => Promise<Server>, other: { fresh: (name: string) => Promise<string> }) {
  let server: Server;
  before(async () => {
    server = await make();
  });
  after(() => server?.stop());
  /** the one line names the server */
  const unreachable = (s: Server) => re`^ferry: .*${s.engine} at 127.0.0.1:${s.port}`;

  test('the source is dead before the run connects: one line, exit 1; back, the same command finishes', async () => {
    const source = await server.database('dead_source_before');
    await fillItems(source, ROWS);
    const target = await other.fresh('ferry_faults_dst');
    const { file, dir } = await slowPlan(source, target);
    await server.kill();
    const run = await ferryWithin(['run', file], dir);
    assert.equal(run.code, 1, run.stderr);
    assert.match(lastLine(run), unreachable(server));
    await resumes(server, file, dir, target);
  });

  test('the target is dead before the run connects: one line, exit 1; back, the same command finishes', async () => {
    const source = await other.fresh('ferry_faults_src');
    await fillItems(source, ROWS);
    const target = await server.database('dead_target_before');
    const { file, dir } = await slowPlan(source, target);
    await server.kill();
    const run = await ferryWithin(['run', file], dir);
    assert.equal(run.code, 1, run.stderr);
    assert.match(lastLine(run), unreachable(server));
    await resumes(server, file, dir, target);
  });

  test('the source dies in the middle of a run: one line, exit 1; back, the same command finishes', async () => {
    const source = await server.database('dead_source_during');
    await fillItems(source, ROWS);
    const target = await other.fresh('ferry_faults_dst');
    const { file, dir } = await slowPlan(source, target);
    const run = await ferryWithin(['run', file], dir, {
      when: () => chunksDone(dir, 2),
      meanwhile: () => server.kill(),
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      lastLine(run),
      /^ferry: the source's consistent snapshot is gone \(.+\); the \d+ chunks copied so far are kept: /,
    );
    await resumes(server, file, dir, target);
  });

  test('the target dies in the middle of a run: retried as the plan allows, then one line, exit 1; back, the same command finishes', async () => {
    const source = await other.fresh('ferry_faults_src');
    await fillItems(source, ROWS);
    const target = await server.database('dead_target_during');
    const { file, dir } = await slowPlan(source, target);
    const run = await ferryWithin(['run', file], dir, {
      when: () => chunksDone(dir, 2),
      meanwhile: () => server.kill(),
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      lastLine(run),
      re`^ferry: items chunk \d+ failed ${RETRIES.attempts} times in \d+ s: .*${server.engine} at 127.0.0.1:${server.port}`,
    );
    await resumes(server, file, dir, target);
  });

  test('the target stops answering in the middle of a run: found silent, retried as the plan allows, then one line, exit 1; awake, the same command finishes', async () => {
    const source = await other.fresh('ferry_faults_src');
    await fillItems(source, ROWS);
    const target = await server.database('silent_target_during');
    const { file, dir } = await slowPlan(source, target);
    const run = await ferryWithin(
      ['run', file],
      dir,
      { when: () => chunksDone(dir, 2), meanwhile: () => server.freeze() },
      SILENT_DEADLINE_MS,
    ).finally(() => server.thaw());
    assert.equal(run.code, 1, run.stderr);
    assert.match(lastLine(run), re`^ferry: items chunk \d+ failed ${RETRIES.attempts} times in \d+ s: `);
    assert.match(run.stderr, re`${server.engine} at 127.0.0.1:${server.port} did not answer for 30 s`);
    await resumes(server, file, dir, target, false);
  });

  test('the source stops answering in the middle of a run: found silent, one line, exit 1; awake, the same command finishes', async () => {
    const source = await server.database('silent_source_during');
    await fillItems(source, ROWS);
    const target = await other.fresh('ferry_faults_dst');
    const { file, dir } = await slowPlan(source, target);
    const run = await ferryWithin(
      ['run', file],
      dir,
      { when: () => chunksDone(dir, 2), meanwhile: () => server.freeze() },
      SILENT_DEADLINE_MS,
    ).finally(() => server.thaw());
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      lastLine(run),
      re`^ferry: the source's consistent snapshot is gone \(${server.engine} at 127.0.0.1:${server.port}: .+\); the \d+ chunks copied so far are kept: `,
    );
    await resumes(server, file, dir, target, false);
  });

  for (const side of ['source', 'target'] as const)
    test(`the ${side} dies while verify reads it: an error (exit 1, one line), not a difference`, async () => {
      const mine = await server.database(`dead_${side}_verify`);
      const theirs = await other.fresh(`ferry_faults_${side === 'source' ? 'dst' : 'src'}`);
      const [source, target] = side === 'source' ? [mine, theirs] : [theirs, mine];
      await fillItems(source, ROWS);
      const { file, dir } = await planFor(source, target, (p) => (p.settings.retries = RETRIES), {
        rowsPerChunk: ROWS_PER_CHUNK,
      });
      const run = await ferryWithin(['run', file], dir);
      assert.equal(run.code, 0, run.stderr);
      const verify = await ferryWithin(['verify', file], dir, {
        when: () => server.serving(dbOf(mine)),
        meanwhile: () => server.kill(),
      });
      assert.equal(verify.code, 1, verify.stdout + verify.stderr);
      assert.match(lastLine(verify), unreachable(server));
      await server.start();
      const again = await ferryWithin(['verify', file], dir);
      assert.equal(again.code, 0, again.stdout + again.stderr);
    });
}

describe('faults: PostgreSQL killed', () =>
  faults(
    async () => {
      const s = await privatePostgres();
      return {
        ...s,
        engine: 'PostgreSQL',
        start: () => s.start(),
        serving: async (db) => {
          try {
            const r = await pgExec(
              `postgres://postgres@127.0.0.1:${s.port}/postgres`,
              "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'ferry' AND datname = $1",
              [db],
            );
            return Number(r.rows[0].n) > 0;
          } catch {
            return false;
          }
        },
      };
    },
    { fresh: (name) => freshMysql(name) },
  ));

describe('faults: MariaDB killed', () =>
  faults(
    async () => {
      const s = await privateMariadb();
      return {
        ...s,
        engine: 'MySQL',
        serving: async (db) => {
          try {
            const r = (await mysqlExec(
              `mysql://root@127.0.0.1:${s.port}/mysql`,
              'SELECT count(*) AS n FROM information_schema.processlist WHERE db = ? AND id <> connection_id()',
              [db],
            )) as { n: number }[];
            return Number(r[0]!.n) > 0;
          } catch {
            return false;
          }
        },
      };
    },
    { fresh: (name) => freshPg(name) },
  ));

describe('faults: an address that takes the connection and never answers', () => {
  let silent: NetServer;
  let port: number;
  const held: Socket[] = [];
  before(async () => {
    silent = createServer((socket) => held.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    port = (silent.address() as { port: number }).port;
  });
  after(() => {
    for (const s of held) s.destroy();
    silent.close();
  });

  for (const [engine, url] of [
    ['PostgreSQL', () => `postgres://postgres@127.0.0.1:${port}/db`],
    ['MySQL', () => `mysql://root@127.0.0.1:${port}/db`],
  ] as const)
    test(`${engine}: the connect times out with one line, exit 1`, async () => {
      const dir = tmpDir('ferry-faults-');
      const r = await ferryWithin(['assess', '--source', url()], dir);
      assert.equal(r.code, 1, r.stderr);
      assert.match(lastLine(r), re`^ferry: .*${engine} at 127.0.0.1:${port}.*`);
    });
});
