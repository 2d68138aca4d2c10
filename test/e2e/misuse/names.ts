// Names of things that do not exist: a run, a table, an audit log.
import { column, edit, f, items, KEY_ENV, ranState, type Row } from './table.js';

export const NAMES: Row[] = [
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
