// Thin helpers over the database clients the harness needs: run statements, count rows,
// recreate databases, describe the schema objects a tool created.
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { pgUrl } from './config.js';

/** A PostgreSQL client in UTC that returns every value as the server's text. */
export async function withPg<T>(db: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: pgUrl(db),
    options: '-c TimeZone=UTC',
    types: { getTypeParser: () => (text: string) => text },
  });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** A MariaDB connection that returns exact numbers and temporal values as text. */
export async function withMariadb<T>(db: string | undefined, use: (conn: mysql.Connection) => Promise<T>): Promise<T> {
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    database: db,
    charset: 'UTF8MB4_UNICODE_CI',
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    jsonStrings: true,
  });
  try {
    return await use(conn);
  } finally {
    await conn.end();
  }
}

/** A SQLite connection whose integers read as bigint, so 64-bit values stay exact. */
export function withSqlite<T>(path: string, use: (db: Database.Database) => T, options: Database.Options = {}): T {
  const db = new Database(path, options);
  db.defaultSafeIntegers(true);
  try {
    return use(db);
  } finally {
    db.close();
  }
}

export async function recreatePgDatabase(name: string): Promise<void> {
  await dropPgDatabase(name);
  await withPg('postgres', (c) => c.query(`CREATE DATABASE ${name}`));
}

export async function dropPgDatabase(name: string): Promise<void> {
  await withPg('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Writes dirty buffers now, so one tool's leftovers do not slow the next one down. */
export async function pgCheckpoint(): Promise<void> {
  await withPg('postgres', (c) => c.query('CHECKPOINT'));
}

/** Vacuums and analyzes a freshly loaded database now, not in autovacuum during the next tool's time. */
export async function pgVacuumAnalyze(db: string): Promise<void> {
  await withPg(db, (c) => c.query('VACUUM ANALYZE'));
}

export async function pgRowCount(db: string, table: string): Promise<number> {
  return withPg(db, async (c) => Number((await c.query(`SELECT count(*) AS n FROM public.${table}`)).rows[0].n));
}

export async function mariadbRowCount(db: string, table: string): Promise<number> {
  return withMariadb(db, async (c) => {
    const [rows] = await c.query(`SELECT count(*) AS n FROM ${table}`);
    return Number((rows as { n: string }[])[0]!.n);
  });
}

export function sqliteRowCount(path: string, table: string): number {
  return withSqlite(path, (db) => Number(db.prepare(`SELECT count(*) FROM ${table}`).pluck().get()), {
    readonly: true,
    fileMustExist: true,
  });
}

export interface SchemaObjects {
  /** Indexes in schema public, primary keys included. */
  indexes: number;
  foreignKeys: number;
}

export async function pgSchemaObjects(db: string): Promise<SchemaObjects> {
  return withPg(db, async (c) => {
    const { rows } = await c.query(`
      SELECT (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public') AS indexes,
             (SELECT count(*) FROM pg_constraint k JOIN pg_namespace s ON s.oid = k.connamespace
               WHERE s.nspname = 'public' AND k.contype = 'f') AS foreign_keys`);
    return { indexes: Number(rows[0].indexes), foreignKeys: Number(rows[0].foreign_keys) };
  });
}

export async function serverVersions(): Promise<{ postgres: string; mariadb: string; sqlite: string }> {
  const postgres = await withPg(
    'postgres',
    async (c) => (await c.query('SHOW server_version')).rows[0].server_version as string,
  );
  const mariadb = await withMariadb(
    undefined,
    async (c) => ((await c.query('SELECT version() AS v'))[0] as { v: string }[])[0]!.v,
  );
  const sqlite = withSqlite(':memory:', (db) => db.prepare('SELECT sqlite_version()').pluck().get() as string);
  return { postgres, mariadb, sqlite };
}
