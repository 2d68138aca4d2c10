// Secrets: a whole migration with canary passwords (a MariaDB user's, a PostgreSQL role's) and
// a canary backup key, every command with debug logs; then every file ferry wrote and every
// line it printed is searched for them. A literal password never gets into a plan.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { hasLiteralPassword } from '../../src/core/secrets.js';
import {
  freshMysql,
  freshPg,
  MYSQL_BASE,
  mysqlExec,
  mysqlUser,
  pgExec,
  PG_BASE,
  pgRole,
  re,
  tmpDir,
  unique,
} from '../helpers.js';
import { ferry, type CliResult } from '../e2e/support.js';
import { assertNowhere, filesUnder } from './canaries.js';

test('canary passwords and key appear in no file ferry writes and nothing it prints', async () => {
  const tag = randomBytes(4).toString('hex');
  // characters a URL must encode, so both spellings are looked for
  const sourcePassword = `Cn4ry/src@${tag}%:pw`;
  const targetPassword = `Cn4ry-dst-${tag}`;
  const key = randomBytes(32).toString('base64');
  const canaries = [
    sourcePassword,
    encodeURIComponent(sourcePassword),
    targetPassword,
    key,
    Buffer.from(key, 'base64').toString('hex'),
  ];

  const quoted = sourcePassword.replace(/'/g, "''");
  const srcDb = unique('ferry_safety_canary_src');
  const dstDb = unique('ferry_safety_canary_dst');
  const user = mysqlUser('ferry_canary', ['%', 'localhost']);
  const role = pgRole('ferry_canary');
  const srcUrl = await freshMysql('ferry_safety_canary_src');
  await mysqlExec(
    MYSQL_BASE,
    `CREATE USER '${user}'@'%' IDENTIFIED BY '${quoted}'; CREATE USER '${user}'@'localhost' IDENTIFIED BY '${quoted}';
    GRANT ALL ON ${srcDb}.* TO '${user}'@'%'; GRANT ALL ON ${srcDb}.* TO '${user}'@'localhost';`,
  );
  await mysqlExec(
    srcUrl,
    `CREATE TABLE accounts (id int PRIMARY KEY, owner varchar(40) NOT NULL, balance decimal(12,2), opened datetime(6));
    INSERT INTO accounts VALUES (1, 'Zoë', 10.50, '2024-01-01 10:00:00.000001'), (2, 'Łukasz', -3.25, NULL), (3, '李雷', 0, '1999-12-31 23:59:59.999999');`,
  );
  // the target database belongs to the canary role: dropped (by freshPg's bookkeeping) before the role is
  await freshPg('ferry_safety_canary_dst');
  await pgExec(`${PG_BASE}/postgres`, `CREATE ROLE ${role} LOGIN PASSWORD '${targetPassword}'`);
  await pgExec(`${PG_BASE}/postgres`, `ALTER DATABASE ${dstDb} OWNER TO ${role}`);

  const env = { FERRY_CANARY_SRC_PW: sourcePassword, FERRY_CANARY_DST_PW: targetPassword, FERRY_BACKUP_KEY: key };
  const host = (base: string) => base.replace(/^\w+:\/\/[^@]*@/, '');
  const src = `mysql://${user}:\${env:FERRY_CANARY_SRC_PW}@${host(MYSQL_BASE)}/${srcDb}`;
  const dst = `postgres://${role}:\${env:FERRY_CANARY_DST_PW}@${host(PG_BASE)}/${dstDb}`;
  const dir = tmpDir('ferry-safety-canary-');
  const printed: CliResult[] = [];
  const cli = (args: string[], expected = 0) => {
    const r = ferry(['--log-level', 'debug', '--json-logs', ...args], { cwd: dir, env });
    printed.push(r);
    assert.equal(r.code, expected, `ferry ${args.join(' ')}: ${r.stderr}`);
    return r;
  };

  // a literal password is refused, not written into a plan
  const literal = cli(
    [
      'plan',
      '--source',
      `mysql://${user}:${encodeURIComponent(sourcePassword)}@${host(MYSQL_BASE)}/${srcDb}`,
      '--target',
      dst,
      '-o',
      'literal.yaml',
    ],
    2,
  );
  assert.match(
    literal.stderr,
    re`the source URL mysql://${user}:\*\*\*@.* holds a literal password, which would be written into the plan: write \$\{env:NAME\} in its place`,
  );
  assert.ok(!existsSync(join(dir, 'literal.yaml')));

  cli(['assess', '--source', src, '--target', dst]);
  cli(['plan', '--source', src, '--target', dst, '-o', 'plan.yaml', '--if-exists', 'drop']);
  const planFile = join(dir, 'plan.yaml');
  writeFileSync(
    planFile,
    readFileSync(planFile, 'utf8').replace('settings:\n', 'settings:\n  backup: { before: true, to: backups }\n'),
  );
  assert.match(readFileSync(planFile, 'utf8'), re`url: mysql://${user}:\$\{env:FERRY_CANARY_SRC_PW\}@`);
  cli(['test', 'plan.yaml', '--sample', '2']);
  const backup = cli(['backup', 'plan.yaml']);
  const location = /backup \S+: (\S+) \(/.exec(backup.stdout)![1]!;
  cli(['backup', 'verify', location]);
  cli(['run', 'plan.yaml']);
  cli(['verify', 'plan.yaml']);
  cli(['report']);
  cli(['audit', 'verify']);
  cli(['rollback', '--check']);
  cli(['rollback']);
  cli(['restore', location, '--target', dst]);
  assert.deepEqual(
    (await pgExec(`${PG_BASE}/${dstDb}`, 'SELECT owner FROM accounts ORDER BY id')).rows.map((r) => r.owner),
    ['Zoë', 'Łukasz', '李雷'],
  );
  // failures name the endpoint, never its password
  const unreachable = cli(['assess', '--source', `mysql://${user}:\${env:FERRY_CANARY_SRC_PW}@127.0.0.1:1/nowhere`], 1);
  assert.match(unreachable.stderr, /127\.0\.0\.1:1/);
  // a plan someone edited a literal password into is refused at load
  const edited = join(tmpDir('ferry-safety-canary-edited-'), 'plan.yaml');
  writeFileSync(
    edited,
    readFileSync(planFile, 'utf8').replace('${env:FERRY_CANARY_DST_PW}', encodeURIComponent(targetPassword)),
  );
  const refused = cli(['run', edited], 2);
  assert.match(
    refused.stderr,
    /plan\.yaml:\d+:\d+: target\.url: the URL holds a literal password: write \$\{env:NAME\} or \$\{file:path\} in its place/,
  );

  const written = filesUnder(dir);
  for (const expected of [
    'plan.yaml',
    join('.ferry', 'state.db'),
    join('.ferry', 'audit'),
    join('.ferry', 'reports'),
    'manifest.json',
    '.sealed',
  ])
    assert.ok(
      written.some((f) => f.includes(expected)),
      `ferry wrote ${expected}`,
    );
  assert.ok(
    printed.some((r) => /"level":30,.*"msg":"run: run started"/.test(r.stderr)),
    'the logs were on',
  );
  assertNowhere(canaries, written, printed);
});

test('a literal password is told from a reference, wherever it is in the URL', () => {
  for (const url of [
    'mysql://app:hunter22@db/x',
    'postgres://app:p%40ss@db/x?sslmode=require',
    'postgres://app@db/x?password=hunter22',
    'mysql://app:pre${env:PW}@db/x',
    's3://AKIA:secret@bucket/prefix',
  ])
    assert.equal(hasLiteralPassword(url), true, url);
  for (const url of [
    'mysql://app:${env:PW}@db/x',
    'postgres://app:${file:/run/secrets/pw}@db/x',
    'postgres://app@db/x?password=${env:PW}',
    'postgres://app@db/x',
    'sqlite:shop.db',
    'file:./out',
    'dynamodb://eu-west-1',
  ])
    assert.equal(hasLiteralPassword(url), false, url);
});
