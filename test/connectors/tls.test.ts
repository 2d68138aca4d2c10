// Transport security and least privilege: TLS to private PostgreSQL and MariaDB servers with
// certificates the tests make (a test CA, a server certificate for localhost only, an
// unrelated CA), and the privilege findings of source and target accounts on the real servers.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { mysqlConnector } from '../../src/connectors/mysql/index.js';
import { parseGrants } from '../../src/connectors/mysql/privileges.js';
import { postgresConnector } from '../../src/connectors/postgres/index.js';
import { sqliteConnector } from '../../src/connectors/sqlite/index.js';
import type { Connector, PrivilegeNeeds, TargetTable } from '../../src/core/contracts.js';
import { FerryError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import type { Finding } from '../../src/core/types.js';
import { parseType } from '../../src/core/types.js';
import { assess } from '../../src/pipeline/plan/assess.js';
import { ferry, planFor } from '../e2e/support.js';
import {
  dbName,
  freshMysql,
  freshPg,
  freshSqlite,
  hostPort,
  MYSQL_BASE,
  mysqlExec,
  mysqlRole,
  mysqlUser,
  PG_BASE,
  pgExec,
  pgRole,
  re,
  tmpDir,
} from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';

interface TestCerts {
  ca: string;
  otherCa: string;
  serverCert: string;
  serverKey: string;
}

/** A test CA, a server certificate it signs for DNS:localhost only (so 127.0.0.1 is a mismatch), and an unrelated CA. */
function makeCerts(): TestCerts {
  const dir = tmpDir('ferry-tls-certs-');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=ferry test CA', '-days', '2');
  openssl(
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    'other.key',
    '-out',
    'other.crt',
    '-subj',
    '/CN=unrelated CA',
    '-days',
    '2',
  );
  openssl('req', ...newKey, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  return {
    ca: join(dir, 'ca.crt'),
    otherCa: join(dir, 'other.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  };
}

const certs = makeCerts();
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function openWith(url: string): Promise<Connector> {
  const factory = url.startsWith('mysql')
    ? mysqlConnector
    : url.startsWith('sqlite')
      ? sqliteConnector
      : postgresConnector;
  return factory.connect({ url, log: silentLogger, poolSize: 2 });
}

/** Connects, reads the catalog (a statement over the connection) and closes. */
async function connects(url: string): Promise<void> {
  const c = await openWith(url);
  try {
    await c.introspect();
  } finally {
    await c.close();
  }
}

async function refused(url: string, code: string, message: RegExp, action: RegExp = /\w/): Promise<void> {
  await assert.rejects(openWith(url), (e: unknown) => {
    assert.ok(e instanceof FerryError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, /\n/, 'one line');
    assert.match(e.action, action);
    assert.equal(e.transient, false);
    return true;
  });
}

describe('tls: PostgreSQL', () => {
  let server: PrivatePostgres;
  // the private server takes TCP connections over TLS only (hostssl): a connection that works is encrypted
  const url = (host: string, params: string) => `postgres://postgres@${host}:${server.port}/postgres?${params}`;
  before(async () => {
    server = await privatePostgres({ tls: { cert: certs.serverCert, key: certs.serverKey } });
  });
  after(() => server?.stop());

  test('verify-full connects by a name the certificate holds, with the CA that signed it', async () => {
    await connects(url('localhost', `sslmode=verify-full&sslrootcert=${certs.ca}`));
  });

  test('verify-full refuses a certificate the given CA did not sign, naming the CA file', async () => {
    await refused(
      url('localhost', `sslmode=verify-full&sslrootcert=${certs.otherCa}`),
      'TLS_FAILED',
      new RegExp(`PostgreSQL at localhost:\\d+: the server's certificate is not signed by the CA in ${certs.otherCa}`),
      /sslrootcert/,
    );
  });

  test('verify-full without a CA file checks against the CAs this machine trusts', async () => {
    await refused(
      url('localhost', 'sslmode=verify-full'),
      'TLS_FAILED',
      /not signed by a CA this machine trusts/,
      /sslrootcert/,
    );
    await refused(url('localhost', 'sslrootcert=system'), 'TLS_FAILED', /not signed by a CA this machine trusts/);
    await refused(
      url('localhost', 'sslmode=require&sslrootcert=system'),
      'URL_INVALID',
      /would not check the certificate/,
      /verify-full/,
    );
  });

  test('verify-full refuses a host name the certificate is not for', async () => {
    await refused(
      url('127.0.0.1', `sslmode=verify-full&sslrootcert=${certs.ca}`),
      'TLS_FAILED',
      /the server's certificate is for localhost, not 127\.0\.0\.1/,
      /verify-ca/,
    );
  });

  test('verify-ca checks the CA but not the host name', async () => {
    await connects(url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${certs.ca}`));
    await refused(
      url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${certs.otherCa}`),
      'TLS_FAILED',
      /not signed by the CA/,
    );
  });

  test('require encrypts without a CA; with a CA file it checks the CA, as libpq does', async () => {
    await connects(url('127.0.0.1', 'sslmode=require'));
    await refused(
      url('127.0.0.1', `sslmode=require&sslrootcert=${certs.otherCa}`),
      'TLS_FAILED',
      /not signed by the CA/,
    );
  });

  test('a CA file without sslmode means verify-full', async () => {
    await refused(url('127.0.0.1', `sslrootcert=${certs.ca}`), 'TLS_FAILED', /is for localhost, not 127\.0\.0\.1/);
  });

  test('a server that takes TLS only refuses a URL without it, and says to add sslmode', async () => {
    await refused(
      url('localhost', 'sslmode=disable'),
      'AUTH_FAILED',
      /no pg_hba\.conf entry .*no encryption/,
      /sslmode=verify-full/,
    );
  });

  test('a server without TLS is refused when TLS is required', async () => {
    await refused(
      `${PG_BASE}/postgres?sslmode=require`,
      'TLS_FAILED',
      re`PostgreSQL at ${hostPort(PG_BASE)}: the server does not support TLS, and sslmode=require requires it`,
      /sslmode=disable/,
    );
  });

  test('a CA file that cannot be read, or is not a certificate, and an unknown mode', async () => {
    await refused(
      url('localhost', 'sslmode=verify-full&sslrootcert=/nonexistent/ca.pem'),
      'TLS_FAILED',
      /cannot read the CA file \/nonexistent\/ca\.pem named by sslrootcert: ENOENT/,
    );
    await refused(
      url('localhost', `sslmode=verify-full&sslrootcert=${certs.serverKey}`),
      'TLS_FAILED',
      /holds no PEM certificate/,
    );
    await refused(url('localhost', 'sslmode=paranoid'), 'URL_INVALID', /unknown sslmode "paranoid"/, /verify-full/);
  });

  test('ferry plan, run and verify over verify-full TLS into SQLite', async () => {
    await pgExec(
      url('localhost', 'sslmode=no-verify'),
      "DROP TABLE IF EXISTS orders; CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(10,2), placed timestamptz(6), note text); INSERT INTO orders SELECT g, g * 1.25, timestamptz '2024-01-01 00:00:00.123456+00' + g * interval '1 minute', 'naïve ✓ ' || g FROM generate_series(1, 2500) g",
    );
    const dir = tmpDir('ferry-tls-e2e-');
    const target = freshSqlite('ferry_tls_e2e');
    const source = url('localhost', `sslmode=verify-full&sslrootcert=${certs.ca}`);
    const plan = ferry(
      ['plan', '--source', source, '--target', target, '--rows-per-chunk', '1000', '-o', 'ferry.plan.yaml'],
      { cwd: dir },
    );
    assert.equal(plan.code, 0, plan.stderr);
    const run = ferry(['run', 'ferry.plan.yaml'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    const verify = ferry(['verify', 'ferry.plan.yaml', '--json'], { cwd: dir });
    assert.equal(verify.code, 0, verify.stderr);
    const result = JSON.parse(verify.stdout) as {
      ok: boolean;
      tables: { table: string; sourceRows: number; targetRows: number }[];
    };
    assert.ok(result.ok, verify.stdout);
    const t = await openWith(target);
    try {
      const info = (await t.introspect()).tables.find((x) => x.name === 'orders')!;
      assert.equal(
        await t.target!().count(
          {
            name: 'orders',
            columns: info.columns,
            primaryKey: ['id'],
            key: ['id'],
            uniqueKeys: [],
            indexes: [],
            foreignKeys: [],
          },
          {},
        ),
        2500,
      );
    } finally {
      await t.close();
    }
  });
});

describe('tls: MariaDB', () => {
  let server: PrivateMariadb;
  const url = (host: string, params: string) =>
    `mysql://ferry_tls:Tls-pw-123@${host}:${server.port}/ferry_tls?${params}`;
  before(async () => {
    server = await privateMariadb({ tls: { cert: certs.serverCert, key: certs.serverKey } });
    // an account that may connect over TLS only: a connection that works is encrypted
    await mysqlExec(
      `mysql://root@127.0.0.1:${server.port}/mysql`,
      "CREATE DATABASE ferry_tls; CREATE USER 'ferry_tls'@'%' IDENTIFIED BY 'Tls-pw-123' REQUIRE SSL; GRANT ALL ON ferry_tls.* TO 'ferry_tls'@'%'",
    );
  });
  after(() => server?.stop());

  test('verify-full connects by a name the certificate holds, with the CA that signed it', async () => {
    await connects(url('localhost', `sslmode=verify-full&sslrootcert=${certs.ca}`));
  });

  test('verify-full refuses a certificate the given CA did not sign, naming the CA file', async () => {
    await refused(
      url('localhost', `sslmode=verify-full&sslrootcert=${certs.otherCa}`),
      'TLS_FAILED',
      new RegExp(`MySQL at localhost:\\d+: the server's certificate is not signed by the CA in ${certs.otherCa}`),
      /sslrootcert/,
    );
  });

  test('verify-full refuses a host name the certificate is not for, an IP address included', async () => {
    await refused(
      url('127.0.0.1', `sslmode=verify-full&sslrootcert=${certs.ca}`),
      'TLS_FAILED',
      /the server's certificate is for localhost, not 127\.0\.0\.1/,
      /verify-ca/,
    );
  });

  test('verify-ca checks the CA but not the host name', async () => {
    await connects(url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${certs.ca}`));
    await refused(
      url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${certs.otherCa}`),
      'TLS_FAILED',
      /not signed by the CA/,
    );
  });

  test('require (and its alias ssl=true) encrypts without a CA', async () => {
    await connects(url('127.0.0.1', 'sslmode=require'));
    await connects(url('127.0.0.1', 'ssl=true'));
  });

  test('without TLS, an account that requires it is refused', async () => {
    await refused(url('127.0.0.1', 'sslmode=disable'), 'AUTH_FAILED', /refused the password for user ferry_tls/);
  });

  test('a server without TLS is refused when TLS is required', async () => {
    await refused(
      `${MYSQL_BASE}/mysql?sslmode=require`,
      'TLS_FAILED',
      re`MySQL at ${hostPort(MYSQL_BASE)}: the server does not support TLS, and sslmode=require requires it`,
      /sslmode=disable/,
    );
    await refused(`${MYSQL_BASE}/mysql?ssl=true`, 'TLS_FAILED', /does not support TLS/);
  });
});

function codes(findings: Finding[]): string[] {
  return findings.map((f) => `${f.severity} ${f.code}`);
}

/** A small target table; `fk` refers to parent(id). */
function targetTable(name: string, fk?: string): TargetTable {
  return {
    name,
    columns: [
      { name: 'id', type: parseType('int32'), nativeType: 'integer', nullable: false },
      ...(fk ? [{ name: 'parent_id', type: parseType('int32'), nativeType: 'integer', nullable: true }] : []),
    ],
    primaryKey: ['id'],
    key: ['id'],
    uniqueKeys: [],
    indexes: [],
    foreignKeys: fk ? [{ name: `${name}_fk`, columns: ['parent_id'], refTable: fk, refColumns: ['id'] }] : [],
  };
}

async function privilegesOf(url: string, needs: PrivilegeNeeds): Promise<Finding[]> {
  const c = await openWith(url);
  try {
    return await c.privileges!(needs);
  } finally {
    await c.close();
  }
}

describe('least privilege: PostgreSQL', () => {
  const [reader, writer, loader] = ['ferry_tls_reader', 'ferry_tls_writer', 'ferry_tls_loader'].map(pgRole);
  let source: string;
  let target: string;
  let owned: string;
  const as = (url: string, role: string) => url.replace('postgres@', `${role}@`);
  const SOURCE_TABLES: PrivilegeNeeds = { role: 'source', tables: ['parent', 'child'] };
  before(async () => {
    source = await freshPg('ferry_tls_priv_src');
    target = await freshPg('ferry_tls_priv_tgt');
    // every database the roles hold grants in is dropped before the roles are
    owned = await freshPg('ferry_tls_priv_owned');
    for (const r of [reader, writer, loader])
      await pgExec(`${PG_BASE}/postgres`, `DROP ROLE IF EXISTS ${r}; CREATE ROLE ${r} LOGIN`);
    await pgExec(
      source,
      `CREATE TABLE parent (id integer PRIMARY KEY, name text);
       CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent, note text);
       INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 50) g;
       INSERT INTO child SELECT g, 1 + g % 50, 'c' || g FROM generate_series(1, 200) g;
       GRANT SELECT ON parent, child TO ${reader};
       GRANT SELECT, INSERT, UPDATE, DELETE ON parent, child TO ${writer}`,
    );
  });

  test('a read-only source account gets no finding', async () => {
    assert.deepEqual(await privilegesOf(as(source, reader), SOURCE_TABLES), []);
  });

  test('a source account that can write is warned, with what it can do', async () => {
    const [f, ...rest] = await privilegesOf(as(source, writer), SOURCE_TABLES);
    assert.deepEqual(rest, []);
    assert.equal(f!.severity, 'warning');
    assert.equal(f!.code, 'SOURCE_CAN_WRITE');
    assert.match(
      f!.message,
      re`the source account ${writer} can write: INSERT, UPDATE, DELETE on 2 of 2 tables \(parent, child\)$`,
    );
    assert.match(f!.action, /read-only account/);
    const superuser = await privilegesOf(source, SOURCE_TABLES);
    assert.deepEqual(codes(superuser), ['warning SOURCE_CAN_WRITE']);
    assert.match(superuser[0]!.message, /postgres is a superuser/);
  });

  test('a source account that cannot read a table is an error with the GRANT', async () => {
    const findings = await privilegesOf(as(source, loader), SOURCE_TABLES);
    assert.deepEqual(codes(findings), ['error SOURCE_CANNOT_READ']);
    assert.match(findings[0]!.message, /cannot read 2 tables \(parent, child\)/);
    assert.equal(findings[0]!.action, `GRANT SELECT ON "public"."parent", "public"."child" TO "${loader}"`);
  });

  test('assess names the CREATE a target account lacks, with the GRANT, before any write', async () => {
    const a = await assess({ source: as(source, reader), target: as(target, loader) });
    const errors = a.findings.filter((f) => f.severity === 'error');
    assert.deepEqual(codes(errors), ['error TARGET_PRIVILEGE']);
    assert.match(
      errors[0]!.message,
      re`the target account ${loader} lacks CREATE on schema public, which the run needs for 2 tables \(parent, child\)`,
    );
    assert.equal(errors[0]!.action, `GRANT CREATE ON SCHEMA "public" TO "${loader}"`);
    assert.ok(!a.findings.some((f) => f.code === 'SOURCE_CAN_WRITE'), 'the reader is read-only');
  });

  test('ferry run stops before writing when the target account lacks CREATE, and runs once granted', async () => {
    const { file, dir } = await planFor(as(source, reader), as(target, loader));
    const stopped = ferry(['run', file], { cwd: dir });
    assert.equal(stopped.code, 1, stopped.stderr);
    const lines = stopped.stderr.trim().split('\n');
    assert.equal(lines.length, 1, stopped.stderr);
    assert.match(lines[0]!, re`lacks CREATE on schema public.*GRANT CREATE ON SCHEMA "public" TO "${loader}"`);
    const tables = await pgExec(
      target,
      "SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace",
    );
    assert.equal(tables.rows[0].n, 0, 'nothing was created');

    await pgExec(target, `GRANT CREATE ON SCHEMA public TO ${loader}`);
    const ran = ferry(['run', file], { cwd: dir });
    assert.equal(ran.code, 0, ran.stderr);
    const verified = ferry(['verify', file], { cwd: dir });
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.equal((await pgExec(target, 'SELECT count(*)::int AS n FROM child')).rows[0].n, 200);
  });

  test('tables the target account does not own cannot be dropped, nor referred to without REFERENCES', async () => {
    await pgExec(owned, `CREATE TABLE parent (id integer PRIMARY KEY); GRANT CREATE ON SCHEMA public TO ${loader}`);
    const findings = await privilegesOf(as(owned, loader), {
      role: 'target',
      tables: [targetTable('parent')],
      ifExists: 'drop',
    });
    assert.deepEqual(codes(findings), ['error TARGET_PRIVILEGE']);
    assert.match(findings[0]!.message, /does not own table parent, which target\.ifExists: drop drops/);
    const referring = await privilegesOf(as(owned, loader), {
      role: 'target',
      tables: [targetTable('child', 'parent')],
      ifExists: 'drop',
    });
    assert.deepEqual(codes(referring), ['error TARGET_PRIVILEGE']);
    assert.match(referring[0]!.message, /lacks REFERENCES on table parent, which the run needs for table \(child\)/);
    assert.equal(referring[0]!.action, `GRANT REFERENCES ON "public"."parent" TO "${loader}"`);
    const kept = await privilegesOf(as(owned, loader), {
      role: 'target',
      tables: [targetTable('parent')],
      ifExists: 'truncate',
    });
    assert.deepEqual(codes(kept), ['error TARGET_PRIVILEGE']);
    assert.match(kept[0]!.message, /lacks SELECT, INSERT, DELETE, TRUNCATE on table parent/);
  });
});

describe('least privilege: MariaDB', () => {
  const USERS = ['ferry_tls_reader', 'ferry_tls_writer', 'ferry_tls_loader', 'ferry_tls_creator'].map((u) =>
    mysqlUser(u),
  );
  const [reader, writer, loader, creator] = USERS;
  const builder = mysqlRole('ferry_tls_builder');
  let source: string;
  let target: string;
  const as = (url: string, user: string) => url.replace('root@', `${user}:Pw-${user}@`);
  const SOURCE_TABLES: PrivilegeNeeds = { role: 'source', tables: ['parent', 'child'] };
  const TARGET_TABLES: PrivilegeNeeds = {
    role: 'target',
    tables: [targetTable('parent'), targetTable('child', 'parent')],
    ifExists: 'drop',
  };
  before(async () => {
    source = await freshMysql('ferry_tls_priv_src');
    target = await freshMysql('ferry_tls_priv_tgt');
    const users = USERS.map(
      (u) => `DROP USER IF EXISTS '${u}'@'%'; CREATE USER '${u}'@'%' IDENTIFIED BY 'Pw-${u}';`,
    ).join(' ');
    await mysqlExec(
      MYSQL_BASE,
      `${users} DROP ROLE IF EXISTS ${builder}; CREATE ROLE ${builder};
       GRANT SELECT ON ${dbName(source)}.* TO '${reader}'@'%';
       GRANT ALL ON ${dbName(source)}.* TO '${writer}'@'%';
       GRANT SELECT, INSERT, DELETE ON ${dbName(target)}.* TO '${loader}'@'%';
       GRANT SELECT, INSERT, DELETE ON ${dbName(target)}.* TO '${creator}'@'%';
       GRANT CREATE, ALTER, DROP ON ${dbName(target)}.* TO ${builder};
       GRANT ${builder} TO '${creator}'@'%'; SET DEFAULT ROLE ${builder} FOR '${creator}'@'%'`,
    );
    await mysqlExec(
      source,
      'CREATE TABLE parent (id int PRIMARY KEY); CREATE TABLE child (id int PRIMARY KEY, parent_id int)',
    );
  });

  test('a read-only source account is told only about RELOAD, which a consistent parallel snapshot needs', async () => {
    const findings = await privilegesOf(as(source, reader), SOURCE_TABLES);
    assert.deepEqual(codes(findings), ['warning SOURCE_SNAPSHOT']);
    assert.match(findings[0]!.message, /lacks RELOAD/);
    assert.match(findings[0]!.action, re`GRANT RELOAD ON \*\.\* TO '${reader}'@'%'`);
    await mysqlExec(MYSQL_BASE, `GRANT RELOAD ON *.* TO '${reader}'@'%'`);
    assert.deepEqual(await privilegesOf(as(source, reader), SOURCE_TABLES), []);
  });

  test('a source account that can write is warned, with what it can do', async () => {
    const findings = await privilegesOf(as(source, writer), SOURCE_TABLES);
    assert.deepEqual(codes(findings), ['warning SOURCE_CAN_WRITE', 'warning SOURCE_SNAPSHOT']);
    assert.match(
      findings[0]!.message,
      re`the source account ${writer}@% can write: INSERT, UPDATE, DELETE, DROP, ALTER on 2 of 2 tables \(parent, child\)`,
    );
    assert.match(findings[0]!.action, /read-only account/);
  });

  test('a target account without CREATE gets an error naming it, with the GRANT', async () => {
    const findings = (await privilegesOf(as(target, loader), TARGET_TABLES)).filter((f) => f.severity === 'error');
    assert.deepEqual(codes(findings), ['error TARGET_PRIVILEGE', 'error TARGET_PRIVILEGE']);
    assert.match(
      findings[0]!.message,
      re`the target account ${loader}@% lacks CREATE on database ${dbName(target)}, which the run needs for 2 tables \(parent, child\)`,
    );
    assert.match(findings[1]!.message, /lacks ALTER .* for table \(child\)/);
    assert.equal(findings[0]!.action, `GRANT CREATE, ALTER ON \`${dbName(target)}\`.* TO '${loader}'@'%'`);
  });

  test('privileges held through a default role count', async () => {
    const findings = await privilegesOf(as(target, creator), TARGET_TABLES);
    assert.deepEqual(
      findings.filter((f) => f.severity === 'error'),
      [],
    );
  });
});

describe('least privilege: MySQL grant lines', () => {
  test('levels, LIKE patterns of database names, column lists and ALL are read as MySQL means them', () => {
    const [global, pattern, table, proxy] = [
      parseGrants(['GRANT RELOAD, PROCESS ON *.* TO `u`@`%`']),
      parseGrants(["GRANT ALL PRIVILEGES ON `app\\_%`.* TO 'u'@'%' WITH GRANT OPTION"]),
      parseGrants(['GRANT SELECT (`a`, `b`), INSERT (`a`), DELETE ON `shop`.`order``s` TO `u`@`%`']),
      parseGrants(["GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION", 'GRANT `role` TO `u`@`%`']),
    ];
    assert.deepEqual([...global[0]!.privileges], ['RELOAD', 'PROCESS']);
    assert.equal(global[0]!.db, undefined);
    assert.deepEqual([...pattern[0]!.privileges], ['ALL PRIVILEGES']);
    assert.ok(pattern[0]!.db!.test('app_prod') && pattern[0]!.db!.test('app_'));
    assert.ok(!pattern[0]!.db!.test('appxprod'), 'an escaped _ is a literal underscore');
    assert.deepEqual([...table[0]!.privileges], ['SELECT', 'INSERT', 'DELETE']);
    assert.equal(table[0]!.table, 'order`s');
    assert.ok(table[0]!.db!.test('shop') && !table[0]!.db!.test('shops'));
    assert.deepEqual(proxy, []);
  });
});

describe('least privilege: SQLite', () => {
  test('a source file is opened read-only, which the findings say when the file is writable', async () => {
    const url = freshSqlite('ferry_tls_priv_src');
    const c = await openWith(url);
    try {
      await c.target!().prepare(targetTable('parent'), 'fail');
      const findings = await c.privileges!({ role: 'source', tables: ['parent'] });
      assert.deepEqual(codes(findings), ['info SOURCE_READ_ONLY']);
    } finally {
      await c.close();
    }
  });

  test('a target folder this account cannot write is an error of the assessment', () => {
    const locked = tmpDir('ferry-tls-locked-');
    chmodSync(locked, 0o555);
    const sourceDir = tmpDir('ferry-tls-readable-');
    chmodSync(sourceDir, 0o755);
    const source = join(sourceDir, 'source.db');
    execFileSync('sqlite3', [source, 'CREATE TABLE t (id integer PRIMARY KEY)']);
    chmodSync(source, 0o644);
    const target = join(locked, 'data', 'target.db');
    // root may write anywhere: as root, the assessment runs as the unprivileged user nobody
    const argv = [
      process.execPath,
      CLI,
      'assess',
      '--source',
      `sqlite:${source}`,
      '--target',
      `sqlite:${target}`,
      '--json',
    ];
    const r =
      process.getuid?.() === 0
        ? spawnSync('runuser', ['-u', 'nobody', '--', ...argv], { encoding: 'utf8' })
        : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    const errors = (JSON.parse(r.stdout) as { findings: Finding[] }).findings.filter((f) => f.severity === 'error');
    assert.deepEqual(codes(errors), ['error TARGET_PRIVILEGE']);
    assert.match(errors[0]!.message, new RegExp(`cannot write the folder ${locked}`));
  });
});
