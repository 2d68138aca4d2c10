// The verify cases: `ferry verify` of a finished copy (MariaDB → PostgreSQL, PostgreSQL →
// PostgreSQL) timed against the raw extraction of both sides by the engines' own clients
// (mariadb --batch --quick or psql COPY … TO STDOUT of the source, then psql COPY … TO STDOUT
// of the target), in the same run, a round being one of each. The goal: at most 1.0.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CaseResult, pairedRatio } from './cases.js';
import { type BenchConfig, pgUrl } from './config.js';
import { recreatePgDatabase } from './db.js';
import { extraction, measurement } from './objectstore.js';
import { runTimed, type Timed } from './process.js';
import { type SourceData, sourceUrl } from './sources.js';

const PAIRS: { engine: 'mariadb' | 'postgres'; title: string }[] = [
  { engine: 'mariadb', title: 'verify MariaDB → PostgreSQL' },
  { engine: 'postgres', title: 'verify PostgreSQL → PostgreSQL' },
];

/** Both sides read raw, one after the other: the source by its client, the target by psql. */
async function bothSides(
  engine: 'mariadb' | 'postgres',
  source: SourceData,
  targetDb: string,
  logFile: string,
  cwd: string,
): Promise<Timed> {
  const a = await extraction(engine, source, logFile, cwd);
  const b = await extraction('postgres', { ...source, db: targetDb }, logFile, cwd);
  return { wallSeconds: a.wallSeconds + b.wallSeconds, peakRssMb: Math.max(a.peakRssMb ?? 0, b.peakRssMb ?? 0) };
}

export async function verifyCases(config: BenchConfig, source: SourceData): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of PAIRS) {
    const targetDb = `bench_verify_${c.engine}`;
    const logFile = join(config.logDir, `${targetDb}.log`);
    rmSync(logFile, { force: true });
    await recreatePgDatabase(targetDb);
    const cwd = mkdtempSync(join(tmpdir(), 'ferry-bench-verify-'));
    const step = (label: string, args: string[]) =>
      runTimed(process.execPath, [...config.ferryCommand, ...args], { label, cwd, logFile, measureRss: true });
    await step('ferry plan', [
      'plan',
      '--source',
      sourceUrl(c.engine, source),
      '--target',
      pgUrl(targetDb),
      '-o',
      'plan.yaml',
      ...config.ferryPlanFlags,
    ]);
    console.log(`${c.title}: copying first…`);
    await step('ferry run', ['run', 'plan.yaml']);
    const ferryRuns: Timed[] = [];
    const referenceRuns: Timed[] = [];
    for (let run = 1; run <= config.repeat; run++) {
      // ferry verify exits 0 only when every table matches: a failed verify fails the benchmark
      ferryRuns.push(await step('ferry verify', ['verify', 'plan.yaml']));
      referenceRuns.push(await bothSides(c.engine, source, targetDb, logFile, cwd));
      console.log(
        `${c.title} (run ${run} of ${config.repeat}): ferry verify ${ferryRuns.at(-1)!.wallSeconds.toFixed(1)} s, both sides raw ${referenceRuns.at(-1)!.wallSeconds.toFixed(1)} s`,
      );
    }
    rmSync(cwd, { recursive: true });
    const ferry = measurement('ferry verify', pgUrl(targetDb), source.rows, ferryRuns);
    const reference = measurement(
      `${c.engine === 'mariadb' ? 'mariadb --batch --quick' : 'psql COPY TO STDOUT'} + psql COPY TO STDOUT`,
      '/dev/null',
      source.rows,
      referenceRuns,
    );
    results.push(pairedRatio(`verify-${c.engine}`, c.title, ferry, reference));
  }
  return results;
}
