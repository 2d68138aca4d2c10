// `npm run bench:large`: how ferry's time and memory grow with the size of one value. For every
// source → target pair, tables of one text or bytes value of 1, 5, 20 and 50 MiB are copied by
// `ferry run` (timed as a process, with its peak RSS) and checked by `ferry verify` (timed too);
// DynamoDB, whose items hold at most 400 KB, must reject them, quickly. The results show the
// seconds per MiB between sizes: constant when the time is linear in the value's size.
// BENCH_LARGE_MB (default 1,5,20,50), BENCH_LARGE_KINDS (text,bytes), BENCH_LARGE_SOURCES
// (postgres,mariadb,sqlite) and BENCH_LARGE_TARGETS (postgres,mariadb,sqlite,parquet,parquet-s3,
// ndjson,csv,dynamodb) narrow it (a narrowed run's cases replace those of the results file, the
// others are kept and marked); BENCH_REPEAT (default 1) runs each case that many times, the fastest counts.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type BenchConfig } from './config.js';
import { describeEnvironment } from './environment.js';
import {
  type LargeCase,
  type LargeResults,
  mergeLargeResults,
  printLargeTable,
  readLargeResults,
  writeLargeResults,
} from './large-report.js';
import {
  type LargeTarget,
  SOURCE_TITLES,
  type SourceEngine,
  startEndpoints,
  tableName,
  type ValueKind,
} from './large-sources.js';
import { ensureGnuTime, runTimed, type Timed } from './process.js';

function listOf<T extends string>(name: string, all: readonly T[]): T[] {
  const text = process.env[name];
  if (!text) return [...all];
  const items = text.split(',').map((s) => s.trim()) as T[];
  const unknown = items.filter((i) => !all.includes(i));
  if (unknown.length) throw new Error(`${name} names unknown ${unknown.join(', ')}: use ${all.join(', ')}`);
  return items;
}

function sizes(): number[] {
  const text = process.env.BENCH_LARGE_MB ?? '1,5,20,50';
  const mbs = text.split(',').map((s) => Number(s.trim()));
  if (mbs.some((n) => !Number.isInteger(n) || n < 1 || n > 512))
    throw new Error(`BENCH_LARGE_MB=${text} is not a list of whole MiB from 1 to 512`);
  return mbs;
}

/** the variables that narrow a run: its results are merged into the earlier ones */
const LARGE_FILTERS = ['BENCH_LARGE_MB', 'BENCH_LARGE_KINDS', 'BENCH_LARGE_SOURCES', 'BENCH_LARGE_TARGETS'];

const fastest = (runs: Timed[]) => runs.reduce((a, b) => (b.wallSeconds < a.wallSeconds ? b : a));

/** `ferry plan` (not timed), then `ferry run` and `ferry verify` of one table, each timed with its peak RSS. */
async function measure(
  config: BenchConfig,
  source: string,
  target: LargeTarget,
  table: string,
  logFile: string,
): Promise<{ run: Timed; verify?: Timed }> {
  const cwd = mkdtempSync(join(tmpdir(), 'ferry-bench-large-'));
  const ferry = (label: string, args: string[], expectedExit = 0) =>
    runTimed(process.execPath, [...config.ferryCommand, ...args], {
      label,
      cwd,
      logFile,
      measureRss: true,
      expectedExit,
    });
  try {
    await ferry('ferry plan', [
      'plan',
      '--source',
      source,
      '--target',
      target.url,
      '--tables',
      table,
      '--if-exists',
      'drop',
      '-o',
      'plan.yaml',
    ]);
    // exit 4: the value was rejected
    const run = await ferry('ferry run', ['run', 'plan.yaml'], target.rejects ? 4 : 0);
    const verify = target.rejects ? undefined : await ferry('ferry verify', ['verify', 'plan.yaml']);
    rmSync(cwd, { recursive: true });
    return { run, verify };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n(the plan and .ferry state are kept in ${cwd})`);
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  ensureGnuTime();
  const mbs = sizes();
  const kinds = listOf<ValueKind>('BENCH_LARGE_KINDS', ['text', 'bytes']);
  const sources = listOf<SourceEngine>('BENCH_LARGE_SOURCES', ['postgres', 'mariadb', 'sqlite']);
  const targetIds = listOf('BENCH_LARGE_TARGETS', [
    'postgres',
    'mariadb',
    'sqlite',
    'parquet',
    'parquet-s3',
    'ndjson',
    'csv',
    'dynamodb',
  ] as const);
  const repeat = Number(process.env.BENCH_REPEAT ?? 1);
  const loadStart = loadavg()[0]!;
  mkdirSync(config.logDir, { recursive: true });
  const tables = kinds.flatMap((kind) => mbs.map((mb) => ({ kind, mb })));
  const endpoints = await startEndpoints(join(config.dataDir, 'large'), tables, {
    sources,
    targets: (id) => (targetIds as string[]).includes(id),
  });
  const cases: LargeCase[] = [];
  try {
    for (const engine of sources)
      for (const target of endpoints.targets)
        for (const { kind, mb } of tables) {
          const title = `${SOURCE_TITLES[engine]} → ${target.title}`;
          const logFile = join(config.logDir, `large-${engine}-${target.id}.log`);
          const runs: Timed[] = [];
          const verifies: Timed[] = [];
          for (let i = 0; i < repeat; i++) {
            const m = await measure(config, endpoints.sources[engine], target, tableName(kind, mb), logFile);
            runs.push(m.run);
            if (m.verify) verifies.push(m.verify);
          }
          const run = fastest(runs);
          const verify = verifies.length ? fastest(verifies) : undefined;
          cases.push({
            source: engine,
            target: target.id,
            title,
            kind,
            mb,
            runSeconds: run.wallSeconds,
            runPeakRssMb: run.peakRssMb!,
            verifySeconds: verify?.wallSeconds,
            verifyPeakRssMb: verify?.peakRssMb,
          });
          console.log(
            `${title}, ${kind} ${mb} MiB: run ${run.wallSeconds.toFixed(2)} s, ${run.peakRssMb!.toFixed(0)} MB` +
              (verify ? `; verify ${verify.wallSeconds.toFixed(2)} s, ${verify.peakRssMb!.toFixed(0)} MB` : ''),
          );
        }
  } finally {
    await endpoints.stop();
  }
  const load: [number, number] = [loadStart, loadavg()[0]!];
  const results: LargeResults = { environment: await describeEnvironment(), repeat, load, cases };
  printLargeTable(results);
  const narrowed = LARGE_FILTERS.some((name) => process.env[name]);
  writeLargeResults(
    config.benchDir,
    narrowed ? mergeLargeResults(readLargeResults(config.benchDir), results) : results,
  );
}

main().catch((e: unknown) => {
  console.error(`benchmark failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
