// The scale curve (BENCH_CASES=curve): MariaDB → PostgreSQL and PostgreSQL → Parquet (folder) on
// the benchmark dataset at 1M, 3M, 10M and 30M rows (BENCH_CURVE_ROWS), one ferry run each: the
// wall time per million rows and the peak RSS at every size, which must stay flat (and for Parquet
// the ratio to the raw extraction, psql COPY … TO STDOUT, run right after). Each size is
// generated server-side (INSERT … SELECT from a sequence) into bench_curve in both engines, and
// both databases, the PostgreSQL target and the Parquet files are dropped after the size.
// BENCH_CURVE_SERIES=mariadb or parquet runs one of the two series alone.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { measure } from './cases.js';
import type { BenchConfig } from './config.js';
import { type CurvePoint, type CurveResults, printCurveTable, writeCurveResults } from './curve-report.js';
import { withMariadb, withPg } from './db.js';
import { describeEnvironment } from './environment.js';
import { extraction, ferryInto } from './objectstore.js';
import { ensureGnuTime } from './process.js';
import { ensureSource, sourceData } from './sources.js';
import { ferry } from './tools.js';

function curveDb(): string {
  const name = process.env.BENCH_CURVE_DB || 'bench_curve';
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`BENCH_CURVE_DB=${name} is not a plain lower-case name`);
  return name;
}

/** BENCH_CURVE_DB names the curve's databases (two curve runs on the shared servers at once need two names). */
const CURVE_DB = curveDb();
const CURVE_TARGET_DB = `${CURVE_DB}_target`;

/** BENCH_CURVE_SERIES: mariadb, parquet or both (the default), to run one series alone. */
function curveSeries(): { mariadb: boolean; parquet: boolean } {
  const text = process.env.BENCH_CURVE_SERIES ?? 'mariadb,parquet';
  const names = text.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => n !== 'mariadb' && n !== 'parquet');
  if (unknown.length || names.length === 0)
    throw new Error(`BENCH_CURVE_SERIES=${text} names no series: use mariadb, parquet or both`);
  return { mariadb: names.includes('mariadb'), parquet: names.includes('parquet') };
}

function curveSizes(): number[] {
  const text = process.env.BENCH_CURVE_ROWS ?? '1000000,3000000,10000000,30000000';
  const sizes = text.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1000))
    throw new Error(`BENCH_CURVE_ROWS=${text} is not a list of row counts of at least 1000`);
  return sizes;
}

async function dropDatabases(config: BenchConfig): Promise<void> {
  await withPg('postgres', async (c) => {
    for (const db of [CURVE_DB, CURVE_TARGET_DB]) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  });
  await withMariadb(undefined, (c) => c.query(`DROP DATABASE IF EXISTS ${CURVE_DB}`));
  for (const engine of ['postgres', 'mariadb'])
    rmSync(join(config.dataDir, `${engine}-${CURVE_DB}.json`), { force: true });
}

const point = (rows: number, wallSeconds: number, peakRssMb: number, referenceSeconds?: number): CurvePoint => ({
  rows,
  wallSeconds: Number(wallSeconds.toFixed(3)),
  secondsPerMillion: Number(((wallSeconds * 1e6) / rows).toFixed(3)),
  peakRssMb: Number(peakRssMb.toFixed(1)),
  ...(referenceSeconds === undefined ? {} : { ratio: Number((wallSeconds / referenceSeconds).toFixed(3)) }),
});

export async function runCurve(config: BenchConfig): Promise<void> {
  ensureGnuTime();
  const results: CurveResults = { environment: await describeEnvironment(), series: [] };
  const mariadbToPg: CurvePoint[] = [];
  const pgToParquet: CurvePoint[] = [];
  const series = curveSeries();
  if (series.mariadb) results.series.push({ title: 'MariaDB → PostgreSQL', points: mariadbToPg });
  if (series.parquet) results.series.push({ title: 'PostgreSQL → Parquet (folder)', points: pgToParquet });
  const lake = join(config.dataDir, 'curve-lake');
  try {
    for (const rows of curveSizes()) {
      const source = sourceData(config, rows, CURVE_DB);
      const label = `curve, ${rows.toLocaleString('en-US')} rows`;
      if (series.mariadb) {
        await ensureSource('mariadb', source, config.dataDir);
        const load = await measure(ferry('mariadb'), `${label}, MariaDB → PostgreSQL`, CURVE_TARGET_DB, config, source);
        mariadbToPg.push(point(rows, load.wallSeconds, load.peakRssMb!));
        await withPg('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${CURVE_TARGET_DB} WITH (FORCE)`));
      }
      if (series.parquet) {
        await ensureSource('postgres', source, config.dataDir);
        console.log(`${label}, PostgreSQL → Parquet…`);
        const logFile = join(config.logDir, `curve-parquet-${rows}.log`);
        rmSync(lake, { recursive: true, force: true });
        const parquet = await ferryInto(config, 'postgres', source, `file:${lake}`, lake, '', logFile);
        rmSync(lake, { recursive: true, force: true });
        const raw = await extraction('postgres', source, logFile, config.dataDir);
        pgToParquet.push(point(rows, parquet.wallSeconds, parquet.peakRssMb!, raw.wallSeconds));
        console.log(`${label}, PostgreSQL → Parquet: ${parquet.wallSeconds.toFixed(1)} s`);
      }
      // the results so far are kept should a larger size fail
      writeCurveResults(config.benchDir, results);
    }
  } finally {
    rmSync(lake, { recursive: true, force: true });
    await dropDatabases(config);
  }
  printCurveTable(results);
}
