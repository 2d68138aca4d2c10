// URLs and secrets: one line naming what is wrong, never the secret, before anything is written.
import { randomBytes } from 'node:crypto';
import { hostPort, MYSQL_BASE } from '../../helpers.js';
import { column, edit, f, KEY_ENV, type Row } from './table.js';

export const URLS_AND_SECRETS: Row[] = [
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
    args: () => ['assess', '--source', `mysql://${f.reader}:\${env:FERRY_MISUSE_UNSET}@${hostPort(MYSQL_BASE)}/x`],
    env: () => ({ FERRY_MISUSE_UNSET: undefined }),
    code: 2,
    stderr:
      /^ferry: environment variable FERRY_MISUSE_UNSET is not set: export FERRY_MISUSE_UNSET before running ferry$/,
  },
  {
    does: 'a password file that does not exist',
    args: () => ['assess', '--source', `mysql://${f.reader}:\${file:/nonexistent/pw}@${hostPort(MYSQL_BASE)}/x`],
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
