// Support for end-to-end tests: engines by name, dataset loading, the CLI as a user runs it.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { connect } from '../../src/connectors/index.js';
import type { Connector } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { planToYaml, type Plan } from '../../src/core/plan.js';
import { makePlan, planNotes } from '../../src/pipeline/plan/assess.js';
import {
  dbName,
  freshMysql,
  freshPg,
  freshSqlite,
  mariadbClientArgs,
  mysqlExec,
  pgExec,
  PG_BASE,
  tmpDir,
} from '../helpers.js';

export type Engine = 'postgres' | 'mysql' | 'sqlite';
export const ENGINES: Engine[] = ['postgres', 'mysql', 'sqlite'];

/** A fresh empty database of an engine; returns its URL. */
export async function freshDb(engine: Engine, name: string): Promise<string> {
  if (engine === 'postgres') return freshPg(name);
  if (engine === 'mysql') return freshMysql(name);
  return freshSqlite(name);
}

export function open(url: string): Promise<Connector> {
  return connect(url, silentLogger);
}

// shared/ sits beside the repository (as in CI); FERRY_DATASETS overrides
export const datasetsDir = process.env.FERRY_DATASETS ?? join(process.cwd(), '..', 'shared', 'datasets');

function sh(cmd: string): void {
  execFileSync('bash', ['-o', 'pipefail', '-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Chinook loaded into a fresh database of the engine (the scripts' own database lines skipped). */
export async function loadChinook(engine: Engine, name: string): Promise<string> {
  const url = await freshDb(engine, name);
  const dir = join(datasetsDir, 'chinook');
  if (engine === 'postgres') sh(`tail -n +29 ${dir}/Chinook_PostgreSql.sql | psql -X -q -v ON_ERROR_STOP=1 '${url}'`);
  else if (engine === 'mysql')
    sh(
      `tail -n +29 ${dir}/Chinook_MySql.sql | mariadb ${mariadbClientArgs().join(' ')} --default-character-set=utf8mb4 ${dbName(url)}`,
    );
  else sh(`sqlite3 -bail '${url.slice('sqlite:'.length)}' < ${dir}/Chinook_Sqlite.sql`);
  return url;
}

export async function loadPagila(name: string): Promise<string> {
  const url = await freshPg(name);
  const dir = join(datasetsDir, 'pagila');
  sh(
    `psql -X -q -v ON_ERROR_STOP=1 '${url}' -f ${dir}/pagila-schema.sql && psql -X -q -v ON_ERROR_STOP=1 '${url}' -f ${dir}/pagila-data.sql`,
  );
  return url;
}

/** Writes a plan for source -> target into a fresh folder; returns the plan file and the plan. */
export async function planFor(
  source: string,
  target: string,
  edit: (p: Plan) => void = () => {},
  opts: { rowsPerChunk?: number; tables?: string[] } = {},
): Promise<{ file: string; plan: Plan; dir: string }> {
  const dir = tmpDir('ferry-e2e-');
  const plan = await makePlan({
    source,
    target,
    ifExists: 'drop',
    rowsPerChunk: opts.rowsPerChunk ?? 2000,
    parallelism: 3,
    tables: opts.tables,
  });
  plan.settings.stateDir = join(dir, '.ferry');
  edit(plan);
  const file = join(dir, 'ferry.plan.yaml');
  writeFileSync(file, planToYaml(plan, '', planNotes(plan)));
  return { file, plan, dir };
}

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** node's options on the CLI's first line (#!/usr/bin/env -S node …): the CLI runs with them, as a user's does */
const NODE_FLAGS = readFileSync(CLI, 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(3);
/** node's arguments that run the CLI with `args` */
const cliArgs = (args: string[]) => [...NODE_FLAGS, CLI, ...args];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The one line a command printed on stderr (a failure's), asserting it is one and no stack trace. */
export function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${stderr}`);
  return lines[0]!;
}

export function ferry(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, cliArgs(args), {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The CLI in a child process without blocking this one: for commands that talk to a server this
 * process runs (s3rver), or run side by side. An `env` value undefined unsets the variable;
 * `user` runs it as another user (uid and gid).
 */
export function ferryAsync(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; user?: { uid: number; gid: number } } = {},
): Promise<CliResult> {
  const env = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, cliArgs(args), {
      cwd: opts.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...opts.user,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function ferrySpawn(args: string[], opts: { cwd?: string } = {}) {
  return spawn(process.execPath, cliArgs(args), { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Waits until at least `minDone` chunks of the run in `cwd` are durable (a minute at most). */
async function chunksDone(cwd: string, minDone: number): Promise<void> {
  const state = join(cwd, '.ferry', 'state.db');
  for (let i = 0; i < 1200; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      const db = new Database(state, { readonly: true, fileMustExist: true });
      const { done } = db.prepare("SELECT count(*) AS done FROM chunks WHERE status = 'done'").get() as {
        done: number;
      };
      db.close();
      if (done >= minDone) return;
    } catch {
      // the state file is not there yet
    }
  }
}

/** How long a run started by runMeanwhile may take before it is taken for hung and killed. */
const RUN_LIMIT_MS = 300_000;

/**
 * Starts `ferry run PLAN` in `cwd`, does `meanwhile` to it (or to its servers) as soon as
 * `minDone` chunks are durable, and returns how the run ended (code -1: killed by a signal;
 * a run that hangs is killed after RUN_LIMIT_MS, and its stderr says so).
 */
export async function runMeanwhile(
  file: string,
  cwd: string,
  minDone: number,
  meanwhile: (run: ChildProcess) => unknown,
): Promise<CliResult> {
  const child = ferrySpawn(['run', file], { cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const hung = setTimeout(() => {
    stderr += `\n(the run did not end within ${RUN_LIMIT_MS / 1000} s: killed)`;
    child.kill('SIGKILL');
  }, RUN_LIMIT_MS);
  await chunksDone(cwd, minDone);
  await meanwhile(child);
  const code = (await exited) ?? -1;
  clearTimeout(hung);
  return { code, stdout, stderr };
}

/** Starts `ferry run PLAN` in `cwd` and kills it with SIGKILL as soon as `minDone` chunks are durable. */
export async function killMidRun(file: string, cwd: string, minDone = 3): Promise<void> {
  const run = await runMeanwhile(file, cwd, minDone, (child) => child.kill('SIGKILL'));
  assert.equal(run.code, -1, `the run was killed, not finished (${run.stderr})`);
}

export { PG_BASE };

/** The demo's migration, its target emptied again (rolled back) so that a run has work to do. */
export function demoToRunAgain(): { dir: string; plan: string } {
  const dir = join(tmpDir(), 'shop');
  assert.equal(ferry(['demo', '--dir', dir]).code, 0);
  assert.equal(ferry(['rollback', '--force'], { cwd: dir }).code, 0);
  return { dir, plan: join(dir, 'ferry.plan.yaml') };
}

/** The fault tests' table: `rows` items, made in a PostgreSQL or MySQL/MariaDB database by its URL. */
export async function fillItems(url: string, rows: number): Promise<void> {
  if (url.startsWith('postgres')) {
    await pgExec(url, 'CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2))');
    await pgExec(
      url,
      `INSERT INTO items SELECT g, 'item ' || g || ' ü', g % 1000 / 100.0 FROM generate_series(1, ${rows}) g`,
    );
  } else
    await mysqlExec(
      url,
      `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price decimal(12,2));
       INSERT INTO items SELECT seq, concat('item ', seq, ' ü'), seq % 1000 / 100.0 FROM seq_1_to_${rows}`,
    );
}

/** How many rows, and distinct keys, the items table holds. */
export async function itemsIn(url: string): Promise<{ rows: number; distinct: number }> {
  const sql = 'SELECT count(*) AS n, count(DISTINCT id) AS d FROM items';
  const [row] = url.startsWith('postgres')
    ? (await pgExec(url, sql)).rows
    : ((await mysqlExec(url, sql)) as { n: unknown; d: unknown }[]);
  return { rows: Number(row.n), distinct: Number(row.d) };
}
