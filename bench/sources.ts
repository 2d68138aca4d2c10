// Builds the source databases (MariaDB, PostgreSQL, SQLite) once per dataset: a marker file
// records what was built, and a source is reused while its marker and row counts still match.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BenchConfig, SOURCE_DB } from './config.js';
import { type Engine, type TableDef, type TableSizes } from './dataset.js';
import { mariadbRowCount, pgRowCount, recreatePgDatabase, sqliteRowCount, withMariadb, withPg, withSqlite } from './db.js';
import { buildScript } from './dialects.js';

interface Marker {
  fingerprint: string;
  rows: TableSizes;
}

export async function sourceRowCount(engine: Engine, config: BenchConfig, table: string): Promise<number> {
  switch (engine) {
    case 'postgres':
      return pgRowCount(SOURCE_DB, table);
    case 'mariadb':
      return mariadbRowCount(SOURCE_DB, table);
    case 'sqlite':
      return sqliteRowCount(config.sqlitePath, table);
  }
}

async function runScript(engine: Engine, config: BenchConfig, statements: string[]): Promise<void> {
  switch (engine) {
    case 'postgres':
      await recreatePgDatabase(SOURCE_DB);
      await withPg(SOURCE_DB, async (c) => {
        await c.query("SET maintenance_work_mem = '256MB'");
        for (const s of statements) await c.query(s);
      });
      return;
    case 'mariadb':
      await withMariadb(undefined, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${SOURCE_DB}`);
        await c.query(`CREATE DATABASE ${SOURCE_DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
        await c.query(`USE ${SOURCE_DB}`);
        await c.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
        for (const s of statements) await c.query(s);
      });
      return;
    case 'sqlite':
      mkdirSync(config.dataDir, { recursive: true });
      for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(config.sqlitePath + suffix, { force: true });
      withSqlite(config.sqlitePath, (db) => {
        // A generated file needs no crash safety while it is being built.
        db.pragma('journal_mode = OFF');
        db.pragma('synchronous = OFF');
        db.transaction(() => statements.forEach((s) => db.exec(s)))();
      });
      return;
  }
}

async function matchesRows(engine: Engine, config: BenchConfig, tables: TableDef[]): Promise<boolean> {
  try {
    for (const t of tables) if ((await sourceRowCount(engine, config, t.name)) !== t.rows) return false;
    return true;
  } catch {
    return false;
  }
}

function readMarker(path: string): Marker | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Marker) : undefined;
}

/** Builds the dataset in one engine unless the same dataset is already there. */
export async function ensureSource(engine: Engine, config: BenchConfig, tables: TableDef[], sizes: TableSizes): Promise<void> {
  const statements = buildScript(engine, tables);
  const fingerprint = createHash('sha256').update(statements.join(';\n')).digest('hex');
  const markerPath = join(config.dataDir, `${engine}-source.json`);
  if (readMarker(markerPath)?.fingerprint === fingerprint && (await matchesRows(engine, config, tables))) {
    console.log(`source ${engine}: reusing the existing dataset`);
    return;
  }
  rmSync(markerPath, { force: true });
  console.log(`source ${engine}: building ${tables.map((t) => `${t.name} ${t.rows.toLocaleString('en-US')}`).join(', ')} rows…`);
  const started = performance.now();
  await runScript(engine, config, statements);
  if (!(await matchesRows(engine, config, tables))) throw new Error(`source ${engine}: the built dataset does not have the expected row counts`);
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(markerPath, JSON.stringify({ fingerprint, rows: sizes } satisfies Marker, null, 2) + '\n');
  console.log(`source ${engine}: built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
