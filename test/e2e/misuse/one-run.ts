// One run at a time: a command of a plan whose lock another command holds stops at once with
// one line naming the holder (exit 1), writing nothing; a lock left by a process that is gone,
// or whose lease ran out, is taken over. (Two real runs started together, and locks on the
// targets, are in e2e/one-run.test.ts.)
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadPlan } from '../../../src/core/plan.js';
import { LEASE_MS } from '../../../src/core/lock-file.js';
import { f, KEY_ENV, ranState, type Row } from './table.js';

interface Lock {
  host?: string;
  pid?: number;
  command?: string;
  /** the lease ran out */
  expired?: boolean;
  /** the file's text, when it is not a holder */
  text?: string;
}

/** Writes the lock of the plan in f.plan into the state folder of `dir`, as a holder left it. */
function heldLock(dir: string, lock: Lock): void {
  const folder = join(dir, '.ferry', 'locks');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(dir, 'the-plan.yaml'), f.plan);
  const { hash } = loadPlan(join(dir, 'the-plan.yaml'));
  const path = join(folder, `${hash}.lock`);
  const holder = { host: lock.host ?? hostname(), pid: lock.pid ?? process.pid, since: '2026-01-02T03:04:05.000Z' };
  writeFileSync(path, lock.text ?? JSON.stringify({ ...holder, command: lock.command ?? 'run' }));
  if (lock.expired) {
    const long = new Date(Date.now() - LEASE_MS - 60_000);
    utimesSync(path, long, long);
  }
}

/** A pid no process has: one that ran and ended. */
function goneProcess(): number {
  return Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim());
}

const heldBy = (who: string) =>
  new RegExp(
    `^ferry: another ferry command holds plan \\S+ \\(its lock in the state folder\\): ${who}, since 2026-01-02 03:04:05 UTC: wait for that command to end \\(or stop it\\), then run this one again`,
  );
const aRun = () => heldBy(`ferry run, process ${process.pid} on host ${hostname()}`);

export const ONE_RUN: Row[] = [
  {
    does: 'a second run of a plan while a run of it holds its lock',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => heldLock(dir, {}),
    code: 1,
    stderr: aRun(),
  },
  {
    does: 'a verify while a run of the plan holds its lock',
    args: () => ['verify', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => heldLock(dir, {}),
    code: 1,
    stderr: aRun(),
  },
  {
    does: 'a test while a run of the plan holds its lock',
    args: () => ['test', 'plan.yaml', '--sample', '10'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => heldLock(dir, {}),
    code: 1,
    stderr: aRun(),
  },
  {
    does: 'a run while a verify of the plan holds its lock',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => heldLock(dir, { command: 'verify' }),
    code: 1,
    stderr: heldBy(`ferry verify, process ${process.pid} on host ${hostname()}`),
  },
  {
    does: 'a rollback while a run of the plan holds its lock',
    args: () => ['rollback'],
    setup: (dir) => {
      ranState(dir);
      heldLock(dir, {});
    },
    code: 1,
    stderr: aRun(),
  },
  {
    does: 'a restore of a backup of the plan while a run of it holds its lock',
    args: () => ['restore', f.backup, '--target', 'sqlite:r.db', '--key-env', KEY_ENV],
    env: () => ({ [KEY_ENV]: f.key }),
    setup: (dir) => heldLock(dir, {}),
    code: 1,
    stderr: aRun(),
  },
  {
    does: 'a run while a run on another machine holds the lock of a shared state folder',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => heldLock(dir, { host: 'build-7', pid: 4242 }),
    code: 1,
    stderr: heldBy('ferry run, process 4242 on host build-7'),
  },
  {
    does: 'a run while a lock file that names no holder is fresh',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => heldLock(dir, { text: '{"half' }),
    code: 1,
    stderr:
      /^ferry: another ferry command holds plan plan\.yaml \(its lock in the state folder\): its holder does not say who it is: wait/,
  },
  {
    does: 'a run after a run that was killed left its lock (its process is gone)',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => heldLock(dir, { pid: goneProcess() }),
    code: 0,
    stdout: /^run \S+: copied 350 rows/m,
    writes: ['target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: "a run after another machine's run left its lock and its lease ran out",
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => heldLock(dir, { host: 'build-7', pid: 4242, expired: true }),
    code: 0,
    stdout: /^run \S+: copied 350 rows/m,
    writes: ['target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'a run after a damaged lock file whose lease ran out',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => heldLock(dir, { text: '', expired: true }),
    code: 0,
    stdout: /^run \S+: copied 350 rows/m,
    writes: ['target.db', 'target.db-wal', 'target.db-shm'],
  },
];
