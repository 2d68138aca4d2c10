// Test helpers: fresh databases on the real servers of this machine, temporary folders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';

export const PG_BASE = process.env.FERRY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432';
export const MYSQL_BASE = process.env.FERRY_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306';

/** Drops and creates a PostgreSQL database; returns its URL. */
export async function freshPg(name: string): Promise<string> {
  const c = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}"`);
  } finally {
    await c.end();
  }
  return `${PG_BASE}/${name}`;
}

/** Drops and creates a MariaDB/MySQL database; returns its URL. */
export async function freshMysql(name: string): Promise<string> {
  const c = await mysql.createConnection({ uri: MYSQL_BASE });
  try {
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await c.end();
  }
  return `${MYSQL_BASE}/${name}`;
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
