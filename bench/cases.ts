// The benchmark cases: each source engine into PostgreSQL, ferry against the reference tool,
// every tool loading its own fresh target database, every result checked by row counts.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchConfig, mariadbUrl, pgUrl, SOURCE_DB, sqliteUrl } from './config.js';
import { type TableDef } from './dataset.js';
import { pgCheckpoint, pgRowCount, pgSchemaObjects, recreatePgDatabase } from './db.js';
import { ferry, pgDumpPsql, pgloaderFromMariadb, pgloaderFromSqlite, type Tool } from './tools.js';

export interface BenchCase {
  id: string;
  title: string;
  sourceUrl: (config: BenchConfig) => string;
  reference: Tool;
}

export const CASES: BenchCase[] = [
  { id: 'mariadb', title: 'MariaDB → PostgreSQL', sourceUrl: () => mariadbUrl(SOURCE_DB), reference: pgloaderFromMariadb },
  { id: 'postgres', title: 'PostgreSQL → PostgreSQL', sourceUrl: () => pgUrl(SOURCE_DB), reference: pgDumpPsql },
  { id: 'sqlite', title: 'SQLite → PostgreSQL', sourceUrl: (config) => sqliteUrl(config.sqlitePath), reference: pgloaderFromSqlite },
];

export interface Measurement {
  tool: string;
  targetDb: string;
  rows: number;
  wallSeconds: number;
  rowsPerSecond: number;
  peakRssMb?: number;
  /** Indexes (primary keys included) and foreign keys the tool created in the target. */
  indexes: number;
  foreignKeys: number;
}

export interface CaseResult {
  id: string;
  title: string;
  ferry: Measurement;
  reference: Measurement;
  /** ferry wall time / reference wall time: at most 1 means ferry is faster. */
  ratio: number;
}

export function selectCases(ids: string[]): BenchCase[] {
  const unknown = ids.filter((id) => !CASES.some((c) => c.id === id));
  if (unknown.length) throw new Error(`BENCH_CASES names unknown cases ${unknown.join(', ')}: use ${CASES.map((c) => c.id).join(', ')}`);
  return ids.length ? CASES.filter((c) => ids.includes(c.id)) : CASES;
}

async function verifyRowCounts(tool: string, targetDb: string, tables: TableDef[]): Promise<void> {
  for (const t of tables) {
    let rows: number;
    try {
      rows = await pgRowCount(targetDb, t.name);
    } catch (e) {
      throw new Error(`${tool} left no readable table public.${t.name} in ${targetDb}: ${(e as Error).message}`);
    }
    if (rows !== t.rows) throw new Error(`${tool} copied ${rows} rows of ${t.name} into ${targetDb}, but the source has ${t.rows}`);
  }
}

async function measure(tool: Tool, caseId: string, targetDb: string, config: BenchConfig, tables: TableDef[]): Promise<Measurement> {
  await recreatePgDatabase(targetDb);
  await pgCheckpoint();
  const logFile = join(config.logDir, `${caseId}-${tool.name.replace(/\W+/g, '_')}.log`);
  rmSync(logFile, { force: true });
  console.log(`${caseId}: ${tool.name} → ${targetDb}…`);
  const timed = await tool.load(config, targetDb, logFile);
  await verifyRowCounts(tool.name, targetDb, tables);
  const rows = tables.reduce((sum, t) => sum + t.rows, 0);
  const objects = await pgSchemaObjects(targetDb);
  console.log(`${caseId}: ${tool.name} copied ${rows.toLocaleString('en-US')} rows in ${timed.wallSeconds.toFixed(1)} s`);
  return { tool: tool.name, targetDb, rows, wallSeconds: timed.wallSeconds, rowsPerSecond: rows / timed.wallSeconds, peakRssMb: timed.peakRssMb, ...objects };
}

/**
 * ferry runs first, so any warm-cache advantage goes to the reference; the checkpoint before
 * each tool keeps one tool's dirty pages out of the other's time.
 */
export async function runCase(c: BenchCase, config: BenchConfig, tables: TableDef[]): Promise<CaseResult> {
  const ferryResult = await measure(ferry(c.sourceUrl), c.id, `bench_ferry_${c.id}`, config, tables);
  const reference = await measure(c.reference, c.id, `bench_ref_${c.id}`, config, tables);
  return { id: c.id, title: c.title, ferry: ferryResult, reference, ratio: ferryResult.wallSeconds / reference.wallSeconds };
}
