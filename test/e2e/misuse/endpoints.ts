// Endpoints and credentials: what the server says, in one line, and what to check.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { dbName, hostPort, MYSQL_BASE, PG_BASE } from '../../helpers.js';
import { edit, f, PW, type Row } from './table.js';

export const ENDPOINTS: Row[] = [
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
      `mysql://${f.reader}:\${env:FERRY_MISUSE_PW}@${hostPort(MYSQL_BASE)}/${dbName(f.mysqlDst)}`,
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
    // MariaDB answers 1045 or 1698 by the users it has (an anonymous one changes which)
    stderr:
      /^ferry: MySQL refused (the password for user ferry_misuse_ghost@\S+|user ferry_misuse_ghost@\S+, which gave no password): check the user/,
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
        (p) => (p.target.url = p.target.url.replace('//root@', `//${f.reader}:\${env:FERRY_MISUSE_PW}@`)),
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
