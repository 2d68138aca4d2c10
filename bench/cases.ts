// The benchmark cases: each source engine into PostgreSQL, ferry against the reference tool,
// every tool loading its own fresh target database, every result checked by row counts and
// a sample of its rows.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchConfig, SOURCE_DB } from './config.js';
import { checkTargetContent } from './content-check.js';
import type { Engine } from './dataset.js';
import { pgCheckpoint, pgRowCount, pgSchemaObjects, pgVacuumAnalyze, recreatePgDatabase } from './db.js';
import type { SourceData } from './sources.js';
import { ferry, pgDumpPsql, pgloaderFromMariadb, pgloaderFromSqlite, type Tool } from './tools.js';

export interface BenchCase {
  id: Engine;
  title: string;
  reference: Tool;
}

export const CASES: BenchCase[] = [
  { id: 'mariadb', title: 'MariaDB → PostgreSQL', reference: pgloaderFromMariadb },
  { id: 'postgres', title: 'PostgreSQL → PostgreSQL', reference: pgDumpPsql },
  { id: 'sqlite', title: 'SQLite → PostgreSQL', reference: pgloaderFromSqlite },
];

export interface Measurement {
  tool: string;
  targetDb: string;
  rows: number;
  /** The fastest run's wall time; rows/s and peak RSS are that run's too. */
  wallSeconds: number;
  rowsPerSecond: number;
  peakRssMb?: number;
  /** Wall time of every run, in order. */
  runs: number[];
  /** CPU seconds of every run, in order: the tool's own, and the target server's where it runs alone (dynalite) */
  cpuRuns?: number[];
  serverCpuRuns?: number[];
  /** Indexes (primary keys included) and foreign keys the tool created in the target. */
  indexes: number;
  foreignKeys: number;
}

export interface CaseResult {
  id: string;
  title: string;
  ferry: Measurement;
  reference: Measurement;
  /** ferry wall time / reference wall time, the median of `roundRatios`: at most 1 means ferry is faster. */
  ratio: number;
  /** ferry's wall time / the reference's in each round */
  roundRatios: number[];
}

/**
 * ferry's wall time over the reference's as the median over the rounds of the ratio within
 * each round. The two runs of a round are seconds to a minute apart; this machine's speed
 * drifts by a third over minutes (measured), which shifts both runs of a round alike, while
 * each tool's fastest run may come from a different round.
 */
export function pairedRatio(id: string, title: string, ferry: Measurement, reference: Measurement): CaseResult {
  const roundRatios = ferry.runs.map((wall, i) => roundTo(wall / reference.runs[i]!, 3));
  const sorted = [...roundRatios].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const ratio = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { id, title, ferry, reference, ratio: roundTo(ratio, 3), roundRatios };
}

export function selectCases(ids: string[]): BenchCase[] {
  const unknown = ids.filter((id) => !CASES.some((c) => c.id === id));
  if (unknown.length)
    throw new Error(`BENCH_CASES names unknown cases ${unknown.join(', ')}: use ${CASES.map((c) => c.id).join(', ')}`);
  return ids.length ? CASES.filter((c) => ids.includes(c.id)) : CASES;
}

async function verifyRowCounts(tool: string, targetDb: string, source: SourceData): Promise<void> {
  for (const t of source.tables) {
    let rows: number;
    try {
      rows = await pgRowCount(targetDb, t.name);
    } catch (e) {
      throw new Error(`${tool} left no readable table public.${t.name} in ${targetDb}: ${(e as Error).message}`);
    }
    if (rows !== t.rows)
      throw new Error(`${tool} copied ${rows} rows of ${t.name} into ${targetDb}, but the source has ${t.rows}`);
  }
}

const roundTo = (n: number, digits: number) => Number(n.toFixed(digits));

/** One tool loading a fresh target database, timed, then checked. */
export async function measure(
  tool: Tool,
  label: string,
  targetDb: string,
  config: BenchConfig,
  source: SourceData,
): Promise<Measurement> {
  await recreatePgDatabase(targetDb);
  await pgCheckpoint();
  const logFile = join(config.logDir, `${targetDb}.log`);
  rmSync(logFile, { force: true });
  console.log(`${label}: ${tool.name} → ${targetDb}…`);
  const timed = await tool.load(config, source, targetDb, logFile);
  await verifyRowCounts(tool.name, targetDb, source);
  await checkTargetContent(tool.name, targetDb, source);
  const objects = await pgSchemaObjects(targetDb);
  await pgVacuumAnalyze(targetDb);
  console.log(
    `${label}: ${tool.name} copied ${source.rows.toLocaleString('en-US')} rows in ${timed.wallSeconds.toFixed(1)} s`,
  );
  const wallSeconds = roundTo(timed.wallSeconds, 3);
  const peakRssMb = timed.peakRssMb === undefined ? undefined : roundTo(timed.peakRssMb, 1);
  return {
    tool: tool.name,
    targetDb,
    rows: source.rows,
    wallSeconds,
    rowsPerSecond: Math.round(source.rows / wallSeconds),
    peakRssMb,
    runs: [wallSeconds],
    ...objects,
  };
}

/** The fastest run, with every run's wall time and the largest peak RSS of them all. */
export function fastest(measurements: Measurement[]): Measurement {
  const best = measurements.reduce((a, b) => (b.wallSeconds < a.wallSeconds ? b : a));
  const rss = measurements.map((m) => m.peakRssMb).filter((r): r is number => r !== undefined);
  const cpu = (pick: (m: Measurement) => number[] | undefined) =>
    measurements.every((m) => pick(m)) ? measurements.flatMap((m) => pick(m)!) : undefined;
  return {
    ...best,
    peakRssMb: rss.length > 0 ? Math.max(...rss) : undefined,
    runs: measurements.map((m) => m.wallSeconds),
    cpuRuns: cpu((m) => m.cpuRuns),
    serverCpuRuns: cpu((m) => m.serverCpuRuns),
  };
}

/**
 * ferry and the reference take turns, ferry first, so any warm-cache advantage goes to the
 * reference; the vacuum after each tool and the checkpoint before each keep one tool's leftover
 * work out of the other's time. Each tool's fastest run is shown; the ratio is the median of
 * the rounds' ratios (pairedRatio).
 */
export async function runCase(c: BenchCase, config: BenchConfig, source: SourceData): Promise<CaseResult> {
  const ferryRuns: Measurement[] = [];
  const referenceRuns: Measurement[] = [];
  // a dataset of another name gets target databases of its own: benchmarks of two datasets can share the server
  const suffix = config.sourceDb === SOURCE_DB ? '' : `_${config.sourceDb}`;
  for (let run = 1; run <= config.repeat; run++) {
    const label = config.repeat > 1 ? `${c.title} (run ${run} of ${config.repeat})` : c.title;
    ferryRuns.push(await measure(ferry(c.id), label, `bench_ferry_${c.id}${suffix}`, config, source));
    referenceRuns.push(await measure(c.reference, label, `bench_ref_${c.id}${suffix}`, config, source));
  }
  return pairedRatio(c.id, c.title, fastest(ferryRuns), fastest(referenceRuns));
}

/** ferry MariaDB → PostgreSQL on another dataset size, for its peak memory. */
export function measureFerryMemory(config: BenchConfig, source: SourceData): Promise<Measurement> {
  return measure(
    ferry('mariadb'),
    `MariaDB → PostgreSQL, ${source.rows.toLocaleString('en-US')} rows`,
    'bench_ferry_small',
    config,
    source,
  );
}
