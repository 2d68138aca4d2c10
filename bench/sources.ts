// The source databases (MariaDB, PostgreSQL, SQLite), built once per dataset: a marker file
// records what was built, and a source is reused while its marker and row counts still match.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BenchConfig, mariadbUrl, pgUrl, sqliteUrl } from './config.js';
import { type Engine, tableDefs, type TableDef, tableSizes } from './dataset.js';
import {
  mariadbRowCount,
  pgRowCount,
  recreatePgDatabase,
  sqliteRowCount,
  withMariadb,
  withPg,
  withSqlite,
} from './db.js';
import { buildScript } from './dialects.js';

/** One dataset and where it lives. */
export interface SourceData {
  rows: number;
  /** rows per table */
  sizes: Record<string, number>;
  tables: TableDef[];
  /** Database name in MariaDB and PostgreSQL. */
  db: string;
  sqlitePath: string;
}

/** A dataset of `rows` rows in database `db`: the three related tables unless other tables are given. */
export function sourceData(
  config: BenchConfig,
  rows: number,
  db: string,
  tables: TableDef[] = tableDefs(tableSizes(rows)),
): SourceData {
  const sizes = Object.fromEntries(tables.map((t) => [t.name, t.rows]));
  return { rows, sizes, tables, db, sqlitePath: join(config.dataDir, `${db}.sqlite`) };
}

export function sourceUrl(engine: Engine, source: SourceData): string {
  switch (engine) {
    case 'postgres':
      return pgUrl(source.db);
    case 'mariadb':
      return mariadbUrl(source.db);
    case 'sqlite':
      return sqliteUrl(source.sqlitePath);
  }
}

interface Marker {
  fingerprint: string;
  rows: Record<string, number>;
}

function sourceRowCount(engine: Engine, source: SourceData, table: string): Promise<number> | number {
  switch (engine) {
    case 'postgres':
      return pgRowCount(source.db, table);
    case 'mariadb':
      return mariadbRowCount(source.db, table);
    case 'sqlite':
      return sqliteRowCount(source.sqlitePath, table);
  }
}

async function runScript(engine: Engine, source: SourceData, statements: string[]): Promise<void> {
  switch (engine) {
    case 'postgres':
      await recreatePgDatabase(source.db);
      await withPg(source.db, async (c) => {
        await c.query("SET maintenance_work_mem = '256MB'");
        for (const s of statements) await c.query(s);
      });
      return;
    case 'mariadb':
      await withMariadb(undefined, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${source.db}`);
        await c.query(`CREATE DATABASE ${source.db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
        await c.query(`USE ${source.db}`);
        await c.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
        for (const s of statements) await c.query(s);
      });
      return;
    case 'sqlite':
      for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(source.sqlitePath + suffix, { force: true });
      withSqlite(source.sqlitePath, (db) => {
        // A generated file needs no crash safety while it is being built.
        db.pragma('journal_mode = OFF');
        db.pragma('synchronous = OFF');
        db.transaction(() => statements.forEach((s) => db.exec(s)))();
      });
      return;
  }
}

async function matchesRows(engine: Engine, source: SourceData): Promise<boolean> {
  try {
    for (const t of source.tables) if ((await sourceRowCount(engine, source, t.name)) !== t.rows) return false;
    return true;
  } catch {
    return false;
  }
}

function readMarker(path: string): Marker | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Marker) : undefined;
}

/** Builds the dataset in one engine unless the same dataset is already there. */
export async function ensureSource(engine: Engine, source: SourceData, dataDir: string): Promise<void> {
  const name = `${engine} ${source.db}`;
  const statements = buildScript(engine, source.tables);
  const fingerprint = createHash('sha256').update(statements.join(';\n')).digest('hex');
  const markerPath = join(dataDir, `${engine}-${source.db}.json`);
  if (readMarker(markerPath)?.fingerprint === fingerprint && (await matchesRows(engine, source))) {
    console.log(`source ${name}: reusing the existing dataset`);
    return;
  }
  rmSync(markerPath, { force: true });
  console.log(
    `source ${name}: building ${source.tables.map((t) => `${t.name} ${t.rows.toLocaleString('en-US')}`).join(', ')} rows…`,
  );
  const started = performance.now();
  await runScript(engine, source, statements);
  if (!(await matchesRows(engine, source)))
    throw new Error(`source ${name}: the built dataset does not have the expected row counts`);
  writeFileSync(markerPath, JSON.stringify({ fingerprint, rows: source.sizes } satisfies Marker, null, 2) + '\n');
  console.log(`source ${name}: built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
