// The file system: paths a user gives that cannot be written.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { edit, f, KEY_ENV, type Row } from './table.js';

export const FILESYSTEM: Row[] = [
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
