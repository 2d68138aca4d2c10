// State: a state folder that is damaged, missing, unwritable or on a full disk is one line that
// names it, before anything is written to the target.
import { chmodSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { f, ranState, ROOT, type Row, tinyDisk } from './table.js';

export const STATE: Row[] = [
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
