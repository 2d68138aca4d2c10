// The tools being timed: ferry (plan + run) and the references it is compared with
// (pgloader, pg_dump | psql). Each loads a fresh, empty PostgreSQL database.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchConfig, mariadbUrl, pgUrl, SOURCE_DB } from './config.js';
import { runTimed, type Timed } from './process.js';

export interface Tool {
  name: string;
  /** Loads the target database (created empty beforehand); throws when the tool fails. */
  load(config: BenchConfig, targetDb: string, logFile: string): Promise<Timed>;
}

/** `ferry plan` then `ferry run` from a fresh working directory, timed together. */
export function ferry(sourceUrl: (config: BenchConfig) => string): Tool {
  return {
    name: 'ferry',
    async load(config, targetDb, logFile) {
      if (!existsSync(config.ferryCli)) throw new Error(`the ferry CLI is not built: ${config.ferryCli} is missing (npm run build)`);
      const cwd = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
      const options = { cwd, logFile, measureRss: true };
      const plan = await runTimed(
        process.execPath,
        [config.ferryCli, 'plan', '--source', sourceUrl(config), '--target', pgUrl(targetDb), '-o', 'plan.yaml', ...config.ferryPlanFlags],
        options,
      );
      const run = await runTimed(process.execPath, [config.ferryCli, 'run', 'plan.yaml'], options);
      rmSync(cwd, { recursive: true });
      return { wallSeconds: plan.wallSeconds + run.wallSeconds, peakRssMb: Math.max(plan.peakRssMb!, run.peakRssMb!) };
    },
  };
}

/** pgloader with a load command file; `body` follows the FROM and INTO lines. */
function pgloader(name: string, from: (config: BenchConfig) => string, body: string): Tool {
  return {
    name,
    async load(config, targetDb, logFile) {
      const workDir = join(config.dataDir, 'pgloader');
      mkdirSync(workDir, { recursive: true });
      const commandFile = join(workDir, `${targetDb}.load`);
      writeFileSync(commandFile, `LOAD DATABASE\n  FROM ${from(config)}\n  INTO ${pgUrl(targetDb)}\n${body};\n`);
      const timed = await runTimed('pgloader', ['--root-dir', workDir, commandFile], { cwd: workDir, logFile, measureRss: true });
      // pgloader exits with 0 even when rows or indexes failed; its summary counts the errors.
      const summary = /Total import time\s+(\S+)/.exec(readFileSync(logFile, 'utf8'));
      if (summary?.[1] !== '✓') throw new Error(`pgloader reported ${summary ? `${summary[1]} errors` : 'no summary'}; see ${logFile}`);
      return timed;
    },
  };
}

const PGLOADER_OPTIONS = 'WITH include drop, create tables, create indexes, foreign keys, reset sequences';

/** pgloader puts MySQL tables in a schema named after the database unless told otherwise. */
export const pgloaderFromMariadb = pgloader('pgloader', () => mariadbUrl(SOURCE_DB), `${PGLOADER_OPTIONS}\nALTER SCHEMA '${SOURCE_DB}' RENAME TO 'public'`);

/** SQLite's ANALYZE tables are internal, as ferry treats them. */
export const pgloaderFromSqlite = pgloader('pgloader', (config) => `sqlite://${config.sqlitePath}`, `${PGLOADER_OPTIONS}\nEXCLUDING TABLE NAMES LIKE 'sqlite_stat%'`);

/** A plain-format dump piped into psql, timed as one shell pipeline. */
export const pgDumpPsql: Tool = {
  name: 'pg_dump | psql',
  load(config, targetDb, logFile) {
    const pipeline = `set -o pipefail; pg_dump --no-owner -h 127.0.0.1 -U postgres ${SOURCE_DB} | psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d ${targetDb}`;
    return runTimed('bash', ['-c', pipeline], { cwd: config.dataDir, logFile });
  },
};
