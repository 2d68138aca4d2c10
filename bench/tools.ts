// The tools being timed: ferry (plan + run) and the references it is compared with
// (pgloader, pg_dump | psql). Each loads a fresh, empty PostgreSQL database.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchConfig, pgUrl } from './config.js';
import type { Engine } from './dataset.js';
import { runTimed, type Timed } from './process.js';
import { type SourceData, sourceUrl } from './sources.js';

export interface Tool {
  name: string;
  /** Loads the target database (created empty beforehand); throws when the tool fails. */
  load(config: BenchConfig, source: SourceData, targetDb: string, logFile: string): Promise<Timed>;
}

/** `ferry plan` then `ferry run` from a fresh working directory, timed together. */
export function ferry(engine: Engine): Tool {
  return {
    name: 'ferry',
    async load(config, source, targetDb, logFile) {
      if (!existsSync(config.ferryCli))
        throw new Error(`the ferry CLI is not built: ${config.ferryCli} is missing (npm run build)`);
      const cwd = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
      const ferryCommand = (label: string, args: string[]) =>
        runTimed(process.execPath, [...config.ferryCommand, ...args], { label, cwd, logFile, measureRss: true });
      try {
        const plan = await ferryCommand('ferry plan', [
          'plan',
          '--source',
          sourceUrl(engine, source),
          '--target',
          pgUrl(targetDb),
          '-o',
          'plan.yaml',
          ...config.ferryPlanFlags,
        ]);
        const run = await ferryCommand('ferry run', ['run', 'plan.yaml']);
        rmSync(cwd, { recursive: true });
        return {
          wallSeconds: plan.wallSeconds + run.wallSeconds,
          peakRssMb: Math.max(plan.peakRssMb!, run.peakRssMb!),
        };
      } catch (e) {
        throw new Error(`${(e as Error).message}\n(the plan and .ferry state are kept in ${cwd})`);
      }
    },
  };
}

/**
 * pgloader's default prefetch (100,000 rows per table reader) exhausts its 1 GB Lisp heap on
 * this dataset; 10,000 is the documented remedy and loads as fast as a 4 GB heap does.
 */
const PGLOADER_OPTIONS =
  'WITH include drop, create tables, create indexes, foreign keys, reset sequences, prefetch rows = 10000';

/** pgloader with a load command file: FROM the source, INTO the target, then `clauses`. */
function pgloader(engine: Engine, clauses: (source: SourceData) => string): Tool {
  return {
    name: 'pgloader',
    async load(config, source, targetDb, logFile) {
      const workDir = join(config.dataDir, 'pgloader');
      mkdirSync(workDir, { recursive: true });
      const commandFile = join(workDir, `${targetDb}.load`);
      const from = sourceUrl(engine, source).replace(/^sqlite:/, 'sqlite://');
      writeFileSync(
        commandFile,
        `LOAD DATABASE\n  FROM ${from}\n  INTO ${pgUrl(targetDb)}\n${PGLOADER_OPTIONS}\n${clauses(source)};\n`,
      );
      const timed = await runTimed('pgloader', ['--root-dir', workDir, commandFile], {
        label: 'pgloader',
        cwd: workDir,
        logFile,
        measureRss: true,
      });
      // pgloader exits with 0 even when rows or indexes failed; its summary counts the errors.
      const summary = /Total import time\s+(\S+)/.exec(readFileSync(logFile, 'utf8'));
      if (summary?.[1] !== '✓')
        throw new Error(`pgloader reported ${summary ? `${summary[1]} errors` : 'no summary'}; see ${logFile}`);
      return timed;
    },
  };
}

/**
 * pgloader puts MySQL tables in a schema named after the database unless told otherwise. On a
 * loaded machine MariaDB reset a pgloader reader's connection mid-read twice in a row (its
 * readers wait on its writers; the server's net_write_timeout is 60 s) and pgloader crashed:
 * longer net timeouts for its sessions are pgloader's documented remedy.
 */
export const pgloaderFromMariadb = pgloader(
  'mariadb',
  (source) =>
    `SET MySQL PARAMETERS net_read_timeout = '600', net_write_timeout = '600'\nALTER SCHEMA '${source.db}' RENAME TO 'public'`,
);

/** SQLite's ANALYZE tables are internal, as ferry treats them. */
export const pgloaderFromSqlite = pgloader('sqlite', () => `EXCLUDING TABLE NAMES LIKE 'sqlite_stat%'`);

/** A plain-format dump piped into psql, timed as one shell pipeline. */
export const pgDumpPsql: Tool = {
  name: 'pg_dump | psql',
  load(config, source, targetDb, logFile) {
    const pipeline = `set -o pipefail; pg_dump --no-owner -h 127.0.0.1 -U postgres ${source.db} | psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d ${targetDb}`;
    return runTimed('bash', ['-c', pipeline], { label: 'pg_dump | psql', cwd: config.dataDir, logFile });
  },
};
