// Test helpers: fresh databases on the real servers of this machine (or those FERRY_TEST_PG and
// FERRY_TEST_MYSQL name), temporary folders. Every database, role and user a test makes carries
// this run's tag, so that two suites on one machine never share a name; they are dropped when the
// test file ends (FERRY_TEST_KEEP=1 keeps them to look at).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import mysql from 'mysql2/promise';

export const PG_BASE = (process.env.FERRY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
export const MYSQL_BASE = (process.env.FERRY_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '');

/** host:port of a server URL, as ferry names it in messages */
export function hostPort(base: string): string {
  const u = new URL(base);
  return `${u.hostname}:${u.port || (u.protocol.startsWith('postgres') ? '5432' : '3306')}`;
}

/** This run's tag (scripts/test.mjs gives every file of a run the same one). */
export const RUN_TAG = process.env.FERRY_TEST_RUN ?? randomBytes(3).toString('hex');

/** A name of this run: databases, roles and users on the shared servers are named with it. */
export function unique(name: string): string {
  const tagged = `${name}_${RUN_TAG}`;
  // PostgreSQL's identifiers are 63 bytes, MySQL's user names 80 characters
  if (Buffer.byteLength(tagged) > 63) throw new Error(`test name ${tagged} is longer than 63 bytes`);
  return tagged;
}

const made = {
  pg: new Set<string>(),
  mysql: new Set<string>(),
  pgRoles: new Set<string>(),
  mysqlUsers: new Set<string>(),
  mysqlRoles: new Set<string>(),
};

/** Drops what this file made on the shared servers. */
async function dropMade(): Promise<void> {
  if (process.env.FERRY_TEST_KEEP) return;
  if (made.pg.size + made.pgRoles.size > 0) {
    const c = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
    await c.connect();
    try {
      for (const db of made.pg) await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      for (const role of made.pgRoles) await c.query(`DROP ROLE IF EXISTS "${role}"`);
    } finally {
      await c.end();
    }
  }
  if (made.mysql.size + made.mysqlUsers.size + made.mysqlRoles.size > 0) {
    const c = await mysql.createConnection({ uri: MYSQL_BASE });
    try {
      for (const db of made.mysql) await c.query(`DROP DATABASE IF EXISTS \`${db}\``);
      for (const user of made.mysqlUsers) await c.query(`DROP USER IF EXISTS ${user}`);
      for (const role of made.mysqlRoles) await c.query(`DROP ROLE IF EXISTS \`${role}\``);
    } finally {
      await c.end();
    }
  }
}
after(dropMade);

/** Drops and creates a PostgreSQL database named unique(name); returns its URL. */
export async function freshPg(name: string): Promise<string> {
  const db = unique(name);
  made.pg.add(db);
  const c = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${db}"`);
  } finally {
    await c.end();
  }
  return `${PG_BASE}/${db}`;
}

/** Drops and creates a MariaDB/MySQL database named unique(name); returns its URL. */
export async function freshMysql(name: string): Promise<string> {
  const db = unique(name);
  made.mysql.add(db);
  const c = await mysql.createConnection({ uri: MYSQL_BASE });
  try {
    await c.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await c.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await c.end();
  }
  return `${MYSQL_BASE}/${db}`;
}

/** A PostgreSQL role named unique(name), dropped when the file ends; returns its name. */
export function pgRole(name: string): string {
  const role = unique(name);
  made.pgRoles.add(role);
  return role;
}

/** A MySQL user named unique(name) (the caller creates it at the hosts it needs); returns its name. */
export function mysqlUser(name: string, hosts: string[] = ['%']): string {
  const user = unique(name);
  for (const h of hosts) made.mysqlUsers.add(`'${user}'@'${h}'`);
  return user;
}

/** A MySQL role named unique(name), dropped when the file ends; returns its name. */
export function mysqlRole(name: string): string {
  const role = unique(name);
  made.mysqlRoles.add(role);
  return role;
}

/** The database name of a URL made by freshPg or freshMysql. */
export function dbName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** Arguments that point the mariadb client at MYSQL_BASE. */
export function mariadbClientArgs(): string[] {
  const u = new URL(MYSQL_BASE);
  return [
    '-h',
    u.hostname,
    '-P',
    u.port || '3306',
    '-u',
    decodeURIComponent(u.username) || 'root',
    ...(u.password ? [`-p${decodeURIComponent(u.password)}`] : []),
  ];
}

const madeDirs: string[] = [];
// each test file runs in a process of its own: its folders go when it ends
process.once('exit', () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

export function tmpDir(prefix = 'ferry-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

export function freshSqlite(name: string): string {
  return `sqlite:${join(tmpDir(), `${name}.db`)}`;
}

/** Runs SQL on a PostgreSQL URL. */
export async function pgExec(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** Runs SQL on a MySQL URL. */
export async function mysqlExec(url: string, sql: string, params: unknown[] = []): Promise<unknown> {
  const c = await mysql.createConnection({ uri: url, multipleStatements: true });
  try {
    const [rows] = await c.query(sql, params);
    return rows;
  } finally {
    await c.end();
  }
}

/** A RegExp from a template: the literal parts are patterns (as written), the values are matched as text. */
export function re(strings: TemplateStringsArray, ...values: unknown[]): RegExp {
  const escape = (v: unknown) => String(v).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(strings.raw.reduce((out, s, i) => out + escape(values[i - 1]) + s));
}
