// The workers case (`BENCH_CASES=workers npm run bench`, or alone: `npm run build && node
// dist/bench/workers.js`): one PostgreSQL table of WORKERS_ROWS rows (default 1,000,000: bigint
// key, text, numeric, timestamptz) copied into PostgreSQL by `ferry run --queue` with 1, 2 and 3
// `ferry worker` processes (WORKER_COUNTS, concurrency 1 each) on the shared Redis, and by a
// local `ferry run` with parallelism 1 as the baseline, BENCH_REPEAT rounds (default 3) taking
// turns. Each worker's rows come from its chunk lines and its CPU seconds from /proc.
//
// Everything runs on this machine: the servers, the coordinator and every worker share its
// cores, so more workers than cores cannot be faster, and the figure for N machines is a
// projection (N times one worker's measured rate, while the source, the target and the network
// keep up), not a measurement.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadConfig, pgUrl, type BenchConfig } from './config.js';
import { pgRowCount, recreatePgDatabase, withPg } from './db.js';

const SOURCE = 'bench_workers_src';
const TARGET = 'bench_workers_dst';
const QUEUE = `redis://127.0.0.1:6379/0?prefix=ferry_bench_workers_${process.pid}`;
const ROWS_PER_CHUNK = 50_000;

interface WorkerFigure {
  rows: number;
  cpuSeconds: number;
}

interface Round {
  workers: number;
  wallSeconds: number;
  perWorker: WorkerFigure[];
}

const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** utime + stime of a process, in seconds. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

async function ensureSource(rows: number): Promise<void> {
  try {
    if ((await pgRowCount(SOURCE, 'items')) === rows) return;
  } catch {
    // not there yet
  }
  await recreatePgDatabase(SOURCE);
  await withPg(SOURCE, async (c) => {
    await c.query(
      'CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2), created timestamptz NOT NULL)',
    );
    await c.query(
      `INSERT INTO items SELECT g, 'item ' || g || ' ü', g % 100000 / 100.0, timestamptz '2024-01-01' + g * interval '1 second'
       FROM generate_series(1, ${rows}) g`,
    );
    await c.query('VACUUM ANALYZE items');
  });
}

function ferrySync(config: BenchConfig, args: string[], cwd: string): void {
  const r = spawnSync(process.execPath, [...config.ferryCommand, ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ferry ${args.join(' ')} failed: ${r.stderr}`);
}

async function oneRound(config: BenchConfig, dir: string, workers: number, rows: number): Promise<Round> {
  await recreatePgDatabase(TARGET);
  rmSync(join(dir, '.ferry'), { recursive: true, force: true });
  const started = Array.from({ length: workers }, () => {
    const child = spawn(process.execPath, [...config.ferryCommand, 'worker', '--queue', QUEUE], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    return { child, out: () => out, exited: new Promise((r) => child.on('exit', r)) };
  });
  const args = workers === 0 ? ['run', 'plan.yaml'] : ['run', 'plan.yaml', '--queue', QUEUE];
  const t0 = performance.now();
  // not spawnSync: the workers' chunk lines are read while the run goes
  const run = spawn(process.execPath, [...config.ferryCommand, ...args], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  run.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => run.on('exit', r));
  if (code !== 0) throw new Error(`ferry ${args.join(' ')} failed: ${stderr}`);
  const wallSeconds = (performance.now() - t0) / 1000;
  const perWorker = started.map((w) => ({
    rows: [...w.out().matchAll(/ chunk \d+: (\d+) rows$/gm)].reduce((n, m) => n + Number(m[1]), 0),
    cpuSeconds: cpuOf(w.child.pid!),
  }));
  for (const w of started) w.child.kill('SIGTERM');
  await Promise.all(started.map((w) => w.exited));
  const copied = await pgRowCount(TARGET, 'items');
  if (copied !== rows) throw new Error(`${workers} workers left ${copied} rows, not ${rows}`);
  return { workers, wallSeconds, perWorker };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function runWorkerCases(config: BenchConfig): Promise<void> {
  const rows = Number(process.env.WORKERS_ROWS ?? 1_000_000);
  const counts = (process.env.WORKER_COUNTS ?? '1,2,3').split(',').map(Number);
  const dir = join(config.dataDir, 'workers');
  mkdirSync(dir, { recursive: true });
  await ensureSource(rows);
  await recreatePgDatabase(TARGET);
  ferrySync(
    config,
    [
      'plan',
      '--source',
      pgUrl(SOURCE),
      '--target',
      pgUrl(TARGET),
      '--rows-per-chunk',
      String(ROWS_PER_CHUNK),
      '--parallelism',
      '1',
      '--if-exists',
      'drop',
      '-o',
      'plan.yaml',
    ],
    dir,
  );
  const rounds: Round[] = [];
  for (let r = 0; r < config.repeat; r++)
    for (const w of [0, ...counts]) {
      const round = await oneRound(config, dir, w, rows);
      rounds.push(round);
      console.log(`round ${r + 1}: ${w === 0 ? 'local run' : `${w} workers`}: ${round.wallSeconds.toFixed(2)} s`);
    }
  const local = median(rounds.filter((x) => x.workers === 0).map((x) => x.wallSeconds));
  const table = counts.map((w) => {
    const mine = rounds.filter((x) => x.workers === w);
    const wall = median(mine.map((x) => x.wallSeconds));
    const perWorkerRate = median(mine.flatMap((x) => x.perWorker.map((p) => p.rows / x.wallSeconds)));
    const rowsPerCpu = median(mine.flatMap((x) => x.perWorker.map((p) => p.rows / p.cpuSeconds)));
    return {
      workers: w,
      wallSeconds: wall,
      rowsPerSecond: rows / wall,
      vsLocal: wall / local,
      perWorkerRate,
      rowsPerCpu,
    };
  });
  const one = table.find((t) => t.workers === 1);
  console.log(
    `\n${rows} rows, PostgreSQL → PostgreSQL, ${cpus().length} cores shared by the servers, the coordinator and the workers`,
  );
  console.log(
    `local run (parallelism 1): ${local.toFixed(2)} s (${Math.round(rows / local)} rows/s), median of ${config.repeat}`,
  );
  console.log(
    '| workers | wall (median) | rows/s | wall / local run | rows/s per worker | rows per worker CPU-second |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const t of table)
    console.log(
      `| ${t.workers} | ${t.wallSeconds.toFixed(2)} s | ${Math.round(t.rowsPerSecond)} | ${t.vsLocal.toFixed(2)} | ${Math.round(t.perWorkerRate)} | ${Math.round(t.rowsPerCpu)} |`,
    );
  if (one)
    console.log(
      `projection (not measured): N machines with a worker each ≈ N × ${Math.round(one.perWorkerRate)} rows/s, while the source, the target and the network keep up`,
    );
  writeFileSync(
    join(config.benchDir, 'results-workers.json'),
    JSON.stringify({ rows, cores: cpus().length, localSeconds: local, rounds, table }, null, 2) + '\n',
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await runWorkerCases(loadConfig());
