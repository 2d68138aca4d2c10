// Object storage cases: PostgreSQL into Parquet (a local folder, and an S3 API server on
// loopback), PostgreSQL's narrow dataset (one table of 8 short columns, bench_src_narrow) into
// a folder, and MariaDB into Parquet, each timed against the raw extraction of the same tables
// by the engine's own client (psql COPY … TO STDOUT; mariadb --batch --quick) in the same run.
// The goal: ferry's wall time at most 1.5 times the raw extraction, peak RSS under 200 MB.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess } from '../test/server-process.js';
import { type CaseResult, type Measurement, pairedRatio } from './cases.js';
import { type BenchConfig, NARROW_SOURCE_DB } from './config.js';
import { type Engine, narrowTableDefs } from './dataset.js';
import { runTimed, type Timed } from './process.js';
import { ensureSource, type SourceData, sourceData, sourceUrl } from './sources.js';

const BUCKET = 'ferry-bench';

// s3rver in a process of its own, as an S3 service is: its CPU time is measured apart, and the
// benchmark's own process (which ran the other cases) does not slow it; its arguments are its
// folder and the bucket
export const S3RVER = `
const S3rver = require('s3rver');
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[1], configureBuckets: [{ name: process.argv[2], configs: [] }] });
server.run().then(({ port }) => process.stdout.write(port + '\\n'));
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
`;

/** The raw extraction of every table of the dataset, output thrown away. */
export function extraction(
  engine: 'postgres' | 'mariadb',
  source: SourceData,
  logFile: string,
  cwd: string,
): Promise<Timed> {
  const tables = source.tables.map((t) => t.name);
  const command =
    engine === 'postgres'
      ? `psql -X -q -h 127.0.0.1 -U postgres -d ${source.db} ${tables.map((t) => `-c 'COPY ${t} TO STDOUT'`).join(' ')} > /dev/null`
      : `mariadb --batch --quick -h 127.0.0.1 -u root ${source.db} -e '${tables.map((t) => `SELECT * FROM ${t};`).join(' ')}' > /dev/null`;
  return runTimed('bash', ['-o', 'pipefail', '-c', command], {
    label: `${engine} raw extraction`,
    cwd,
    logFile,
    measureRss: true,
  });
}

/** `ferry plan` then `ferry run` into a target URL, timed together; the manifests must count every row. */
export async function ferryInto(
  config: BenchConfig,
  engine: Engine,
  source: SourceData,
  target: string,
  lakeDir: string,
  objectSuffix: string,
  logFile: string,
): Promise<Timed> {
  const cwd = mkdtempSync(join(tmpdir(), 'ferry-bench-os-'));
  const step = (label: string, args: string[]) =>
    runTimed(process.execPath, [...config.ferryCommand, ...args], { label, cwd, logFile, measureRss: true });
  const plan = await step('ferry plan', [
    'plan',
    '--source',
    sourceUrl(engine, source),
    '--target',
    target,
    '--if-exists',
    'drop',
    '-o',
    'plan.yaml',
    ...config.ferryPlanFlags,
  ]);
  const run = await step('ferry run', ['run', 'plan.yaml']);
  rmSync(cwd, { recursive: true });
  for (const t of source.tables) {
    const manifest = join(lakeDir, t.name, `_manifest.json${objectSuffix}`);
    const rows = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { rows: number }).rows : 0;
    if (rows !== t.rows)
      throw new Error(`ferry wrote ${rows} rows of ${t.name} to ${target}, but the source has ${t.rows}`);
  }
  return {
    wallSeconds: plan.wallSeconds + run.wallSeconds,
    peakRssMb: Math.max(plan.peakRssMb!, run.peakRssMb!),
    cpuSeconds: plan.cpuSeconds! + run.cpuSeconds!,
  };
}

/** The fastest of the runs is shown (as in the other cases), with every run's wall time kept for the ratio. */
export function measurement(tool: string, where: string, rows: number, runs: Timed[]): Measurement {
  const best = runs.reduce((a, b) => (b.wallSeconds < a.wallSeconds ? b : a));
  return {
    tool,
    targetDb: where,
    rows,
    wallSeconds: best.wallSeconds,
    rowsPerSecond: Math.round(rows / best.wallSeconds),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb ?? 0)),
    runs: runs.map((r) => r.wallSeconds),
    indexes: 0,
    foreignKeys: 0,
  };
}

/** The object storage cases, in the shape of the other cases (reference: the raw extraction). */
export async function objectStoreCases(config: BenchConfig, source: SourceData): Promise<CaseResult[]> {
  const work = join(config.dataDir, 'objectstore');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const s3Dir = join(work, 's3rver');
  const server = await startServerProcess('s3rver', S3RVER, [s3Dir, BUCKET]);
  const port = server.port;
  // s3rver's own keys, by reference (other cases may have set AWS_* for their endpoints)
  process.env.BENCH_S3_KEY = 'S3RVER';
  const narrow = sourceData(config, source.rows, NARROW_SOURCE_DB, narrowTableDefs(source.rows));
  await ensureSource('postgres', narrow, config.dataDir);
  const cases: {
    id: string;
    engine: 'postgres' | 'mariadb';
    source: SourceData;
    title: string;
    target: string;
    lake: string;
    suffix: string;
  }[] = [
    {
      id: 'objectstore-postgres',
      engine: 'postgres',
      source,
      title: 'PostgreSQL → Parquet (folder)',
      target: `file:${join(work, 'pg-lake')}`,
      lake: join(work, 'pg-lake'),
      suffix: '',
    },
    {
      id: 'objectstore-postgres-narrow',
      engine: 'postgres',
      source: narrow,
      title: 'PostgreSQL → Parquet, narrow rows (folder)',
      target: `file:${join(work, 'pg-narrow-lake')}`,
      lake: join(work, 'pg-narrow-lake'),
      suffix: '',
    },
    {
      id: 'objectstore-postgres-s3',
      engine: 'postgres',
      source,
      title: 'PostgreSQL → Parquet (S3 API)',
      target: `s3://\${env:BENCH_S3_KEY}:\${env:BENCH_S3_KEY}@${BUCKET}/pg?endpoint=http://127.0.0.1:${port}&forcePathStyle=true&region=us-east-1`,
      lake: join(s3Dir, BUCKET, 'pg'),
      suffix: '._S3rver_object',
    },
    {
      id: 'objectstore-mariadb',
      engine: 'mariadb',
      source,
      title: 'MariaDB → Parquet (folder)',
      target: `file:${join(work, 'mariadb-lake')}`,
      lake: join(work, 'mariadb-lake'),
      suffix: '',
    },
  ];
  const results: CaseResult[] = [];
  try {
    for (const c of cases) {
      const logFile = join(config.logDir, `${c.id}.log`);
      rmSync(logFile, { force: true });
      const ferryRuns: Timed[] = [];
      const referenceRuns: Timed[] = [];
      // ferry first in each round, so any warm-cache advantage goes to the reference
      for (let run = 1; run <= config.repeat; run++) {
        console.log(`${c.title}: ferry (run ${run} of ${config.repeat})…`);
        const serverCpu = server.cpuSeconds();
        ferryRuns.push(await ferryInto(config, c.engine, c.source, c.target, c.lake, c.suffix, logFile));
        const last = ferryRuns.at(-1)!;
        console.log(
          `${c.title}: ferry took ${last.wallSeconds.toFixed(1)} s (CPU: ferry ${last.cpuSeconds!.toFixed(1)} s${c.suffix ? `, s3rver ${(server.cpuSeconds() - serverCpu).toFixed(1)} s` : ''})`,
        );
        referenceRuns.push(await extraction(c.engine, c.source, logFile, work));
      }
      const ferry = measurement('ferry', c.target.replace(/\?.*/, ''), c.source.rows, ferryRuns);
      const reference = measurement(
        c.engine === 'postgres' ? 'psql COPY TO STDOUT' : 'mariadb --batch --quick',
        '/dev/null',
        c.source.rows,
        referenceRuns,
      );
      console.log(
        `${c.title}: ferry ${ferry.wallSeconds.toFixed(1)} s, raw extraction ${reference.wallSeconds.toFixed(1)} s`,
      );
      results.push(pairedRatio(c.id, c.title, ferry, reference));
    }
  } finally {
    await server.stop();
  }
  return results;
}
