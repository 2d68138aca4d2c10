// Bounds: a parallelism or batch size beyond what the servers' connections or memory allow is
// lowered with a one-line warning and the run finishes; a server with no connection free for
// one worker is a one-line error. Never an out-of-memory abort.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dbName, PG_BASE, pgRole } from '../../helpers.js';
import { ferry } from '../support.js';
import { edit, f, type Row } from './table.js';

const TARGET = ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'];

/** A role of the shared PostgreSQL that may hold `limit` connections and read the source. */
function limitedRole(name: string, limit: number): string {
  const role = pgRole(name);
  const sql = (db: string, text: string) =>
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', `${PG_BASE}/${db}`, '-c', text], { stdio: 'ignore' });
  sql('postgres', `CREATE ROLE ${role} LOGIN CONNECTION LIMIT ${limit}`);
  sql(dbName(f.pgSrc), `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
  return role;
}

/** The plan read by a role that may hold `limit` connections. */
const asLimitedRole = (name: string, limit: number) =>
  edit(f.plan, (p) => (p.source.url = f.pgSrc.replace('//postgres@', `//${limitedRole(name, limit)}@`)));

export const BOUNDS: Row[] = [
  {
    does: 'parallelism 10000 against a server of a hundred connections',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.parallelism = 10000)) }),
    code: 0,
    stderr:
      /^ferry: warning: settings\.parallelism 10000 is more than PostgreSQL at \S+ has connections for \(max_connections \d+, \d+ in use\); using \d+$/,
    stdout: /copied 350 rows/,
    writes: TARGET,
  },
  {
    does: 'parallelism 10000 in a process of 128 MB',
    args: () => ['run', 'plan.yaml'],
    setup: (dir) => {
      const r = ferry(
        ['plan', '--source', `sqlite:${f.sqliteSrc}`, '--target', 'sqlite:target.db', '-o', 'plan.yaml'],
        {
          cwd: dir,
        },
      );
      if (r.code !== 0) throw new Error(r.stderr);
      const plan = join(dir, 'plan.yaml');
      writeFileSync(
        plan,
        edit(readFileSync(plan, 'utf8'), (p) => (p.settings.parallelism = 10000)),
      );
    },
    env: () => ({ NODE_OPTIONS: '--max-old-space-size=128' }),
    code: 0,
    stderr:
      /^ferry: warning: settings\.parallelism 10000 is more than memory allows \(3 batches of about [\d.]+ MB a worker, \d+ MB for all batches in flight\); using \d+$/,
    stdout: /copied 2 rows/,
    writes: TARGET,
  },
  {
    does: 'batchRows of a billion',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.batchRows = 1_000_000_000)) }),
    code: 0,
    stderr:
      /^ferry: warning: settings\.batchRows 1000000000 is more than memory allows \(batches of about [\d.]+ MB, \d+ MB for all batches in flight\); using \d+$/,
    stdout: /copied 350 rows/,
    writes: TARGET,
  },
  {
    does: 'a source role that may hold one connection, which ferry holds already',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': asLimitedRole('ferry_misuse_limit1', 1) }),
    code: 1,
    stderr:
      /^ferry: PostgreSQL at \S+ has no connection free for ferry \(the role's CONNECTION LIMIT 1, 1 in use\): close idle sessions or raise the connection limit, then run the same command again$/,
    writes: TARGET,
  },
  {
    does: 'a source role that may hold four connections: one worker',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': asLimitedRole('ferry_misuse_limit4', 4) }),
    code: 0,
    stderr:
      /^ferry: warning: settings\.parallelism \d+ is more than PostgreSQL at \S+ has connections for \(the role's CONNECTION LIMIT 4, 1 in use\); using 1$/,
    stdout: /copied 350 rows/,
    writes: TARGET,
  },
  {
    does: 'verify with parallelism 10000',
    args: () => ['verify', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.parallelism = 10000)) }),
    setup: (dir) => execFileSync('cp', ['-r', `${f.ran.dir}/.ferry`, `${f.ran.dir}/target.db`, dir]),
    code: 0,
    stderr: /^ferry: warning: settings\.parallelism 10000 is more than PostgreSQL at \S+ has connections for /,
    stdout: /verify: source and target match/,
    writes: TARGET,
  },
];
