// Benchmark settings: dataset size, endpoints, database names and where files go.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PG_SERVER = 'postgres://postgres@127.0.0.1:5432';
export const MARIADB_SERVER = 'mysql://root@127.0.0.1:3306';
/** The dataset's database in MariaDB and PostgreSQL (and its SQLite file's name). */
export const SOURCE_DB = 'bench_src';
/** A tenth of the dataset, in MariaDB only: ferry's peak memory must not grow with the tables. */
export const SMALL_SOURCE_DB = 'bench_src_small';
/** The narrow dataset (one table of 8 short columns, as many rows), in PostgreSQL only: Parquet's cost per row. */
export const NARROW_SOURCE_DB = 'bench_src_narrow';

export interface BenchConfig {
  /** Total rows over all tables of the dataset. */
  rows: number;
  /** Case ids to run (all when empty). */
  cases: string[];
  /** Runs per tool and case; the fastest counts. */
  repeat: number;
  /** The dataset's database (BENCH_SOURCE_DB, default bench_src): another name keeps a dataset of another size beside it on the shared servers. */
  sourceDb: string;
  /** Extra `ferry plan` flags from the environment (the plan's defaults otherwise). */
  ferryPlanFlags: string[];
  repoRoot: string;
  benchDir: string;
  dataDir: string;
  logDir: string;
  /** The compiled ferry CLI next to this compiled harness. */
  ferryCli: string;
  /** Node's arguments that run the CLI as its launcher line does (its V8 flags, then the file). */
  ferryCommand: string[];
}

function positiveInt(name: string, fallback?: number): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${text} is not a positive integer`);
  return n;
}

function sourceDbName(): string {
  const name = process.env.BENCH_SOURCE_DB || SOURCE_DB;
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`BENCH_SOURCE_DB=${name} is not a plain lower-case name`);
  return name;
}

/** The node flags of a script's "#!/usr/bin/env -S node FLAGS" line (none when it has no such line). */
function launcherFlags(script: string): string[] {
  if (!existsSync(script)) return [];
  const first = readFileSync(script, 'utf8').split('\n', 1)[0]!;
  const m = /^#!\S*env(?: -S)? node((?: --?\S+)*)\s*$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/).filter(Boolean) : [];
}

export function loadConfig(): BenchConfig {
  const repoRoot = process.cwd();
  if (!existsSync(join(repoRoot, 'bench', 'run.ts')))
    throw new Error(`run the benchmark from the repository root (npm run bench), not ${repoRoot}`);
  const rows = positiveInt('BENCH_ROWS', 3_000_000)!;
  if (rows < 1000) throw new Error(`BENCH_ROWS=${rows} is too small: use at least 1000`);
  const parallelism = positiveInt('BENCH_PARALLELISM');
  const rowsPerChunk = positiveInt('BENCH_ROWS_PER_CHUNK');
  const benchDir = join(repoRoot, 'bench');
  const ferryCli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const dataDir = join(benchDir, '.data');
  return {
    rows,
    cases: (process.env.BENCH_CASES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    repeat: positiveInt('BENCH_REPEAT', 3)!,
    sourceDb: sourceDbName(),
    ferryPlanFlags: [
      ...(parallelism ? ['--parallelism', String(parallelism)] : []),
      ...(rowsPerChunk ? ['--rows-per-chunk', String(rowsPerChunk)] : []),
    ],
    repoRoot,
    benchDir,
    dataDir,
    logDir: join(dataDir, 'logs'),
    ferryCli,
    ferryCommand: [...launcherFlags(ferryCli), ferryCli],
  };
}

export const pgUrl = (db: string) => `${PG_SERVER}/${db}`;
export const mariadbUrl = (db: string) => `${MARIADB_SERVER}/${db}`;
export const sqliteUrl = (path: string) => `sqlite:${path}`;
