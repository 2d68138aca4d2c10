// The table of misuse: its rows, the fixtures they share and how a row is played. A row is what a
// careless or unlucky user does: the CLI as a user runs it, in a folder of its own, with the exit
// code, the one line on stderr (a usage error: that line and the pointer to --help) and what
// must not have happened: nothing in the folder besides what the row allows (no state folder,
// no plan, no target file) and no table in the shared targets. Each class of rows is a file of
// this folder; misuse.test.ts lists them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { dbName, freshMysql, freshPg, MYSQL_BASE, mysqlExec, mysqlUser, pgExec, tmpDir } from '../../helpers.js';
import { ferryAsync } from '../support.js';

/** What the rows share: made once, before the first row. */
export interface Fixtures {
  /** a PostgreSQL source: items (a key, values some casts cannot hold), notes (no key) */
  pgSrc: string;
  /** databases no row may write to */
  pgDst: string;
  mysqlDst: string;
  /** a SQLite source file */
  sqliteSrc: string;
  /** a plan of pgSrc into `sqlite:target.db` (in the row's folder), state in `.ferry` */
  plan: string;
  /** the same plan into mysqlDst */
  mysqlPlan: string;
  /** a folder where that plan ran and was tested: its `.ferry` and the ids */
  ran: { dir: string; runId: string; testId: string };
  /** a backup of pgSrc, and its key */
  backup: string;
  key: string;
  /** a MySQL user (password PW) with SELECT only on mysqlDst */
  reader: string;
}

export interface Row {
  /** what the user does */
  does: string;
  args: () => string[];
  /** files the folder holds before the command (name: content) */
  files?: () => Record<string, string | Buffer>;
  /** anything else done to the folder before the command */
  setup?: (dir: string) => void;
  env?: () => Record<string, string | undefined>;
  /** run by a user other than the folder's owner (when the tests run as root: nobody) */
  otherUser?: boolean;
  code: number;
  /** the one line on stderr (none when absent) */
  stderr?: RegExp;
  /** a usage error: the line is followed by the pointer to --help */
  usage?: boolean;
  /** what stdout says (a check's outcome, assess's findings) */
  stdout?: RegExp;
  /** names the folder may hold afterwards besides its files; nothing else may appear */
  writes?: string[];
  /** text that must appear in nothing printed (a secret) */
  never?: () => string;
  /** why the row cannot run here, if it cannot (it is skipped, saying so) */
  cannot?: () => string | undefined;
}

/** The fixtures, set by makeFixtures before the first row runs. */
export let f: Fixtures;
const mounts: string[] = [];
export const ROOT = process.getuid?.() === 0;
const NOBODY = { uid: 65534, gid: 65534 };
export const PW = 'right-secret-123';
export const KEY_ENV = 'FERRY_MISUSE_KEY';
export const usage = true;

/** A plan as data: rows make it wrong on purpose, so no type of a valid plan describes it. */
type PlanData = any;

/** The plan text with `change` applied to it as data. */
export function edit(text: string, change: (p: PlanData) => void): string {
  const p = parse(text) as PlanData;
  change(p);
  return stringify(p);
}

export const items = (p: PlanData): PlanData =>
  p.waves.flatMap((w: PlanData) => w.tables).find((t: PlanData) => t.source === 'items');
export const column = (p: PlanData, name: string): PlanData =>
  items(p).columns.find((c: PlanData) => c.source === name);

async function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const r = await ferryAsync(args, { cwd, env });
  assert.ok(r.code === 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Makes the fixtures every row shares (`f`). */
export async function makeFixtures(): Promise<void> {
  const pgSrc = await freshPg('ferry_misuse_src');
  await pgExec(
    pgSrc,
    `CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL, qty int NOT NULL, price numeric(12,2), note text);
     INSERT INTO items SELECT g, 'item ' || g, g * 1000, g * 0.25, CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 300) g;
     CREATE TABLE notes (line text);
     INSERT INTO notes SELECT 'line ' || g FROM generate_series(1, 50) g;`,
  );
  const pgDst = await freshPg('ferry_misuse_dst');
  const mysqlDst = await freshMysql('ferry_misuse_dst');
  const user = mysqlUser('ferry_misuse_reader', ['%', 'localhost']);
  await mysqlExec(
    MYSQL_BASE,
    ['%', 'localhost']
      .map(
        (h) =>
          `CREATE USER '${user}'@'${h}' IDENTIFIED BY '${PW}'; GRANT SELECT ON ${dbName(mysqlDst)}.* TO '${user}'@'${h}';`,
      )
      .join(' '),
  );
  // a folder others may read: rows run by another user read the SQLite source from it
  const shared = tmpDir('ferry-misuse-shared-');
  chmodSync(shared, 0o755);
  const sqliteSrc = join(shared, 'src.db');
  const db = new Database(sqliteSrc);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  db.close();
  chmodSync(sqliteSrc, 0o644);

  await cli(['plan', '--source', pgSrc, '--target', 'sqlite:target.db', '-o', 'plan.yaml'], shared);
  await cli(['plan', '--source', pgSrc, '--target', mysqlDst, '-o', 'mysql.plan.yaml'], shared);
  const plan = readFileSync(join(shared, 'plan.yaml'), 'utf8');
  const mysqlPlan = readFileSync(join(shared, 'mysql.plan.yaml'), 'utf8');

  const ran = tmpDir('ferry-misuse-ran-');
  writeFileSync(join(ran, 'plan.yaml'), plan);
  const runId = /^run (\S+):/m.exec(await cli(['run', 'plan.yaml'], ran))![1]!;
  const testId = /^test (\S+):/m.exec(await cli(['test', 'plan.yaml', '--sample', '10'], ran))![1]!;
  const key = randomBytes(32).toString('base64');
  const backed = await cli(['backup', 'plan.yaml', '--to', join(ran, 'backups'), '--key-env', KEY_ENV], ran, {
    [KEY_ENV]: key,
  });
  const backup = /^backup \S+: (\S+) \(/m.exec(backed)![1]!;
  f = {
    pgSrc,
    pgDst,
    mysqlDst,
    sqliteSrc,
    plan,
    mysqlPlan,
    ran: { dir: ran, runId, testId },
    backup,
    key,
    reader: user,
  };
}

/** Unmounts what the rows mounted. */
export function unmountAll(): void {
  for (const m of mounts) spawnSync('umount', [m]);
}

/** Tables in the databases no row may write to. */
async function sharedTargetTables(): Promise<string[]> {
  const pg = await pgExec(f.pgDst, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
  const my = (await mysqlExec(f.mysqlDst, 'SHOW TABLES')) as Record<string, string>[];
  return [...pg.rows.map((r: { tablename: string }) => r.tablename), ...my.flatMap((r) => Object.values(r))];
}

/** The state of the folder where the plan ran, copied into a row's folder. */
export const ranState = (dir: string) => cpSync(join(f.ran.dir, '.ferry'), join(dir, '.ferry'), { recursive: true });

/** A tmpfs of `size` at `dir`, unmounted when the file ends. */
export function tinyDisk(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mount a tmpfs: ${r.stderr}`);
  mounts.push(dir);
}

/** Plays a row: the command in a folder of its own, then what it printed and what it left. */
export async function play(row: Row): Promise<void> {
  const dir = tmpDir('ferry-misuse-');
  const files = row.files?.() ?? {};
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  row.setup?.(dir);
  const user = row.otherUser && ROOT ? NOBODY : undefined;
  if (user) chmodSync(dir, 0o755);
  const before = readdirSync(dir).sort();
  const r = await ferryAsync(row.args(), { cwd: dir, env: row.env?.(), user });
  const lines = r.stderr.trim() === '' ? [] : r.stderr.trim().split('\n');
  assert.equal(r.code, row.code, `exit code (stderr: ${r.stderr.trim()})`);
  if (row.stderr) {
    assert.match(lines[0] ?? '', row.stderr);
    assert.deepEqual(lines.slice(1), row.usage ? ['(add --help for usage)'] : [], 'one line');
  } else assert.deepEqual(lines, [], 'nothing on stderr');
  if (row.stdout) assert.match(r.stdout, row.stdout);
  if (row.never) assert.ok(!(r.stdout + r.stderr).includes(row.never()), 'the secret is not shown');
  const allowed = new Set([...before, ...(row.writes ?? [])]);
  assert.deepEqual(
    readdirSync(dir).filter((n) => !allowed.has(n)),
    [],
    'nothing written but what the row allows',
  );
  assert.deepEqual(await sharedTargetTables(), [], 'the shared targets hold no table');
}
