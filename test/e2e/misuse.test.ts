// The table of misuse: what a careless or unlucky user does, one row each. A row runs the CLI as
// a user runs it, in a folder of its own, and asserts the exit code, the one line on stderr (a
// usage error: that line and the pointer to --help) and what must not have happened: nothing in
// the folder besides what the row allows (no state folder, no plan, no target file) and no table
// in the shared targets. Rows are grouped by class; the fixtures are made once and shared.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import {
  dbName,
  freshMysql,
  freshPg,
  hostPort,
  MYSQL_BASE,
  mysqlExec,
  mysqlUser,
  PG_BASE,
  pgExec,
  tmpDir,
} from '../helpers.js';
import { ferryAsync } from './support.js';

/** What the rows share: made once, before the first row. */
interface Fixtures {
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
  /** a MySQL user with a password and SELECT only on mysqlDst */
  reader: { user: string; password: string };
}

interface Row {
  /** what the user does */
  does: string;
  args: (f: Fixtures) => string[];
  /** files the folder holds before the command (name: content) */
  files?: (f: Fixtures) => Record<string, string | Buffer>;
  /** anything else done to the folder before the command */
  setup?: (dir: string, f: Fixtures) => void;
  env?: (f: Fixtures) => Record<string, string | undefined>;
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
  never?: (f: Fixtures) => string;
  /** why the row cannot run here, if it cannot (it is skipped, saying so) */
  cannot?: () => string | undefined;
}

let f: Fixtures;
const mounts: string[] = [];
const ROOT = process.getuid?.() === 0;
const NOBODY = { uid: 65534, gid: 65534 };
const PW = 'right-secret-123';
const KEY_ENV = 'FERRY_MISUSE_KEY';
const usage = true;

/** A plan as data: rows make it wrong on purpose, so no type of a valid plan describes it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type PlanData = any;

/** The plan text with `change` applied to it as data. */
function edit(text: string, change: (p: PlanData) => void): string {
  const p = parse(text) as PlanData;
  change(p);
  return stringify(p);
}

const items = (p: PlanData): PlanData =>
  p.waves.flatMap((w: PlanData) => w.tables).find((t: PlanData) => t.source === 'items');
const column = (p: PlanData, name: string): PlanData => items(p).columns.find((c: PlanData) => c.source === name);

async function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const r = await ferryAsync(args, { cwd, env });
  assert.ok(r.code === 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
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
    reader: { user, password: PW },
  };
});

after(() => {
  for (const m of mounts) spawnSync('umount', [m]);
});

/** Tables in the databases no row may write to. */
async function sharedTargetTables(): Promise<string[]> {
  const pg = await pgExec(f.pgDst, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
  const my = (await mysqlExec(f.mysqlDst, 'SHOW TABLES')) as Record<string, string>[];
  return [...pg.rows.map((r: { tablename: string }) => r.tablename), ...my.flatMap((r) => Object.values(r))];
}

/** The state of the folder where the plan ran, copied into a row's folder. */
const ranState = (dir: string) => cpSync(join(f.ran.dir, '.ferry'), join(dir, '.ferry'), { recursive: true });

/** A tmpfs of `size` at `dir`, unmounted when the file ends. */
function tinyDisk(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mount a tmpfs: ${r.stderr}`);
  mounts.push(dir);
}

// ---------------------------------------------------------------------------------------------
// Arguments: Commander's usage errors (one line, then the pointer to --help) and the checks of
// option values; every one before anything is read or written.
const ARGUMENTS: Row[] = [
  { does: 'no command', args: () => [], code: 2, usage, stderr: /^error: missing command: one of assess, plan, run/ },
  {
    does: 'an unknown command',
    args: () => ['frobnicate'],
    code: 2,
    usage,
    stderr: /^error: unknown command 'frobnicate'$/,
  },
  {
    does: 'a misspelt command',
    args: () => ['rnu', 'plan.yaml'],
    code: 2,
    usage,
    stderr: /^error: unknown command 'rnu' \(did you mean run\?\)$/,
  },
  {
    does: 'help for an unknown command',
    args: () => ['help', 'frobnicate'],
    code: 2,
    usage,
    stderr: /^error: unknown command 'frobnicate'$/,
  },
  {
    does: 'an unknown global option',
    args: () => ['--bogus'],
    code: 2,
    usage,
    stderr: /^error: unknown option '--bogus'$/,
  },
  {
    does: 'a command without its plan',
    args: () => ['run'],
    code: 2,
    usage,
    stderr: /^error: missing required argument 'plan'$/,
  },
  {
    does: 'two plans at once',
    args: () => ['run', 'a.yaml', 'b.yaml'],
    code: 2,
    usage,
    stderr: /^error: too many arguments for 'run'\. Expected 1 argument but got 2\.$/,
  },
  {
    does: 'an unknown option of a command',
    args: () => ['run', 'p.yaml', '--fast'],
    code: 2,
    usage,
    stderr: /^error: unknown option '--fast'$/,
  },
  {
    does: 'an option without its value',
    args: () => ['run', 'p.yaml', '--state-dir'],
    code: 2,
    usage,
    stderr: /^error: option '--state-dir <dir>' argument missing$/,
  },
  {
    does: 'assess without a source',
    args: () => ['assess'],
    code: 2,
    usage,
    stderr: /^error: required option '--source <url>' not specified$/,
  },
  {
    does: 'plan without a target',
    args: () => ['plan', '--source', 'sqlite:x.db'],
    code: 2,
    usage,
    stderr: /^error: required option '--target <url>' not specified$/,
  },
  ...(
    [
      [['plan', '--parallelism', 'banana'], '--parallelism <n>', 'banana', 'a whole number, at least 1'],
      [['plan', '--parallelism', '0'], '--parallelism <n>', '0', 'a whole number, at least 1'],
      [['plan', '--parallelism', '1e3'], '--parallelism <n>', '1e3', 'a whole number, at least 1'],
      [['plan', '--rows-per-chunk', '-5'], '--rows-per-chunk <n>', '-5', 'a whole number, at least 1'],
      [['plan', '--rows-per-chunk', '2.5'], '--rows-per-chunk <n>', '2.5', 'a whole number, at least 1'],
      [['test', 'p.yaml', '--sample', '-3'], '--sample <n>', '-3', 'a whole number, at least 1'],
      [['test', 'p.yaml', '--sample', '0'], '--sample <n>', '0', 'a whole number, at least 1'],
      [['test', 'p.yaml', '--percent', '0'], '--percent <p>', '0', 'a percentage, more than 0 and at most 100'],
      [['test', 'p.yaml', '--percent', '101'], '--percent <p>', '101', 'a percentage, more than 0 and at most 100'],
      [['test', 'p.yaml', '--percent', 'lots'], '--percent <p>', 'lots', 'a percentage, more than 0 and at most 100'],
      [['verify', 'p.yaml', '--sample', 'x'], '--sample <n>', 'x', 'a whole number, at least 0'],
    ] as const
  ).map(([args, option, value, expected]): Row => ({
    does: `${args[0]} ${args.slice(-2).join(' ')}`,
    args: () =>
      args[0] === 'plan' ? ['plan', '--source', 'sqlite:x.db', '--target', 'sqlite:y.db', ...args.slice(1)] : [...args],
    code: 2,
    usage,
    stderr: new RegExp(
      `^error: option '${option}' argument '${value.replace(/[.+]/g, '\\$&')}' is invalid\\. expected ${expected}$`,
    ),
  })),
  {
    does: 'an --if-exists that is not one of its choices',
    args: () => ['plan', '--source', 'sqlite:x.db', '--target', 'sqlite:y.db', '--if-exists', 'sometimes'],
    code: 2,
    usage,
    stderr:
      /^error: option '--if-exists <what>' argument 'sometimes' is invalid\. Allowed choices are fail, drop, truncate\.$/,
  },
  {
    does: 'a log level that does not exist',
    args: () => ['--log-level', 'loud', 'run', 'p.yaml'],
    code: 2,
    usage,
    stderr:
      /^error: option '--log-level <level>' argument 'loud' is invalid\. Allowed choices are debug, info, warn, error\.$/,
  },
  {
    does: 'a log level from the environment that does not exist',
    args: () => ['run', 'p.yaml'],
    env: () => ({ FERRY_LOG_LEVEL: 'loud' }),
    code: 2,
    usage,
    stderr:
      /^error: option '--log-level <level>' value 'loud' from env 'FERRY_LOG_LEVEL' is invalid\. Allowed choices are debug, info, warn, error\.$/,
  },
  {
    does: 'restore with a side that does not exist',
    args: () => ['restore', 'somewhere', '--target', 'sqlite:r.db', '--side', 'both'],
    code: 2,
    usage,
    stderr: /^error: option '--side <side>' argument 'both' is invalid\. Allowed choices are source, target\.$/,
  },
  {
    does: 'restore without a target',
    args: () => ['restore', 'somewhere'],
    code: 2,
    usage,
    stderr: /^error: required option '--target <url>' not specified$/,
  },
  {
    does: 'audit without its subcommand',
    args: () => ['audit'],
    code: 2,
    usage,
    stderr: /^error: missing command: one of verify$/,
  },
  {
    does: 'backup verify without a location',
    args: () => ['backup', 'verify'],
    code: 2,
    usage,
    stderr: /^error: missing required argument 'location'$/,
  },
  {
    does: 'report of two runs',
    args: () => ['report', 'a', 'b'],
    code: 2,
    usage,
    stderr: /^error: too many arguments for 'report'\. Expected 1 argument but got 2\.$/,
  },
  {
    does: 'schema with an argument',
    args: () => ['schema', 'plan.yaml'],
    code: 2,
    usage,
    stderr: /^error: too many arguments for 'schema'\. Expected 0 arguments but got 1\.$/,
  },
  {
    does: 'test with both --sample and --percent',
    args: () => ['test', 'plan.yaml', '--sample', '10', '--percent', '5'],
    files: () => ({ 'plan.yaml': f.plan }),
    code: 2,
    stderr: /^ferry: give --sample or --percent, not both: choose one$/,
  },
  {
    does: 'backup without a plan',
    args: () => ['backup'],
    code: 2,
    stderr: /^ferry: no plan given: ferry backup PLAN, or ferry backup verify LOCATION$/,
  },
  {
    does: 'a design the target does not offer',
    args: () => ['plan', '--source', f.pgSrc, '--target', 'sqlite:t.db', '--design', 'single-table', '-o', 'p.yaml'],
    code: 2,
    stderr: /^ferry: sqlite targets have no design "single-table": leave out --design$/,
  },
];

// Names of things that do not exist: a run, a table, an audit log.
const NAMES: Row[] = [
  {
    does: 'report of a run id that does not exist',
    args: () => ['report', 'nope'],
    setup: (dir) => ranState(dir),
    code: 2,
    stderr: /^ferry: no run nope in \S+\.ferry: run `ferry run PLAN` first, or pass --state-dir$/,
    writes: [],
  },
  {
    does: 'rollback of a run id that does not exist',
    args: () => ['rollback', 'nope'],
    setup: (dir) => ranState(dir),
    code: 2,
    stderr: /^ferry: no run nope in /,
  },
  {
    does: 'rollback --check of a run id that does not exist',
    args: () => ['rollback', '--check', 'nope'],
    setup: (dir) => ranState(dir),
    code: 2,
    stderr: /^ferry: no run nope in /,
  },
  {
    does: 'rollback of a dry run',
    args: () => ['rollback', f.ran.testId],
    setup: (dir) => ranState(dir),
    code: 2,
    stderr: /^ferry: \S+ is a test, not a run: give the id of a `ferry run`/,
  },
  {
    does: 'audit verify of a run id that does not exist',
    args: () => ['audit', 'verify', 'nope'],
    setup: (dir) => ranState(dir),
    code: 2,
    stderr: /^ferry: no audit log of run nope in \S+: give the id of a run/,
  },
  {
    does: 'report in a folder where nothing ran',
    args: () => ['report'],
    code: 2,
    stderr: /^ferry: no ferry state in \S+\.ferry: run `ferry run PLAN` first, or pass --state-dir/,
  },
  {
    does: 'rollback in a folder where nothing ran',
    args: () => ['rollback'],
    code: 2,
    stderr: /^ferry: no ferry state in \S+\.ferry: /,
  },
  {
    does: 'audit verify in a folder where nothing ran',
    args: () => ['audit', 'verify'],
    code: 2,
    stderr: /^ferry: no ferry state in \S+\.ferry: /,
  },
  {
    does: 'report of a state folder that does not exist',
    args: () => ['report', '--state-dir', 'elsewhere'],
    code: 2,
    stderr: /^ferry: no ferry state in \S+elsewhere: /,
  },
  {
    does: 'assess of a table the source does not have',
    args: () => ['assess', '--source', f.pgSrc, '--tables', 'items,ghost'],
    code: 2,
    stdout: /table ghost does not exist in the source/,
  },
  {
    does: 'assess of a SQLite table the source does not have',
    args: () => ['assess', '--source', `sqlite:${f.sqliteSrc}`, '--tables', 'ghost'],
    code: 2,
    stderr: /^ferry: table ghost does not exist in SQLite database \S+src\.db: check the table name/,
  },
  {
    does: 'plan of a table the source does not have',
    args: () => ['plan', '--source', f.pgSrc, '--target', 'sqlite:t.db', '--tables', 'items,ghost', '-o', 'p.yaml'],
    code: 2,
    stderr: /^ferry: table ghost does not exist in the source: check the name/,
  },
  {
    does: 'a plan naming a source table that was dropped since',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (items(p).source = 'items_gone')) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml: waves\[\d\]\.tables\[\d\]: source table "items_gone" does not exist: check the table name in the plan/,
  },
  {
    does: 'a plan naming a source column that was dropped since',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'note').source = 'gone')) }),
    code: 2,
    stderr: /^ferry: plan\.yaml: waves\[\d\]\.tables\[\d\]: column "gone" does not exist in source table items/,
  },
  {
    does: 'restore of a table the backup does not have',
    args: () => ['restore', f.backup, '--target', 'sqlite:r.db', '--tables', 'ghost', '--key-env', KEY_ENV],
    env: () => ({ [KEY_ENV]: f.key }),
    code: 2,
    stderr: /^ferry: backup \S+ has no source table ghost: choose among /,
  },
];

// Plan files that cannot be read or are not plans: file:line:column and the path inside it.
const PLAN_FILES: Row[] = [
  {
    does: 'a plan that does not exist',
    args: () => ['run', 'nope.yaml'],
    code: 2,
    stderr: /^ferry: cannot read plan nope\.yaml: no such file: write one with `ferry plan --source URL --target URL/,
  },
  {
    does: 'a folder given as the plan',
    args: () => ['verify', 'plans'],
    setup: (dir) => mkdirSync(join(dir, 'plans')),
    code: 2,
    stderr: /^ferry: cannot read plan plans: it is a folder: /,
  },
  {
    does: 'a plan this user may not read',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => chmodSync(join(dir, 'plan.yaml'), ROOT ? 0o600 : 0o000),
    otherUser: true,
    code: 2,
    stderr: /^ferry: cannot read plan plan\.yaml: permission denied: give this user read access to it$/,
  },
  {
    does: 'an empty plan',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': '' }),
    code: 2,
    stderr: /^ferry: plan\.yaml: plan: Invalid input: expected object, received null: correct the plan/,
  },
  {
    does: 'a binary file as the plan',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 0x7b, 0x7b, 0x5b]) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:1:1: plan: Invalid input: expected object, received string: correct the plan/,
  },
  {
    does: 'a plan with a YAML syntax error',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': 'ferry: 1\nsource: { url: "sqlite:x.db"\ntarget: [\n' }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: .*: fix the YAML syntax$/,
  },
  {
    does: 'a YAML alias bomb',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml':
        'a: &a ["x","x","x","x","x","x","x","x","x"]\n' +
        'bcdefghi'
          .split('')
          .map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]\n`)
          .join(''),
    }),
    code: 2,
    stderr: /^ferry: plan\.yaml: Excessive alias count .*: write the plan without YAML aliases/,
  },
  {
    does: 'a plan of another format version',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.ferry = 2)) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:1:8: ferry: Invalid input: expected 1: correct the plan/,
  },
  {
    does: 'a misspelt key in a plan',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.paralelism = 4)) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: settings: Unrecognized key: "paralelism": correct the plan/,
  },
  {
    does: 'a plan without its target',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => delete p.target) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:1:1: target: Invalid input: expected object, received undefined: correct the plan/,
  },
  {
    does: 'a parallelism that is not a number',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.parallelism = 'zero')) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: settings\.parallelism: Invalid input: expected number, received string: /,
  },
  {
    does: 'a chunk of no rows',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (items(p).chunking.rowsPerChunk = 0)) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.chunking\.rowsPerChunk: Too small/,
  },
  {
    does: 'an error budget below zero',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.maxRejects = -1)) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: settings\.maxRejects: Too small/,
  },
  {
    does: 'an ifExists that is not one of its choices',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.target.ifExists = 'sometimes')) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: target\.ifExists: Invalid option: expected one of "fail"\|"drop"\|"truncate": /,
  },
  {
    does: 'a canonical type that does not exist',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'qty').sourceType = 'integerish')) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.columns\[\d\]\.sourceType: unknown canonical type "integerish": correct the plan$/,
  },
  {
    does: 'a transform that does not exist',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'label').transform = { rot13: {} })) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.columns\[\d\]\.transform: a transform is one of hash, mask or value: /,
  },
  {
    does: 'a hash transform without its salt',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'label').transform = { hash: {} })) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.columns\[\d\]\.transform: a transform is one of hash, mask or value: \{ hash: \{ salt \} \}/,
  },
  {
    does: 'a foreign key to a table the plan does not have',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.plan, (p) =>
        items(p).foreignKeys.push({ name: 'fk_x', columns: ['id'], refTable: 'ghost', refColumns: ['id'] }),
      ),
    }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: .*foreignKeys\[0\]\.refTable: foreign key fk_x refers to "ghost", which is not in the plan/,
  },
  {
    does: 'the same target table twice',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.plan, (p) => p.waves.at(-1).tables.push({ ...items(p) })),
    }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.target: target table "items" appears twice: correct the plan$/,
  },
  {
    does: 'a schedule window that is not one',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.schedule = { windows: ['whenever'] })) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: settings\.schedule\.windows\[0\]: schedule window "whenever": expected days, a time range and an optional zone/,
  },
  {
    does: 'a retry setting of no attempts',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.retries = { attempts: 0, maxDelaySeconds: 1 })) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: settings\.retries\.attempts: Too small/,
  },
  {
    does: 'a state folder inside a file',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.stateDir = 'plan.yaml/state')) }),
    code: 2,
    stderr:
      /^ferry: cannot write \S+plan\.yaml\/state: a part of the path is a file, not a folder: fix the path, or choose another state folder/,
  },
];

// URLs and secrets: one line naming what is wrong, never the secret, before anything is written.
const URLS_AND_SECRETS: Row[] = [
  {
    does: 'an engine ferry does not know',
    args: () => ['assess', '--source', 'oracle://scott@db/orcl'],
    code: 2,
    stderr: /^ferry: no connector for "oracle:" endpoints: use one of postgres:, /,
  },
  {
    does: 'no URL at all',
    args: () => ['assess', '--source', 'nonsense'],
    code: 2,
    stderr: /^ferry: cannot tell what kind of endpoint "nonsense" is: /,
  },
  {
    does: 'a port out of range',
    args: () => ['assess', '--source', 'postgres://postgres@127.0.0.1:99999/x'],
    code: 2,
    stderr: /^ferry: cannot read the PostgreSQL URL postgres:\/\/postgres@127\.0\.0\.1:99999\/x: /,
  },
  {
    does: 'an sslmode that does not exist',
    args: () => ['assess', '--source', `${f.pgSrc}?sslmode=bogus`],
    code: 2,
    stderr: /^ferry: unknown sslmode "bogus" in \S+: use sslmode=disable, require, verify-ca or verify-full$/,
  },
  {
    does: 'a MySQL URL without a database',
    args: () => ['assess', '--source', MYSQL_BASE],
    code: 2,
    stderr: /^ferry: the MySQL URL \S+ names no database: /,
  },
  {
    does: 'a sqlite: URL without a file',
    args: () => ['assess', '--source', 'sqlite:'],
    code: 2,
    stderr: /^ferry: the sqlite: URL names no database file: /,
  },
  {
    does: 'an s3: URL without a bucket',
    args: () => ['plan', '--source', f.pgSrc, '--target', 's3:///lake', '-o', 'p.yaml'],
    code: 2,
    stderr: /^ferry: "s3:\/\/\/lake" is not an S3 URL: use s3:\/\/bucket\/prefix/,
  },
  {
    does: 'a file: URL without a folder',
    args: () => ['plan', '--source', f.pgSrc, '--target', 'file:', '-o', 'p.yaml'],
    code: 2,
    stderr: /^ferry: the file: URL names no folder: use file:\.\/relative\/folder or file:\/\/\/absolute\/folder$/,
  },
  {
    does: 'a password variable that is not set',
    args: () => ['assess', '--source', `mysql://${f.reader.user}:\${env:FERRY_MISUSE_UNSET}@${hostPort(MYSQL_BASE)}/x`],
    env: () => ({ FERRY_MISUSE_UNSET: undefined }),
    code: 2,
    stderr:
      /^ferry: environment variable FERRY_MISUSE_UNSET is not set: export FERRY_MISUSE_UNSET before running ferry$/,
  },
  {
    does: 'a password file that does not exist',
    args: () => ['assess', '--source', `mysql://${f.reader.user}:\${file:/nonexistent/pw}@${hostPort(MYSQL_BASE)}/x`],
    code: 2,
    stderr: /^ferry: cannot read secret file \/nonexistent\/pw: check the path/,
  },
  {
    does: 'a literal password in a plan',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.mysqlPlan, (p) => (p.target.url = p.target.url.replace('//root@', '//root:hunter2secret@'))),
    }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: target\.url: the URL holds a literal password: write \$\{env:NAME\}/,
    never: () => 'hunter2secret',
  },
  {
    does: 'a literal password for a plan to write',
    args: () => [
      'plan',
      '--source',
      f.pgSrc,
      '--target',
      `mysql://root:hunter2secret@${hostPort(MYSQL_BASE)}/x`,
      '-o',
      'p.yaml',
    ],
    code: 2,
    stderr:
      /^ferry: the target URL mysql:\/\/root:\*\*\*@\S+ holds a literal password, which would be written into the plan: write \$\{env:NAME\} in its place/,
    never: () => 'hunter2secret',
  },
  {
    does: 'a hash salt written in the plan',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.plan, (p) => (column(p, 'label').transform = { hash: { salt: 'literally-my-salt-1234' } })),
    }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.columns\[\d\]\.transform\.hash\.salt: /,
    never: () => 'literally-my-salt-1234',
  },
  {
    does: 'a hash salt variable that is not set',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.plan, (p) => (column(p, 'label').transform = { hash: { salt: '${env:FERRY_MISUSE_SALT}' } })),
    }),
    env: () => ({ FERRY_MISUSE_SALT: undefined }),
    code: 2,
    stderr: /^ferry: plan\.yaml: items\.label: environment variable FERRY_MISUSE_SALT \(the hash salt\) is not set/,
  },
  {
    does: 'a hash salt too short to be a secret',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.plan, (p) => (column(p, 'label').transform = { hash: { salt: '${env:FERRY_MISUSE_SALT}' } })),
    }),
    env: () => ({ FERRY_MISUSE_SALT: 'short' }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml: items\.label: the hash salt \$\{env:FERRY_MISUSE_SALT\} has 5 characters, fewer than 16/,
    never: () => 'short:',
  },
  {
    does: 'a target option that refers to a variable not set',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.plan, (p) => {
        p.target.url = 'file:lake';
        p.target.options = { endpoint: '${env:FERRY_MISUSE_UNSET}' };
      }),
    }),
    env: () => ({ FERRY_MISUSE_UNSET: undefined }),
    code: 2,
    stderr:
      /^ferry: environment variable FERRY_MISUSE_UNSET is not set: export FERRY_MISUSE_UNSET before running ferry$/,
  },
  {
    does: 'a backup without its key',
    args: () => ['backup', 'plan.yaml', '--to', 'backups'],
    files: () => ({ 'plan.yaml': f.plan }),
    env: () => ({ FERRY_BACKUP_KEY: undefined }),
    code: 2,
    stderr: /^ferry: environment variable FERRY_BACKUP_KEY \(the backup key\) is not set: export FERRY_BACKUP_KEY/,
  },
  {
    does: 'a backup key file that does not exist',
    args: () => ['backup', 'plan.yaml', '--to', 'backups', '--key-file', '/nonexistent/key'],
    files: () => ({ 'plan.yaml': f.plan }),
    code: 2,
    stderr: /^ferry: cannot read the backup key file \/nonexistent\/key: check the path/,
  },
  {
    does: 'a backup key too short',
    args: () => ['backup', 'plan.yaml', '--to', 'backups', '--key-env', KEY_ENV],
    files: () => ({ 'plan.yaml': f.plan }),
    env: () => ({ [KEY_ENV]: 'tiny' }),
    code: 2,
    stderr: /^ferry: the backup key in environment variable FERRY_MISUSE_KEY is not 32 bytes as hex or base64: /,
    never: () => 'tiny',
  },
  {
    does: 'verify of a backup with another key',
    args: () => ['backup', 'verify', f.backup, '--key-env', KEY_ENV],
    env: () => ({ [KEY_ENV]: randomBytes(32).toString('base64') }),
    code: 2,
    stderr:
      /^ferry: the key given is not the key of backup \S+ \(it was made with key id \w+; this key's id is \w+\): give the key the backup was made with/,
  },
];

// Endpoints and credentials: what the server says, in one line, and what to check.
const ENDPOINTS: Row[] = [
  {
    does: 'a PostgreSQL server that is not there',
    args: () => ['assess', '--source', 'postgres://postgres@127.0.0.1:1/x'],
    code: 1,
    stderr: /^ferry: cannot reach PostgreSQL at 127\.0\.0\.1:1 \(ECONNREFUSED\): check the host and port/,
  },
  {
    does: 'a MySQL server that is not there',
    args: () => ['assess', '--source', 'mysql://root@127.0.0.1:1/x'],
    code: 1,
    stderr: /^ferry: cannot reach MySQL at 127\.0\.0\.1:1 \(ECONNREFUSED\): check the host and port/,
  },
  {
    does: 'a host name that does not resolve',
    args: () => ['assess', '--source', 'postgres://postgres@no-such-host.invalid/x'],
    code: 1,
    stderr: /^ferry: cannot reach PostgreSQL at no-such-host\.invalid:5432 \(ENOTFOUND\)/,
  },
  {
    does: 'a PostgreSQL database that does not exist',
    args: () => ['assess', '--source', `${PG_BASE}/ferry_misuse_nowhere`],
    code: 1,
    stderr:
      /^ferry: PostgreSQL database "ferry_misuse_nowhere" does not exist at \S+: create it \(createdb ferry_misuse_nowhere\)/,
  },
  {
    does: 'a MySQL database that does not exist',
    args: () => ['assess', '--source', `${MYSQL_BASE}/ferry_misuse_nowhere`],
    code: 1,
    stderr: /^ferry: database ferry_misuse_nowhere does not exist on MySQL at \S+: create it/,
  },
  {
    does: 'a PostgreSQL role that does not exist',
    args: () => ['assess', '--source', f.pgSrc.replace('//postgres@', '//ferry_misuse_nobody@')],
    code: 1,
    stderr: /^ferry: PostgreSQL refused user ferry_misuse_nobody at \S+: role "ferry_misuse_nobody" does not exist/,
  },
  {
    does: 'a wrong MySQL password',
    args: () => [
      'assess',
      '--source',
      `mysql://${f.reader.user}:\${env:FERRY_MISUSE_PW}@${hostPort(MYSQL_BASE)}/${dbName(f.mysqlDst)}`,
    ],
    env: () => ({ FERRY_MISUSE_PW: 'wrong-secret-456' }),
    code: 1,
    stderr:
      /^ferry: MySQL refused the password for user ferry_misuse_reader_\w+@\S+: check the user and password of the endpoint URL/,
    never: () => 'wrong-secret-456',
  },
  {
    does: 'a MySQL user that does not exist',
    args: () => ['assess', '--source', `mysql://ferry_misuse_ghost@${hostPort(MYSQL_BASE)}/${dbName(f.mysqlDst)}`],
    code: 1,
    stderr: /^ferry: MySQL refused the password for user ferry_misuse_ghost@\S+: check the user and password/,
  },
  {
    does: 'TLS required of a server that has none',
    args: () => ['assess', '--source', `${f.pgSrc}?sslmode=require`],
    code: 1,
    stderr: /^ferry: PostgreSQL at \S+: the server does not support TLS, and sslmode=require requires it: /,
  },
  {
    does: 'a SQLite source that does not exist',
    args: () => ['assess', '--source', 'sqlite:missing.db'],
    code: 1,
    stderr:
      /^ferry: SQLite database \S+missing\.db does not exist: check the path in the sqlite: URL \(ferry never creates a source database\)$/,
  },
  {
    does: 'a SQLite source that is not a database',
    args: () => ['assess', '--source', 'sqlite:notes.txt'],
    files: () => ({ 'notes.txt': 'just some text, long enough to be read as a header by SQLite, which it is not\n' }),
    code: 1,
    stderr: /^ferry: \S+notes\.txt is not a SQLite database: check the path in the sqlite: URL$/,
  },
  {
    does: 'a SQLite source that is a folder',
    args: () => ['assess', '--source', 'sqlite:adir'],
    setup: (dir) => mkdirSync(join(dir, 'adir')),
    code: 1,
    stderr: /^ferry: cannot open SQLite database \S+adir: /,
  },
  {
    does: 'a folder as the source',
    args: () => ['assess', '--source', 'file:.'],
    code: 1,
    stderr:
      /^ferry: objectstore endpoints can only be targets: use a PostgreSQL, MySQL or SQLite database as the source$/,
  },
  {
    does: 'a target account that may only read',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(
        f.mysqlPlan,
        (p) => (p.target.url = p.target.url.replace('//root@', `//${f.reader.user}:\${env:FERRY_MISUSE_PW}@`)),
      ),
    }),
    env: () => ({ FERRY_MISUSE_PW: PW }),
    code: 1,
    stderr:
      /^ferry: the plan cannot run: the target account ferry_misuse_reader_\w+@% lacks INSERT on database ferry_misuse_dst_\w+, .*: GRANT INSERT, DELETE, CREATE ON /,
    writes: ['.ferry'],
    never: () => PW,
  },
];

// Data that does not fit: rejected rows with their reasons, the run stopping at the error budget
// (exit 4), a sample that does not go through (exit 3); what was copied stays.
const DATA: Row[] = [
  {
    does: 'a number too large for the type the plan casts it to',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'qty').type = 'smallint')) }),
    code: 4,
    stderr:
      /^ferry: \d+ rows were rejected and the plan allows 0; the last in items: see the reject files in \S+rejects/,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'text too long for the type the plan casts it to',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'label').type = 'varchar(5)')) }),
    code: 4,
    stderr: /^ferry: \d+ rows were rejected and the plan allows 0; the last in items/,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'too many digits for the decimal the plan casts to',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'price').type = 'decimal(3,2)')) }),
    code: 4,
    stderr: /^ferry: \d+ rows were rejected and the plan allows 0; the last in items/,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'NULLs into a column the plan makes NOT NULL',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'note').nullable = false)) }),
    code: 4,
    stderr: /^ferry: \d+ rows were rejected and the plan allows 0; the last in items/,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'a unique index on values that repeat',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.plan, (p) => {
        column(p, 'note').transform = { value: 'the same' };
        items(p).indexes.push({ name: 'items_note', columns: ['note'], unique: true });
      }),
    }),
    code: 1,
    stderr: /^ferry: creating the indexes of table items: UNIQUE constraint failed: items\.note: /,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'a sample with values that do not fit',
    args: () => ['test', 'plan.yaml', '--sample', '50'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'qty').type = 'smallint')) }),
    code: 3,
    stdout: /items: rejected: column qty: \d+ is outside the range of int16/,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
];

// State: a state folder that is damaged, missing, unwritable or on a full disk is one line that
// names it, before anything is written to the target.
const STATE: Row[] = [
  {
    does: 'a state file overwritten with other bytes',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => {
      mkdirSync(join(dir, '.ferry'));
      writeFileSync(join(dir, '.ferry', 'state.db'), Buffer.alloc(8192, 'not a database '));
    },
    code: 1,
    stderr:
      /^ferry: the state file \S+\.ferry\/state\.db is damaged \(file is not a database\): put back a copy of it, or move the state folder away/,
  },
  {
    does: 'a state file cut short',
    args: () => ['report'],
    setup: (dir) => {
      ranState(dir);
      truncateSync(join(dir, '.ferry', 'state.db'), 8192);
    },
    code: 1,
    stderr: /^ferry: the state file \S+state\.db is damaged \(.*\): put back a copy/,
  },
  {
    does: 'a state file cut short, then a run',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.mysqlPlan }),
    setup: (dir) => {
      ranState(dir);
      truncateSync(join(dir, '.ferry', 'state.db'), 8192);
    },
    code: 1,
    stderr: /^ferry: the state file \S+state\.db is damaged/,
  },
  {
    does: 'a state folder that is a file',
    args: () => ['run', 'plan.yaml', '--state-dir', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.mysqlPlan }),
    code: 2,
    stderr:
      /^ferry: cannot write \S+plan\.yaml: (a file is in the way of a folder|a part of the path is a file, not a folder): /,
  },
  {
    does: 'a state folder this user may not write',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.mysqlPlan }),
    setup: (dir) => {
      mkdirSync(join(dir, '.ferry'));
      chmodSync(join(dir, '.ferry'), 0o555);
    },
    otherUser: true,
    code: 1,
    stderr:
      /^ferry: cannot write \S+\.ferry: permission denied: give this user access to it, or choose another state folder with --state-dir/,
  },
  {
    does: 'report of a state folder this user may not open',
    args: () => ['report'],
    setup: (dir) => ranState(dir),
    otherUser: true,
    code: 1,
    stderr:
      /^ferry: cannot read \S+\.ferry\/state\.db: permission denied: give this user access to it, or choose another state folder/,
  },
  {
    does: 'a state folder on a full disk',
    args: () => ['run', 'plan.yaml', '--state-dir', 'disk/.ferry'],
    files: () => ({ 'plan.yaml': f.plan }),
    cannot: () => (ROOT ? undefined : 'a full disk is a tmpfs this test mounts, which takes root'),
    setup: (dir) => tinyDisk(join(dir, 'disk'), '64k'),
    code: 1,
    stderr:
      /^ferry: the state file \S+disk\/\.ferry\/state\.db: no space left on the device: free space on it, or choose another state folder/,
    writes: ['target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'audit verify of a log changed by hand',
    args: () => ['audit', 'verify'],
    setup: (dir) => {
      ranState(dir);
      const log = join(dir, '.ferry', 'audit', `${f.ran.runId}.jsonl`);
      writeFileSync(log, readFileSync(log, 'utf8').replace('"run started"', '"run begun"'));
    },
    code: 3,
    stdout: /BROKEN: line 1 was changed/,
  },
];

// The file system: paths a user gives that cannot be written.
const FILESYSTEM: Row[] = [
  {
    does: 'a plan written into a folder that does not exist',
    args: () => ['plan', '--source', f.pgSrc, '--target', 'sqlite:t.db', '-o', 'plans/p.yaml'],
    code: 2,
    stderr:
      /^ferry: cannot write the plan plans\/p\.yaml: a folder of the path does not exist: create the folder, or choose another file with -o$/,
  },
  {
    does: 'a plan written onto a folder',
    args: () => ['plan', '--source', f.pgSrc, '--target', 'sqlite:t.db', '-o', 'plans'],
    setup: (dir) => mkdirSync(join(dir, 'plans')),
    code: 2,
    stderr: /^ferry: cannot write the plan plans: it is a folder: name a file, or choose another file with -o$/,
  },
  {
    does: 'a plan written inside a file',
    args: () => ['plan', '--source', f.pgSrc, '--target', 'sqlite:t.db', '-o', 'notes.txt/p.yaml'],
    files: () => ({ 'notes.txt': 'x' }),
    code: 2,
    stderr: /^ferry: cannot write the plan notes\.txt\/p\.yaml: a part of the path is a file, not a folder/,
  },
  {
    does: 'a plan written into a folder this user may not write',
    args: () => [
      'plan',
      '--source',
      `sqlite:${f.sqliteSrc}`,
      '--target',
      'sqlite:/tmp/ferry-misuse-never.db',
      '-o',
      'ro/p.yaml',
    ],
    setup: (dir) => {
      mkdirSync(join(dir, 'ro'));
      chmodSync(join(dir, 'ro'), 0o555);
    },
    otherUser: true,
    code: 1,
    stderr:
      /^ferry: cannot write the plan ro\/p\.yaml: permission denied: give this user access to it, or choose another file with -o$/,
  },
  {
    does: 'a folder target that is a file',
    args: () => ['plan', '--source', f.pgSrc, '--target', 'file:notes.txt', '-o', 'p.yaml'],
    files: () => ({ 'notes.txt': 'x' }),
    code: 2,
    stderr:
      /^ferry: cannot write to folder notes\.txt: a part of the path is a file, not a folder: fix the path, or choose another folder$/,
  },
  {
    does: 'a folder target this user may not write',
    args: () => ['assess', '--source', `sqlite:${f.sqliteSrc}`, '--target', 'file:ro/lake'],
    setup: (dir) => {
      mkdirSync(join(dir, 'ro'));
      chmodSync(join(dir, 'ro'), 0o555);
    },
    otherUser: true,
    code: 1,
    stderr:
      /^ferry: cannot write to folder ro\/lake: permission denied: give this user access to it, or choose another folder$/,
  },
  {
    does: 'a backup into a file',
    args: () => ['backup', 'plan.yaml', '--to', 'notes.txt/backups', '--key-env', KEY_ENV],
    files: () => ({ 'plan.yaml': f.plan, 'notes.txt': 'x' }),
    env: () => ({ [KEY_ENV]: f.key }),
    code: 2,
    stderr:
      /^ferry: writing \S+notes\.txt\/backups\/\S+: a part of the path is a file, not a folder: fix the path, or choose another folder$/,
    writes: ['.ferry'],
  },
  {
    does: 'a SQLite target inside a file',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.target.url = 'sqlite:notes.txt/t.db')), 'notes.txt': 'x' }),
    code: 2,
    stderr:
      /^ferry: cannot create the folder of SQLite database \S+notes\.txt\/t\.db: a file is in the way of a folder: fix the path, or check the path in the sqlite: URL$/,
    writes: ['.ferry'],
  },
  {
    does: 'the demo into a file',
    args: () => ['demo', '--dir', 'notes.txt'],
    files: () => ({ 'notes.txt': 'x' }),
    code: 2,
    stderr:
      /^ferry: cannot write the sample database \S+notes\.txt\/shop\.db: a part of the path is a file, not a folder: fix the path, or choose another folder with --dir$/,
  },
  {
    does: 'assess into a folder target: the folder is not made',
    args: () => ['assess', '--source', `sqlite:${f.sqliteSrc}`, '--target', 'file:lake/orders'],
    code: 0,
  },
  {
    does: 'assess into a SQLite target: the file is not made',
    args: () => ['assess', '--source', `sqlite:${f.sqliteSrc}`, '--target', 'sqlite:target.db'],
    code: 0,
  },
  {
    does: 'plan into a folder target: only the plan is written',
    args: () => ['plan', '--source', `sqlite:${f.sqliteSrc}`, '--target', 'file:lake', '-o', 'p.yaml'],
    code: 0,
    writes: ['p.yaml'],
  },
];

// Rows other parts of issue 19 add as they land: one run at a time (a second run, verify,
// rollback or restore of the same plan and target), where filters that are not one boolean
// expression, bounds on parallelism and batch sizes, timeouts of dead servers.
const CONCURRENT_RUNS: Row[] = [];
const WHERE_FILTERS: Row[] = [];
const BOUNDS: Row[] = [];
const TIMEOUTS: Row[] = [];

const TABLE: [string, Row[]][] = [
  ['arguments', ARGUMENTS],
  ['names of things that do not exist', NAMES],
  ['plan files', PLAN_FILES],
  ['URLs and secrets', URLS_AND_SECRETS],
  ['endpoints and credentials', ENDPOINTS],
  ['data that does not fit', DATA],
  ['state', STATE],
  ['the file system', FILESYSTEM],
  ['one run at a time', CONCURRENT_RUNS],
  ['where filters', WHERE_FILTERS],
  ['bounds', BOUNDS],
  ['timeouts', TIMEOUTS],
];

async function play(row: Row): Promise<void> {
  const dir = tmpDir('ferry-misuse-');
  const files = row.files?.(f) ?? {};
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  row.setup?.(dir, f);
  const user = row.otherUser && ROOT ? NOBODY : undefined;
  if (user) chmodSync(dir, 0o755);
  const before = readdirSync(dir).sort();
  const r = await ferryAsync(row.args(f), { cwd: dir, env: row.env?.(f), user });
  const lines = r.stderr.trim() === '' ? [] : r.stderr.trim().split('\n');
  assert.equal(r.code, row.code, `exit code (stderr: ${r.stderr.trim()})`);
  if (row.stderr) {
    assert.match(lines[0] ?? '', row.stderr);
    assert.deepEqual(lines.slice(1), row.usage ? ['(add --help for usage)'] : [], 'one line');
  } else assert.deepEqual(lines, [], 'nothing on stderr');
  if (row.stdout) assert.match(r.stdout, row.stdout);
  if (row.never) assert.ok(!(r.stdout + r.stderr).includes(row.never(f)), 'the secret is not shown');
  const allowed = new Set([...before, ...(row.writes ?? [])]);
  assert.deepEqual(
    readdirSync(dir).filter((n) => !allowed.has(n)),
    [],
    'nothing written but what the row allows',
  );
  assert.deepEqual(await sharedTargetTables(), [], 'the shared targets hold no table');
}

for (const [name, rows] of TABLE)
  describe(name, { concurrency: 2 }, () => {
    for (const row of rows) test(row.does, (t) => (row.cannot?.() ? t.skip(row.cannot()) : play(row)));
  });

test('the table holds at least a hundred cases', () => {
  const n = TABLE.reduce((sum, [, rows]) => sum + rows.length, 0);
  assert.ok(n >= 100, `${n} rows`);
});
