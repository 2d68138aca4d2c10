// `npm run bench`: builds the dataset in MariaDB, PostgreSQL and SQLite (once), then times
// ferry against pgloader and pg_dump | psql loading each into PostgreSQL, and writes the results.
// BENCH_ROWS (default 3,000,000) sizes the dataset, BENCH_SOURCE_DB (default bench_src) names it; BENCH_CASES=mariadb,postgres,sqlite,objectstore,dynamodb,follow,cutover,verify,curve
// picks cases (follow: live changes, bench/follow-lag.ts, with its own FOLLOW_* settings; cutover: the frozen window, bench/cutover.ts; verify: bench/verify.ts;
// curve: the scale curve, bench/curve.ts, at BENCH_CURVE_ROWS; workers, only when named: bench/workers.ts, ferry worker on a queue);
// BENCH_REPEAT (default 3) sets the runs per tool, of which the fastest counts;
// BENCH_PARALLELISM and BENCH_ROWS_PER_CHUNK are passed to `ferry plan`.
import { mkdirSync } from 'node:fs';
import { loadConfig, SMALL_SOURCE_DB } from './config.js';
import { type CaseResult, measureFerryMemory, runCase, selectCases } from './cases.js';
import { runDynamodbCase } from './dynamodb.js';
import { objectStoreCases } from './objectstore.js';
import { verifyCases } from './verify.js';
import { checkSameSources } from './content-check.js';
import { ENGINES } from './dataset.js';
import { describeEnvironment } from './environment.js';
import { runCutoverCases } from './cutover.js';
import { runFollowCases } from './follow-lag.js';
import { runWorkerCases } from './workers.js';
import { runCurve } from './curve.js';
import { ensureGnuTime, ensureInstalled } from './process.js';
import { type MemoryPoint, printTable, writeResults } from './report.js';
import { ensureSource, sourceData } from './sources.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const wants = (id: string) => config.cases.length === 0 || config.cases.includes(id);
  const runsDynamodb = wants('dynamodb');
  const runsObjectStore = wants('objectstore');
  const runsVerify = wants('verify');
  mkdirSync(config.logDir, { recursive: true });
  if (wants('follow')) await runFollowCases(config);
  if (wants('cutover')) await runCutoverCases(config);
  if (wants('curve')) await runCurve(config);
  // only when named: it measures scaling on this machine, not ferry against a reference
  if (config.cases.includes('workers')) await runWorkerCases(config);
  // the live, curve and workers cases alone need neither the dataset nor the copy cases' results
  const alone = ['follow', 'cutover', 'curve', 'workers'];
  if (config.cases.length > 0 && config.cases.every((id) => alone.includes(id))) return;
  const sqlCaseIds = config.cases.filter((id) => !['dynamodb', 'objectstore', 'verify', ...alone].includes(id));
  const cases = config.cases.length > 0 && sqlCaseIds.length === 0 ? [] : selectCases(sqlCaseIds);
  ensureInstalled('pgloader', 'pgloader');
  ensureGnuTime();

  const source = sourceData(config, config.rows, config.sourceDb);
  for (const engine of ENGINES) await ensureSource(engine, source, config.dataDir);
  await checkSameSources(source);
  // A tenth of the rows shows whether ferry's memory grows with the tables.
  const memoryCheck = cases.some((c) => c.id === 'mariadb');
  const small = sourceData(config, Math.round(config.rows / 10), SMALL_SOURCE_DB);
  if (memoryCheck) await ensureSource('mariadb', small, config.dataDir);
  if (runsDynamodb) await ensureSource('postgres', small, config.dataDir);

  const results: CaseResult[] = [];
  for (const c of cases) results.push(await runCase(c, config, source));
  if (runsObjectStore) results.push(...(await objectStoreCases(config, source)));
  if (runsVerify) results.push(...(await verifyCases(config, source)));
  // the DynamoDB API implementation on loopback takes about 15k items/s: a tenth of the rows
  if (runsDynamodb) results.push(await runDynamodbCase(config, small));
  const ferryMemory: MemoryPoint[] = [];
  if (memoryCheck) {
    const full = results.find((r) => r.id === 'mariadb')!.ferry;
    const smaller = await measureFerryMemory(config, small);
    ferryMemory.push(
      { rows: smaller.rows, peakRssMb: smaller.peakRssMb! },
      { rows: full.rows, peakRssMb: full.peakRssMb! },
    );
  }

  const report = {
    environment: await describeEnvironment(),
    dataset: { rows: config.rows, tables: source.sizes },
    ferryPlanFlags: config.ferryPlanFlags,
    repeat: config.repeat,
    cases: results,
    ferryMemory,
  };
  printTable(report);
  writeResults(config.benchDir, report);
}

main().catch((e: unknown) => {
  console.error(`benchmark failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
