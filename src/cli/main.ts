#!/usr/bin/env -S node --max-semi-space-size=8 --initial-heap-size=64
// The ferry command line: thin over the library calls in src/pipeline. V8's young generation is
// capped at 8 MB a semi-space (Node's default is 16): rows and values die young either way, and
// the cap keeps about 30 MB off the peak memory of a run at the same speed (measured). The heap
// starts at 64 MB: from V8's default (a few MB, grown by little after each full collection) a
// PostgreSQL → Parquet run of 3M rows made about 50 full collections, each marking the whole
// heap; from 64 MB it makes about 10, for 0.5 s less wall time and 25 MB more peak memory.
// Each command imports its modules when it is chosen: loading them all cost about 0.6 s of CPU
// before any command started (measured), paid twice by a `ferry plan` then `ferry run`.
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option, type HelpContext } from 'commander';
import Table from 'cli-table3';
import { EXIT, FerryError, type ErrorCode } from '../core/errors.js';
import { fileError } from '../core/files.js';
import type { Logger } from '../core/log.js';
import { redact } from '../core/secrets.js';
import type { Assessment } from '../pipeline/plan/assess.js';
import { findingCounts } from '../pipeline/plan/findings.js';
import type { RunOptions, RunSummary } from '../pipeline/copy/run.js';
import type { VerifyResult } from '../pipeline/verify/verify.js';
import type { DryRunResult } from '../pipeline/copy/dryrun.js';
import type { WayBackSummary } from '../pipeline/reverse/way-back.js';
import type { KeySource } from '../pipeline/safety/backup/sealed.js';
import type { PlanStatus } from '../pipeline/observe/status.js';
import type { CompactSummary } from '../pipeline/follow/compact.js';
import type { CutoverOptions, CutoverResult } from '../pipeline/cutover/cutover.js';
import type { Dashboard } from '../pipeline/observe/dashboard/server.js';

const out = (line = ''): void => {
  process.stdout.write(line + '\n');
};
/** A warning: the command goes on (a setting it lowered), on stderr as `ferry: warning: …`. */
const warning = (line: string): void => {
  process.stderr.write(redact(`ferry: warning: ${line}`) + '\n');
};
const tty = process.stdout.isTTY === true;
/** The plan's JSON Schema as the package ships it (`schema/`, beside `dist/`). */
const PLAN_SCHEMA_FILE = fileURLToPath(new URL('../../../schema/ferry.plan.schema.json', import.meta.url));

async function logger(opts: { logLevel?: string; jsonLogs?: boolean }): Promise<Logger> {
  const { createLogger } = await import('../core/log.js');
  return createLogger({ level: opts.logLevel, json: opts.jsonLogs });
}

/** A table for the terminal; plain (no colour codes) when the output is not a terminal. */
function newTable(opts: Table.TableConstructorOptions): Table.Table {
  return new Table(tty ? opts : { ...opts, style: { head: [], border: [] } });
}

function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) ((n /= 1024), i++);
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function duration(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function printAssessment(a: Assessment): void {
  out(
    `${a.totals.tables} tables, ${a.totals.rows} rows, ${bytes(a.totals.bytes)}; estimated copy time ${duration(a.estimatedSeconds)}; ${findingCounts(a.groups)}`,
  );
  out(
    `source: ${a.source.url} (${a.source.engine} ${a.source.version})${a.target ? `\ntarget: ${a.target.url} (${a.target.engine})` : ''}`,
  );
  const t = newTable({ head: ['wave', 'table', 'rows', 'size', 'cols', 'primary key', 'references', 'large objects'] });
  for (const x of a.tables)
    t.push([
      x.wave,
      x.name,
      x.rows,
      bytes(x.bytes),
      x.columns,
      x.primaryKey.join(', ') || '(none)',
      [...new Set(x.foreignKeys.map((f) => f.refTable))].join(', '),
      x.largeObjectColumns.join(', '),
    ]);
  out(t.toString());
  if (a.groups.length === 0) return;
  const f = newTable({
    head: ['severity', 'finding', 'where', 'what to do'],
    colWidths: [10, 60, 28, 50],
    wordWrap: true,
  });
  for (const g of a.groups) f.push([g.severity, g.message, g.places.join(', '), g.action]);
  out(f.toString());
}

function printRun(s: RunSummary, planFile: string): void {
  if (s.nothingToDo) {
    const by = s.nothingToDo.finishedBy;
    out(
      `nothing to do: every table of ${planFile} was copied${by ? ` by run ${by.id} (finished ${by.finished})` : ''}; \`ferry verify ${planFile}\` checks the target`,
    );
    return;
  }
  const t = newTable({ head: ['table', 'rows', 'copied now', 'resumed chunks', 'rejected', 'seconds', 'rows/s'] });
  for (const x of s.tables)
    t.push([
      x.table,
      x.rows,
      x.copied,
      x.resumedChunks,
      x.rejects,
      x.seconds.toFixed(2),
      x.seconds > 0 ? Math.round(x.copied / x.seconds) : '',
    ]);
  out(t.toString());
  const resumed =
    s.resumed.chunks > 0
      ? `; resumed after ${s.resumed.chunks} chunks (${s.resumed.rows} rows) copied by earlier runs`
      : '';
  out(
    `run ${s.runId}: copied ${s.copied} rows in ${s.seconds.toFixed(2)} s (${Math.round(s.copied / Math.max(s.seconds, 0.001))} rows/s)${resumed}, ${s.rejects} rejected`,
  );
  for (const f of s.rejectFiles) out(`rejected rows: ${f}`);
  if (s.follow)
    out(
      `followed live changes: applied ${s.follow.changes} changes in ${s.follow.transactions} transactions${s.follow.rejects > 0 ? `, ${s.follow.rejects} rejected` : ''}; stopped at ${s.follow.position}${s.follow.cutOver ? ': the plan is cut over' : ': the same command goes on from there'}`,
    );
  for (const line of s.follow?.addedColumns ?? []) out(line);
}

function printStatus(s: PlanStatus): void {
  out(`${s.plan} (plan ${s.hash}): ${s.phase}`);
  if (s.run)
    out(
      `latest run ${s.run.id}: ${s.run.status}, started ${s.run.started}${s.run.finished ? `, ended ${s.run.finished}` : ''}${s.run.error ? `: ${s.run.error}` : ''}`,
    );
  const t = newTable({ head: ['table', 'state', 'chunks done', 'rows', 'rejected'] });
  for (const x of s.tables) t.push([x.table, x.state, `${x.chunksDone}/${x.chunks}`, x.rows, x.rejects]);
  out(t.toString());
  for (const f of s.freezes ?? [])
    out(
      f.standing === 'stale'
        ? `the ${f.side} is frozen since ${f.since} by a cutover that is gone (run ${f.runId}): \`ferry cutover ${s.plan} --unfreeze\` makes it writable again`
        : `the ${f.side} is frozen since ${f.since} (run ${f.runId}${f.standing === 'kept' ? ', on purpose: cut over' : ', running'})`,
    );
  const st = s.stream;
  if (!st) return;
  out(
    `live changes: from ${st.start}; applied up to ${st.applied ?? '(nothing yet)'}${st.appliedAt ? ` at ${st.appliedAt}` : ''}, ${st.changes} changes`,
  );
  if (st.lagSeconds !== undefined) out(`lag of the last batch: ${st.lagSeconds.toFixed(1)} s from the source's commit`);
  if (st.sourcePosition)
    out(
      `source now at ${st.sourcePosition}${st.retainedBytes !== undefined ? `, keeping ${bytes(st.retainedBytes)} of its log for this stream` : ''}`,
    );
  if (st.sourceError) out(`source: ${st.sourceError}`);
}

/** The options of a guarded switch, which `ferry cutover`, `ferry rollback --after-cutover` and `ferry run --cutover` share. */
function cutoverOptions(cmd: Command, json = true): Command {
  cmd
    .option('--max-lag <duration>', 'wait until the follow process is this close to the source', durationMs, 2000)
    .option(
      '--max-freeze <duration>',
      'undo the freeze and abort if the source would stay frozen longer',
      durationMs,
      5000,
    )
    .option('--wait <duration>', 'how long to wait for the lag before giving up (nothing frozen)', durationMs, 60_000)
    .option('--switch-hook <command>', 'shell command that moves the application, run once the target is ready')
    .option('--accounts <names>', "freeze only these accounts (comma-separated; default: all but ferry's)", (v) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .option(
      '--end-unstoppable',
      'MySQL/MariaDB: end the sessions of accounts read_only cannot stop (SUPER, READ ONLY ADMIN)',
    );
  return json ? cmd.option('--json', 'machine-readable output (frozenMs, drainMs, verifyMs, positions)') : cmd;
}

/** `ferry cutover`'s flags: the guarded switch's, and its modes */
type CutoverCommandFlags = CutoverFlags & {
  stateDir?: string;
  reverse?: boolean;
  finish?: boolean;
  unfreeze?: boolean;
};

interface CutoverFlags {
  maxLag: number;
  maxFreeze: number;
  wait: number;
  switchHook?: string;
  accounts?: string[];
  endUnstoppable?: boolean;
  json?: boolean;
}

function cutoverSettings(o: CutoverFlags): CutoverOptions {
  return {
    maxLagMs: o.maxLag,
    maxFreezeMs: o.maxFreeze,
    lagTimeoutMs: o.wait,
    switchHook: o.switchHook,
    accounts: o.accounts,
    endUnstoppable: o.endUnstoppable,
    onStep: o.json ? undefined : (line) => out(line),
  };
}

function printWayBack(w: WayBackSummary, planFile: string): void {
  const f = w.follow;
  out(
    `followed the target back: applied ${f.changes} changes in ${f.transactions} transactions${f.rejects > 0 ? `, ${f.rejects} rejected` : ''}; stopped at ${f.position}`,
  );
  if (!w.rolledBack) out(`the same command (\`ferry cutover ${planFile} --reverse\`) goes on from there`);
  else if (w.rolledBack.sourceWritable)
    out("rolled back: the source takes the application's writes again; the way back is closed");
  else
    out(
      'rolled back, but the source is still frozen: no freeze of it is recorded in the state folder; undo it by hand (README, "The way back")',
    );
}

function printCutover(c: CutoverResult, closing?: string): void {
  for (const line of c.freeze.steps) out(`freeze: ${line}`);
  for (const u of c.freeze.unstoppable.filter((x) => !x.ended))
    out(`warning: the freeze cannot stop ${u.account} (end its sessions with --end-unstoppable)`);
  out(`positions: snapshot ${c.positions.start}, frozen ${c.positions.frozen}, applied ${c.positions.applied}`);
  out(
    `frozen window ${c.frozenMs} ms (freeze ${c.freezeMs} ms, frozen position ${c.markMs} ms, drain ${c.drainMs} ms, verify ${c.verifyMs} ms, counters ${c.sequencesMs} ms)`,
  );
  if (c.sequences.notSet.length) out(`warning: the target cannot set the counters of ${c.sequences.notSet.join(', ')}`);
  out(closing ?? `cut over (run ${c.runId}): the source stays read-only; the follow process stops`);
  if (c.compacted) printCompact({ runId: c.runId, tables: c.compacted });
}

function printCompact(c: CompactSummary): void {
  const t = newTable({ head: ['table', 'change files taken in', 'rows', 'data files'] });
  for (const x of c.tables) t.push([x.table, x.changeFiles, x.rows, x.files]);
  out(t.toString());
  const folded = c.tables.filter((x) => x.changeFiles > 0).length;
  out(
    folded > 0
      ? `compact: ${folded} of ${c.tables.length} tables written anew with their live changes`
      : 'compact: no table had live changes to take in',
  );
}

function printVerify(v: VerifyResult): void {
  const t = newTable({ head: ['table', 'status', 'source rows', 'target rows', 'chunks', 'mismatched', 'rejected'] });
  for (const x of v.tables)
    t.push([x.table, x.status, x.sourceRows, x.targetRows, x.chunks, x.mismatchedChunks, x.rejected]);
  out(t.toString());
  for (const x of v.tables) {
    if (x.message) out(`${x.table}: ${x.message}`);
    for (const s of x.sample) out(`${x.table}: ${s}`);
  }
  out(
    v.ok
      ? 'verify: source and target match'
      : `verify: ${v.tables.filter((x) => x.status !== 'match').length} tables differ${v.tables.some((x) => x.rejected > 0) ? ', and rows were rejected during the run' : ''}`,
  );
}

function printDryRun(r: DryRunResult): void {
  const t = newTable({
    head: [
      'table',
      'rows',
      'sampled',
      'written',
      'rejected',
      'verified',
      'prepare s',
      'copy s',
      'indexes s',
      'rows/s',
      'full copy (est.)',
      'chunks as',
    ],
  });
  for (const x of r.tables)
    t.push([
      x.table,
      x.rows,
      x.sampled,
      x.written,
      x.rejected,
      x.match ? 'yes' : 'NO',
      x.seconds.prepare.toFixed(2),
      x.seconds.copy.toFixed(2),
      x.seconds.indexes.toFixed(2),
      x.rowsPerSecond,
      duration(x.estimatedSeconds),
      [x.as.columns && `${x.as.columns} columns`, x.as.rows && `${x.as.rows} rows`].filter(Boolean).join(', '),
    ]);
  out(t.toString());
  for (const x of r.tables) {
    for (const d of x.differences) out(`${x.table}: ${d}`);
    for (const reason of x.rejects) out(`${x.table}: rejected: ${reason}`);
  }
  if (r.findings.length > 0) {
    const f = newTable({
      head: ['severity', 'where', 'finding', 'what to do'],
      colWidths: [10, 28, 60, 50],
      wordWrap: true,
    });
    for (const x of r.findings)
      f.push([x.severity, [x.table, x.column].filter(Boolean).join('.'), x.message, x.action]);
    out(f.toString());
  }
  out(`estimated copy time of the full run: ${duration(r.estimatedSeconds)} (at the sample's rates)`);
  if (r.leftovers.length > 0) out(`scratch tables an earlier test left dropped: ${r.leftovers.join(', ')}`);
  const scratch = [...new Set(r.tables.map((x) => x.scratch))];
  if (r.kept.length > 0) out(`scratch tables kept: ${r.kept.join(', ')}`);
  else if (scratch.length > 0) out(`scratch tables dropped: ${scratch.join(', ')}`);
  out(r.ok ? `test ${r.runId}: the sample went through and verified` : `test ${r.runId}: see the findings above`);
}

function keySource(o: { keyEnv?: string; keyFile?: string }): KeySource | undefined {
  return o.keyEnv || o.keyFile ? { env: o.keyEnv, file: o.keyFile } : undefined;
}

/**
 * With --queue: the queued run's records, from its shared state, laid out in the (empty) state
 * folder for report or rollback to work from; `published` puts a rollback made here back.
 */
async function queuedRecords(
  command: string,
  planFile: string | undefined,
  o: { stateDir: string; queue?: string; sharedState?: string },
  log: Logger,
): Promise<{ published(rollback: string): Promise<void> } | undefined> {
  if (!o.queue) {
    if (o.sharedState)
      throw new FerryError('PLAN_INVALID', '--shared-state goes with --queue', 'add --queue URL, or leave it out');
    return undefined;
  }
  if (!planFile)
    throw new FerryError(
      'PLAN_INVALID',
      `ferry ${command} --queue needs the plan file`,
      `ferry ${command} PLAN --queue URL`,
    );
  const { fetchRunRecords, publishRollback } = await import('../pipeline/queue/run-records.js');
  const stateDir = resolve(o.stateDir);
  const { stateUrl, hash } = await fetchRunRecords(planFile, o.queue, o.sharedState, stateDir, log);
  return { published: (rollback) => publishRollback(stateDir, hash, stateUrl, rollback, log) };
}

/** A whole-number option: anything else is a one-line usage error (exit 2) where it is given. */
function wholeNumber(min: number): (v: string) => number {
  return (v) => {
    if (!/^\s*[-+]?\d+\s*$/.test(v) || Number(v) < min)
      throw new InvalidArgumentError(`expected a whole number, at least ${min}`);
    return Number(v);
  };
}

/** "2s", "500ms", "1m" as milliseconds */
function durationMs(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected a duration such as 2s, 500ms or 1m');
  return Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000));
}

function percentage(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n > 0 && n <= 100))
    throw new InvalidArgumentError('expected a percentage, more than 0 and at most 100');
  return n;
}

/** Bad input: exit 2. */
const USAGE_CODES: ErrorCode[] = [
  'PLAN_INVALID',
  'PLAN_NOT_FOUND',
  'URL_INVALID',
  'SECRET_MISSING',
  'RUN_NOT_FOUND',
  'TABLE_NOT_FOUND',
  'PATH_INVALID',
  'SERVE_INVALID',
];

function exitCodeOf(e: FerryError): number {
  if (USAGE_CODES.includes(e.code)) return EXIT.usage;
  if (e.code === 'ERROR_BUDGET_SPENT') return EXIT.rejects;
  if (e.code === 'INTERRUPTED') return EXIT.interrupted;
  return EXIT.failed;
}

/**
 * Commander prints the whole help when a command that has subcommands is given none (`ferry`,
 * `ferry audit`) or `ferry help` an unknown one, and puts its "Did you mean" on a line of its
 * own: here each is a usage error like any other, one line and where help is.
 */
class FerryCommand extends Command {
  constructor(name?: string) {
    super(name);
    this.configureOutput({ outputError: (text, write) => write(text.replace('\n(Did you mean', ' (did you mean')) });
  }

  override createCommand(name?: string): FerryCommand {
    return new FerryCommand(name);
  }

  override help(context?: HelpContext): never;
  override help(cb: (str: string) => string): never;
  override help(arg?: HelpContext | ((str: string) => string)): never {
    if (typeof arg !== 'object' || !arg.error) return super.help(arg as HelpContext);
    const names = this.commands.map((c) => c.name()).filter((n) => n !== 'help');
    const unknown = this.args.find((a) => a !== 'help' && !names.includes(a));
    return this.error(
      unknown ? `error: unknown command '${unknown}'` : `error: missing command: one of ${names.join(', ')}`,
      { code: unknown ? 'commander.unknownCommand' : 'commander.missingCommand' },
    );
  }
}

async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = new FerryCommand('ferry')
    .description('Move a live database into serverless data services: assess, plan, run, verify, report.')
    .version('0.1.0')
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['debug', 'info', 'warn', 'error'])
        .env('FERRY_LOG_LEVEL')
        .default('warn'),
    )
    .option('--json-logs', 'structured JSON logs on stderr')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const globals = () => program.opts<{ logLevel: string; jsonLogs?: boolean }>();

  program
    .command('assess')
    .description('inventory of the source and compatibility findings for the target')
    .requiredOption('--source <url>', 'source endpoint URL')
    .option('--target <url>', 'target endpoint URL')
    .option('--tables <names>', 'comma-separated tables (default: all)', (v) => v.split(','))
    .option('--follow', 'also check that the source can give its live changes (ferry run --follow)')
    .option('--json', 'machine-readable output')
    .action(async (o: { source: string; target?: string; tables?: string[]; follow?: boolean; json?: boolean }) => {
      const { assess } = await import('../pipeline/plan/assess.js');
      const a = await assess({ ...o, log: await logger(globals()) });
      if (o.json) out(JSON.stringify(a, null, 2));
      else printAssessment(a);
      if (a.findings.some((f) => f.severity === 'error')) code = EXIT.failed;
      // a table named in --tables that the source lacks is a bad argument
      if (a.findings.some((f) => f.code === 'TABLE_NOT_FOUND')) code = EXIT.usage;
    });

  program
    .command('plan')
    .description('write a reviewable migration plan')
    .requiredOption('--source <url>', 'source endpoint URL (use ${env:NAME} for passwords)')
    .requiredOption('--target <url>', 'target endpoint URL')
    .option('-o, --output <file>', 'plan file', 'ferry.plan.yaml')
    .option('--tables <names>', 'comma-separated tables (default: all)', (v) => v.split(','))
    .option('--rows-per-chunk <n>', 'rows per chunk', wholeNumber(1))
    .option('--parallelism <n>', 'chunks copied at once', wholeNumber(1))
    .addOption(new Option('--if-exists <what>', 'when a target table exists').choices(['fail', 'drop', 'truncate']))
    .option('--design <name>', 'layout of a target that has several (DynamoDB: per-table, single-table)')
    .addOption(
      new Option(
        '--names <policy>',
        'target names: as in the source, lower case or snake_case (default: lower from MySQL and SQLite into PostgreSQL, else keep)',
      ).choices(['keep', 'lower', 'snake']),
    )
    .action(
      async (o: {
        source: string;
        target: string;
        output: string;
        tables?: string[];
        rowsPerChunk?: number;
        parallelism?: number;
        ifExists?: 'fail' | 'drop' | 'truncate';
        design?: string;
        names?: 'keep' | 'lower' | 'snake';
      }) => {
        const [{ makePlan, planNotes }, { planToYaml }] = await Promise.all([
          import('../pipeline/plan/assess.js'),
          import('../core/plan.js'),
        ]);
        const plan = await makePlan({ ...o, log: await logger(globals()) });
        // the first line points YAML editors (yaml-language-server) at the schema this ferry installed
        const header = `# yaml-language-server: $schema=${PLAN_SCHEMA_FILE}\n# ferry plan, written ${new Date().toISOString()}. Review it, edit it, then: ferry run ${o.output}\n# Secrets: write \${env:NAME} or \${file:path}, never a literal password.\n`;
        try {
          writeFileSync(o.output, redact(planToYaml(plan, header, planNotes(plan))));
        } catch (e) {
          throw fileError(e, `cannot write the plan ${o.output}`, 'choose another file with -o');
        }
        const tables = plan.waves.reduce((n, w) => n + w.tables.length, 0);
        out(`plan written to ${o.output}: ${tables} tables in ${plan.waves.length} waves`);
      },
    );

  const runCommand = program
    .command('run')
    .description('run (or resume) a plan')
    .argument('<plan>', 'plan file')
    .option('--state-dir <dir>', "checkpoint store folder (default: the plan's settings.stateDir)")
    .option(
      '--follow',
      'after the copy, apply the live changes of the source until stopped (Ctrl-C or SIGTERM: a clean stop)',
    )
    .option('--json', 'print the summary as JSON (no progress lines)')
    .option(
      '--serve <[host:]port>',
      'serve a live dashboard and /metrics there while the run goes (and after, until Ctrl-C)',
    )
    .option('--token', 'require a token of the dashboard (made now and printed once): needed to listen beyond loopback')
    .option(
      '--queue <url>',
      'coordinate: `ferry worker`s on this queue (redis://host:port/db[?prefix=NAME]), or a function fed by this SQS queue (sqs://REGION/ACCOUNT/NAME), copy the chunks (docs/scale-out.md)',
    )
    .option(
      '--shared-state <url>',
      "with an SQS --queue: the run's shared state, the function's FERRY_STATE (redis://…)",
    )
    .option(
      '--chunks-per-second <n>',
      'with --queue: chunk jobs started per second across all workers, at most',
      wholeNumber(1),
    )
    .option(
      '--cutover',
      'with --follow: once following, cut over in this process (the options below, as `ferry cutover` takes them); the run ends once cut over',
    )
    .action(
      async (
        planFile: string,
        o: CutoverFlags & {
          stateDir?: string;
          follow?: boolean;
          json?: boolean;
          serve?: string;
          token?: boolean;
          queue?: string;
          sharedState?: string;
          chunksPerSecond?: number;
          cutover?: boolean;
        },
      ) => {
        if (o.cutover && !o.follow)
          throw new FerryError(
            'PLAN_INVALID',
            '--cutover cuts over a plan whose live changes the run follows',
            'add --follow (ferry run PLAN --follow --cutover)',
          );
        if (o.chunksPerSecond !== undefined && !o.queue)
          throw new FerryError(
            'PLAN_INVALID',
            '--chunks-per-second limits a queued run',
            'add --queue URL, or leave it out',
          );
        if (o.sharedState && !o.queue)
          throw new FerryError(
            'PLAN_INVALID',
            "--shared-state is an SQS queue's",
            'add --queue sqs://REGION/ACCOUNT/NAME, or leave --shared-state out',
          );
        if (o.token && !o.serve)
          throw new FerryError(
            'SERVE_INVALID',
            "--token is the dashboard's",
            'add --serve [host:]port, or leave --token out',
          );
        const [{ runPlan }, { progressReporter }] = await Promise.all([
          import('../pipeline/copy/run.js'),
          import('./progress.js'),
        ]);
        const progress = o.json ? undefined : progressReporter(out, tty);
        const dashboard = o.serve
          ? await serveDashboard(
              {
                listen: o.serve,
                token: o.token,
                stateDir: o.stateDir ?? (await import('../core/plan.js')).loadPlan(planFile).plan.settings.stateDir,
              },
              true,
              await logger(globals()),
              o.json ? (line) => process.stderr.write(line + '\n') : out,
            )
          : undefined;
        onInterrupt = {
          endLines: () => progress?.stop(),
          note: `interrupted: run the same command (\`ferry run ${planFile}\`) to resume; what was copied is kept`,
        };
        const stop = new AbortController();
        // following stops cleanly on the first signal (the batch in hand is applied); a second one exits at once
        if (o.follow) stopGracefully = () => stop.abort();
        try {
          const runOpts: RunOptions = {
            log: await logger(globals()),
            onWarning: warning,
            stateDir: o.stateDir,
            onEvent:
              progress || dashboard
                ? (e) => {
                    progress?.onEvent(e);
                    dashboard?.onEvent(e);
                  }
                : undefined,
            follow: o.follow,
            signal: stop.signal,
            queue: o.queue,
            sharedState: o.sharedState,
            chunksPerSecond: o.chunksPerSecond,
          };
          const withCutover = o.cutover
            ? await (
                await import('../pipeline/cutover/in-run.js')
              ).runThenCutOver(planFile, runOpts, {
                ...cutoverSettings(o),
                onAbort: (e) => warning(e.oneLine()),
              })
            : undefined;
          const s = withCutover?.run ?? (await runPlan(planFile, runOpts));
          progress?.stop();
          if (o.json) out(JSON.stringify(withCutover ?? s, null, 2));
          else {
            printRun(s, planFile);
            if (withCutover?.cutover) printCutover(withCutover.cutover);
          }
          if (s.rejects > 0 && !s.nothingToDo) code = EXIT.rejects;
          if (dashboard) {
            dashboard.refresh();
            (o.json ? process.stderr : process.stdout).write(
              `the run is over; the dashboard stays at ${dashboard.url} until Ctrl-C\n`,
            );
            await untilStopped();
          }
        } finally {
          progress?.stop();
          await dashboard?.close();
        }
      },
    );
  cutoverOptions(runCommand, false);

  program
    .command('worker')
    .description('copy chunk jobs from a queue for `ferry run PLAN --queue URL`, until Ctrl-C or SIGTERM')
    .requiredOption('--queue <url>', 'the queue: redis://host:port/db[?prefix=NAME]')
    .option('--concurrency <n>', 'chunk jobs carried out at once', wholeNumber(1), 2)
    .action(async (o: { queue: string; concurrency: number }) => {
      const [{ runWorker }, { failureOf }] = await Promise.all([
        import('../pipeline/queue/worker.js'),
        import('../pipeline/queue/job.js'),
      ]);
      const stop = new AbortController();
      stopGracefully = () => {
        stop.abort();
        process.stderr.write('ferry: stopping: finishing the chunk jobs in hand (interrupt again to stop at once)\n');
      };
      const counts = await runWorker({
        queue: o.queue,
        concurrency: o.concurrency,
        onReady: () => out(`worker: taking chunk jobs from ${redact(o.queue)} (${o.concurrency} at once)`),
        log: await logger(globals()),
        signal: stop.signal,
        onJob: (e) =>
          out(
            e.result
              ? `${e.result.table} chunk ${e.result.chunk}: ${e.result.rows} rows`
              : redact(`job ${e.job} failed: ${failureOf(e.error ?? '').oneLine()}`),
          ),
      });
      out(`worker: stopped after ${counts.done} chunk jobs (${counts.failed} failed)`);
    });

  program
    .command('serve')
    .description("serve the live dashboard and /metrics of a state folder's latest run (in progress or finished)")
    .option('--state-dir <dir>', 'checkpoint store folder', '.ferry')
    .option('--listen <[host:]port>', 'where to listen', '127.0.0.1:7478')
    .option('--token', 'require a token (made now and printed once): needed to listen beyond loopback')
    .action(async (o: { stateDir: string; listen: string; token?: boolean }) => {
      const dashboard = await serveDashboard(o, false, await logger(globals()), out);
      try {
        await untilStopped();
      } finally {
        await dashboard.close();
      }
    });

  program
    .command('status')
    .description('where a plan stands: its phase, each table, and the live changes it follows')
    .argument('<plan>', 'plan file')
    .option('--state-dir <dir>', 'checkpoint store folder')
    .option('--queue <url>', "a queued run's, from any machine: read its shared state on this queue")
    .option('--shared-state <url>', "with an SQS --queue: the run's shared state (redis://…)")
    .option('--json', 'machine-readable output')
    .action(
      async (planFile: string, o: { stateDir?: string; queue?: string; sharedState?: string; json?: boolean }) => {
        const { planStatus } = await import('../pipeline/observe/status.js');
        const st = await planStatus(planFile, {
          log: await logger(globals()),
          stateDir: o.stateDir,
          queue: o.queue,
          sharedState: o.sharedState,
        });
        if (o.json) out(JSON.stringify(st, null, 2));
        else printStatus(st);
      },
    );

  cutoverOptions(
    program
      .command('cutover')
      .description('while `ferry run PLAN --follow` runs: freeze the source, drain, verify, set counters, switch')
      .argument('<plan>', 'plan file')
      .option('--state-dir <dir>', 'checkpoint store folder'),
  )
    .option(
      '--reverse',
      "keep a way back: once switched, follow the target's changes back into the source until stopped (Ctrl-C or SIGTERM: a clean stop) or rolled back",
    )
    .option('--finish', "end the move: drop both streams' slots and publications and the way back's positions")
    .option(
      '--unfreeze',
      'undo the freeze a cutover (or rollback --after-cutover) killed while frozen left behind, as recorded in the state folder',
    )
    .action(async (planFile: string, o: CutoverCommandFlags) => {
      const opts = { log: await logger(globals()), onWarning: warning, stateDir: o.stateDir };
      const modes = (['reverse', 'finish', 'unfreeze'] as const).filter((m) => o[m]);
      if (modes.length > 1)
        throw new FerryError(
          'PLAN_INVALID',
          `--${modes[0]} and --${modes[1]} do not go together`,
          'give one: --reverse to cut over (or follow back), --finish when the move is over, --unfreeze to undo a freeze left behind',
        );
      if (o.unfreeze) {
        const { unfreezePlan } = await import('../pipeline/cutover/unfreeze.js');
        const u = await unfreezePlan(planFile, opts);
        if (o.json) out(JSON.stringify(u, null, 2));
        else if (u.undone.length === 0) out(`nothing to undo: no freeze of ${planFile} is recorded`);
        else
          for (const x of u.undone) out(`the ${x.side} is writable again (frozen since ${x.since} by run ${x.runId})`);
        return;
      }
      if (o.finish) {
        const { finishPlan } = await import('../pipeline/reverse/finish.js');
        const f = await finishPlan(planFile, opts);
        if (o.json) out(JSON.stringify(f, null, 2));
        else {
          for (const line of f.released) out(`released ${line}`);
          out(`finished the move of ${planFile}: ferry keeps nothing on either database for it`);
        }
        return;
      }
      if (o.reverse) {
        const stop = new AbortController();
        // following back stops cleanly on the first signal (the batch in hand is applied); a second one exits at once
        stopGracefully = () => stop.abort();
        const { cutoverWithWayBack } = await import('../pipeline/reverse/way-back.js');
        const w = await cutoverWithWayBack(planFile, {
          ...opts,
          ...cutoverSettings(o),
          signal: stop.signal,
          onCutOver: o.json ? undefined : (c) => printCutover(c),
        });
        if (o.json) out(JSON.stringify(w, null, 2));
        else printWayBack(w, planFile);
        return;
      }
      const { cutoverPlan } = await import('../pipeline/cutover/cutover.js');
      const c = await cutoverPlan(planFile, { ...opts, ...cutoverSettings(o) });
      if (o.json) out(JSON.stringify(c, null, 2));
      else printCutover(c);
    });

  program
    .command('compact')
    .description('object storage: fold the live changes into a new snapshot of every table, with its manifest')
    .argument('<plan>', 'plan file')
    .option('--state-dir <dir>', 'checkpoint store folder')
    .option('--json', 'machine-readable output')
    .action(async (planFile: string, o: { stateDir?: string; json?: boolean }) => {
      const { compactPlan } = await import('../pipeline/follow/compact.js');
      const c = await compactPlan(planFile, { log: await logger(globals()), stateDir: o.stateDir });
      if (o.json) out(JSON.stringify(c, null, 2));
      else printCompact(c);
    });

  program
    .command('verify')
    .description('prove that source and target agree: counts, chunk digests, differing rows')
    .argument('<plan>', 'plan file')
    .option('--state-dir <dir>', 'checkpoint store folder')
    .option('--sample <n>', 'differing keys to show per table', wholeNumber(0), 10)
    .option('--json', 'machine-readable output')
    .action(async (planFile: string, o: { stateDir?: string; sample: number; json?: boolean }) => {
      const { verifyPlan } = await import('../pipeline/verify/verify.js');
      const v = await verifyPlan(planFile, {
        log: await logger(globals()),
        onWarning: warning,
        stateDir: o.stateDir,
        sample: o.sample,
        onTable: o.json || !tty ? undefined : (r) => out(`${r.table}: ${r.status}`),
      });
      if (o.json) out(JSON.stringify(v, null, 2));
      else printVerify(v);
      if (!v.ok) code = EXIT.verifyMismatch;
    });

  program
    .command('perf')
    .description("after the move: run the application's queries on both sides, compare answers and p95 times")
    .argument('<plan>', 'plan file')
    .option('--queries <file>', 'SQL statements ended by ";", each optionally after a "-- name: NAME" line')
    .option('--from-stats', "the source's costliest SELECTs (pg_stat_statements, performance_schema)")
    .option('--top <n>', 'with --from-stats: how many', wholeNumber(1), 10)
    .option('--runs <n>', 'timed runs per query and side, after one warm-up', wholeNumber(1), 5)
    .option('--state-dir <dir>', 'checkpoint store folder')
    .option('--json', 'machine-readable output')
    .action(
      async (
        planFile: string,
        o: { queries?: string; fromStats?: boolean; top: number; runs: number; stateDir?: string; json?: boolean },
      ) => {
        const [{ perfPlan }, { perfLines, queryLine }] = await Promise.all([
          import('../pipeline/perf/perf.js'),
          import('./perf-output.js'),
        ]);
        const listed = !o.json && tty;
        const r = await perfPlan(planFile, {
          ...o,
          log: await logger(globals()),
          onQuery: listed ? (q) => out(queryLine(q)) : undefined,
        });
        if (o.json) out(JSON.stringify(r, null, 2));
        else perfLines(r, listed).forEach((l) => out(l));
        if (!r.ok) code = EXIT.verifyMismatch;
      },
    );

  program
    .command('runs')
    .description('every run recorded in a state folder, newest first: command, plan, start, end and how it ended')
    .option('--state-dir <dir>', 'checkpoint store folder', '.ferry')
    .option('--json', 'machine-readable output')
    .action(async (o: { stateDir: string; json?: boolean }) => {
      const { listRuns } = await import('../pipeline/observe/runs.js');
      const runs = listRuns({ stateDir: o.stateDir });
      if (o.json) return out(JSON.stringify(runs, null, 2));
      const t = newTable({ head: ['run', 'command', 'plan', 'started', 'ended', 'status'] });
      for (const r of runs)
        t.push([r.id, r.command, r.planFile, r.started, r.finished ?? '', r.status + (r.error ? `: ${r.error}` : '')]);
      out(runs.length > 0 ? t.toString() : `no runs recorded in ${resolve(o.stateDir)}`);
    });

  program
    .command('report')
    .description('write the Markdown and HTML report of a run (default: the latest)')
    .argument('[run]', 'run id (with --queue: the plan file)')
    .option('--state-dir <dir>', 'checkpoint store folder', '.ferry')
    .option(
      '--queue <url>',
      "a queued run's, from a machine without its state: lay out the records the run published in its shared state in the (empty) state folder",
    )
    .option('--shared-state <url>', "with an SQS --queue: the run's shared state (redis://…)")
    .action(async (arg: string | undefined, o: { stateDir: string; queue?: string; sharedState?: string }) => {
      const fromQueue = await queuedRecords('report', arg, o, await logger(globals()));
      const { writeReport } = await import('../pipeline/observe/report.js');
      const r = writeReport({ stateDir: o.stateDir, runId: fromQueue ? undefined : arg });
      out(`report of run ${r.runId}:\n  ${r.markdown}\n  ${r.html}`);
    });

  program
    .command('test')
    .description(
      'dry run: a sample of every table into scratch tables of the real target, verified, timed, then dropped',
    )
    .argument('<plan>', 'plan file')
    .option('--sample <n>', 'rows per table', wholeNumber(1))
    .option('--percent <p>', 'a percentage of every table instead', percentage)
    .option('--keep', 'leave the scratch tables in place')
    .option('--state-dir <dir>', 'checkpoint store folder')
    .option('--json', 'machine-readable output')
    .action(
      async (
        planFile: string,
        o: { sample?: number; percent?: number; keep?: boolean; stateDir?: string; json?: boolean },
      ) => {
        if (o.sample !== undefined && o.percent !== undefined)
          throw new FerryError('PLAN_INVALID', 'give --sample or --percent, not both', 'choose one');
        const stop = new AbortController();
        stopGracefully = () => {
          stop.abort();
          process.stderr.write(
            'ferry: stopping: dropping the scratch tables first (interrupt again to stop at once; the next `ferry test` drops them then)\n',
          );
        };
        const { dryRun } = await import('../pipeline/copy/dryrun.js');
        const r = await dryRun(planFile, {
          log: await logger(globals()),
          onWarning: warning,
          stateDir: o.stateDir,
          sample: o.sample,
          percent: o.percent,
          keep: o.keep,
          signal: stop.signal,
        });
        if (o.json) out(JSON.stringify(r, null, 2));
        else printDryRun(r);
        if (!r.ok) code = EXIT.verifyMismatch;
      },
    );

  const backup = program
    .command('backup')
    .description(
      'encrypted, compressed backup of the source (and of the target tables that exist); `backup verify` checks one',
    )
    .argument('[plan]', 'plan file')
    .option('--to <location>', 'folder or s3://bucket/prefix (default: settings.backup.to)')
    .option(
      '--key-env <name>',
      'environment variable holding the key (default: settings.backup, else FERRY_BACKUP_KEY)',
    )
    .option('--key-file <path>', 'file holding the key')
    .option('--state-dir <dir>', 'checkpoint store folder')
    .action(
      async (
        planFile: string | undefined,
        o: { to?: string; keyEnv?: string; keyFile?: string; stateDir?: string },
      ) => {
        if (!planFile)
          throw new FerryError('PLAN_INVALID', 'no plan given', 'ferry backup PLAN, or ferry backup verify LOCATION');
        const { backupPlan } = await import('../pipeline/safety/backup/writer.js');
        const s = await backupPlan(planFile, {
          log: await logger(globals()),
          onWarning: warning,
          stateDir: o.stateDir,
          to: o.to,
          key: keySource(o),
          onTable: tty ? (t) => out(`${t.side} ${t.table}: ${t.rows} rows`) : undefined,
        });
        const t = newTable({ head: ['side', 'table', 'rows', 'files', 'size'] });
        for (const x of s.tables) t.push([x.side, x.table, x.rows, x.files, bytes(x.bytes)]);
        out(t.toString());
        for (const n of s.notes) out(`note: ${n}`);
        out(`backup ${s.id}: ${s.location} (${s.seconds.toFixed(1)} s)`);
      },
    );
  backup
    .command('verify')
    .description("check a backup's integrity: manifest, every file's size, hash and authentication, row counts")
    .argument('<location>', 'the folder or s3:// prefix of one backup')
    .option('--key-env <name>', 'environment variable holding the key (default FERRY_BACKUP_KEY)')
    .option('--key-file <path>', 'file holding the key')
    .action(async (location: string, _o: unknown, cmd: Command) => {
      // --key-env and --key-file are options of `backup` too: commander hands them to the parent
      const { verifyBackup } = await import('../pipeline/safety/backup/verify.js');
      const r = await verifyBackup(
        location,
        keySource(cmd.optsWithGlobals<{ keyEnv?: string; keyFile?: string }>()) ?? {},
      );
      for (const p of r.problems) out(`problem: ${p}`);
      out(
        r.ok
          ? `backup ${r.id} is intact: ${r.tables} tables, ${r.files} files, ${r.rows} rows`
          : `backup at ${r.location} cannot be trusted: ${r.problems.length} problems`,
      );
      if (!r.ok) code = EXIT.verifyMismatch;
    });

  program
    .command('restore')
    .description('load a backup into a database (any engine ferry writes to)')
    .argument('<location>', 'the folder or s3:// prefix of one backup')
    .requiredOption('--target <url>', 'database to load into (use ${env:NAME} for passwords)')
    .addOption(
      new Option('--side <side>', 'the source tables, or the target tables as they were before the run')
        .choices(['source', 'target'])
        .default('source'),
    )
    .option('--tables <names>', 'comma-separated tables (default: all)', (v) => v.split(','))
    .addOption(
      new Option('--if-exists <what>', 'when a table exists').choices(['fail', 'drop', 'truncate']).default('fail'),
    )
    .option('--key-env <name>', 'environment variable holding the key (default FERRY_BACKUP_KEY)')
    .option('--key-file <path>', 'file holding the key')
    .option('--state-dir <dir>', 'where the restore is recorded', '.ferry')
    .action(
      async (
        location: string,
        o: {
          target: string;
          side: 'source' | 'target';
          tables?: string[];
          ifExists: 'fail' | 'drop' | 'truncate';
          keyEnv?: string;
          keyFile?: string;
          stateDir: string;
        },
      ) => {
        const { restoreBackup } = await import('../pipeline/safety/restore.js');
        const r = await restoreBackup(location, {
          target: o.target,
          side: o.side,
          tables: o.tables,
          ifExists: o.ifExists,
          key: keySource(o),
          stateDir: o.stateDir,
          log: await logger(globals()),
        });
        const t = newTable({ head: ['table', 'rows'] });
        for (const x of r.tables) t.push([x.table, x.rows]);
        out(t.toString());
        out(`restore ${r.runId}: backup ${r.backupId} loaded in ${r.seconds.toFixed(1)} s`);
      },
    );

  const rollback = program
    .command('rollback')
    .description(
      'undo what a run wrote: drop the tables it created, bring back the ones it replaced from the pre-run backup',
    )
    .argument('[run]', 'run id (default: the latest run)')
    .option('--state-dir <dir>', 'checkpoint store folder', '.ferry')
    .option('--check', 'show the steps and what stands in the way; change nothing')
    .option('--force', 'roll back even when the target changed since the run')
    .option('--key-env <name>', 'environment variable holding the pre-run backup key')
    .option('--key-file <path>', 'file holding the pre-run backup key')
    .option(
      '--after-cutover',
      'the argument is a plan cut over with --reverse: switch the application back to the source with the same guarded sequence (the options below)',
    )
    .option(
      '--queue <url>',
      'the argument is the plan of a queued run, rolled back from a machine without its state: the records the run published in its shared state are laid out in the (empty) state folder',
    )
    .option('--shared-state <url>', "with an SQS --queue: the run's shared state (redis://…)");
  cutoverOptions(rollback).action(
    async (
      runId: string | undefined,
      o: CutoverFlags & {
        stateDir: string;
        check?: boolean;
        force?: boolean;
        keyEnv?: string;
        keyFile?: string;
        afterCutover?: boolean;
        queue?: string;
        sharedState?: string;
      },
    ) => {
      if (o.afterCutover) {
        if (!runId)
          throw new FerryError(
            'PLAN_INVALID',
            'ferry rollback --after-cutover needs the plan file',
            'ferry rollback --after-cutover PLAN',
          );
        const { rollbackAfterCutover } = await import('../pipeline/reverse/way-back.js');
        const c = await rollbackAfterCutover(runId, {
          log: await logger(globals()),
          onWarning: warning,
          ...cutoverSettings(o),
        });
        if (o.json) out(JSON.stringify(c, null, 2));
        else
          printCutover(
            c,
            `rolled back (run ${c.runId}): the target stays read-only; the application writes to the source again`,
          );
        return;
      }
      const log = await logger(globals());
      const fromQueue = await queuedRecords('rollback', runId, o, log);
      const { rollbackRun } = await import('../pipeline/safety/rollback.js');
      const r = await rollbackRun({
        stateDir: o.stateDir,
        runId: fromQueue ? undefined : runId,
        check: o.check,
        force: o.force,
        key: keySource(o),
        log,
      });
      // the rollback where the coordinator and other machines see it
      if (fromQueue && r.done) await fromQueue.published(r.runId);
      const t = newTable({ head: ['table', 'step', 'why', 'in the way'] });
      for (const s of r.steps) t.push([s.table, s.action, s.reason, s.blocker ?? '']);
      out(t.toString());
      out(
        r.done
          ? `rollback ${r.runId}: undid run ${r.runs.join(', ')}`
          : `rollback --check: nothing was changed${r.steps.some((s) => s.blocker) ? '; --force is needed' : ''}`,
      );
      // a check that finds something in the way (the target changed since the run, a backup missing) fails
      if (!r.done && r.steps.some((s) => s.blocker)) code = EXIT.verifyMismatch;
    },
  );

  program
    .command('audit')
    .description('the audit logs of runs')
    .command('verify')
    .description('check that audit logs are intact (every line chained by hash to the one before, nothing cut off)')
    .argument('[run]', 'run id (default: every run)')
    .option('--state-dir <dir>', 'checkpoint store folder', '.ferry')
    .action(async (runId: string | undefined, o: { stateDir: string }) => {
      const [{ StateStore }, { verifyAudit }] = await Promise.all([
        import('../pipeline/session/checkpoints.js'),
        import('../pipeline/safety/audit.js'),
      ]);
      const state = new StateStore(resolve(o.stateDir), { existing: true });
      try {
        const checks = verifyAudit(state, runId);
        for (const c of checks)
          out(c.ok ? `${c.run}: intact, ${c.lines} lines` : `${c.run}: BROKEN: ${c.problem} (${c.file})`);
        if (checks.length === 0) out(`no audit logs in ${state.dir}`);
        if (checks.some((c) => !c.ok)) code = EXIT.verifyMismatch;
      } finally {
        state.close();
      }
    });

  program
    .command('demo')
    .description('the whole lifecycle on a generated sample SQLite database, into an embedded SQLite target')
    .option('--dir <dir>', 'working folder', 'ferry-demo')
    .action(async (o: { dir: string }) => {
      const [
        { createDemoDatabase },
        { assess, makePlan, planNotes },
        { planToYaml },
        { runPlan },
        { verifyPlan },
        { writeReport },
      ] = await Promise.all([
        import('../pipeline/demo/sample-shop.js'),
        import('../pipeline/plan/assess.js'),
        import('../core/plan.js'),
        import('../pipeline/copy/run.js'),
        import('../pipeline/verify/verify.js'),
        import('../pipeline/observe/report.js'),
      ]);
      const dir = resolve(o.dir);
      const source = join(dir, 'shop.db');
      const target = join(dir, 'shop-migrated.db');
      let counts: Record<string, number>;
      try {
        counts = createDemoDatabase(source);
      } catch (e) {
        throw fileError(e, `cannot write the sample database ${source}`, 'choose another folder with --dir');
      }
      // a demo starts afresh: no target and no state from an earlier demo
      for (const stale of [target, `${target}-wal`, `${target}-shm`, join(dir, '.ferry')])
        rmSync(stale, { recursive: true, force: true });
      out(
        `sample database ${source}: ${Object.entries(counts)
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')}\n`,
      );
      const log = await logger(globals());
      out('== assess');
      printAssessment(await assess({ source: `sqlite:${source}`, target: `sqlite:${target}`, log }));
      out('\n== plan');
      const planFile = join(dir, 'ferry.plan.yaml');
      const plan = await makePlan({
        source: `sqlite:${source}`,
        target: `sqlite:${target}`,
        ifExists: 'drop',
        rowsPerChunk: 500,
        log,
      });
      plan.settings.stateDir = join(dir, '.ferry');
      writeFileSync(planFile, planToYaml(plan, '', planNotes(plan)));
      out(`plan written to ${planFile}`);
      out('\n== run');
      printRun(await runPlan(planFile, { log }), planFile);
      out('\n== verify');
      const v = await verifyPlan(planFile, { log });
      printVerify(v);
      out('\n== report');
      const r = writeReport({ stateDir: plan.settings.stateDir });
      out(`report: ${r.html}\n        ${r.markdown}`);
      if (!v.ok) code = EXIT.verifyMismatch;
    });

  program
    .command('schema')
    .description("print the plan's JSON Schema")
    .action(async () => {
      const { planJsonSchema } = await import('../core/plan.js');
      out(JSON.stringify(planJsonSchema(), null, 2));
    });

  try {
    await program.parseAsync(argv);
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (typeof err.code === 'string' && err.code.startsWith('commander.'))
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw e;
  }
  return code;
}

/** Starts the dashboard and says where it is; a token made for it is printed here and nowhere else. */
async function serveDashboard(
  o: { listen: string; token?: boolean; stateDir: string },
  live: boolean,
  log: Logger,
  say: (line: string) => void,
): Promise<Dashboard> {
  const { newToken, startDashboard } = await import('../pipeline/observe/dashboard/server.js');
  const token = o.token ? newToken() : undefined;
  const dashboard = await startDashboard({
    listen: o.listen,
    stateDir: o.stateDir,
    live,
    log,
    ...(token ? { token } : {}),
  });
  say(
    token
      ? `dashboard: ${dashboard.url}?token=${token} (the token is shown this once; /metrics takes it as Authorization: Bearer)`
      : `dashboard: ${dashboard.url} (metrics at ${dashboard.url}metrics)`,
  );
  return dashboard;
}

/** Until Ctrl-C or SIGTERM: what a command that serves waits for. */
function untilStopped(): Promise<void> {
  return new Promise((ok) => (stopGracefully = ok));
}

/** A command that stops cleanly on a signal sets this; without it a signal ends ferry at once. */
let stopGracefully: (() => void) | undefined;
/** What ends a command's progress lines and what it says when a signal ends it at once. */
let onInterrupt: { endLines: () => void; note: string } | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  const stop = stopGracefully;
  stopGracefully = undefined;
  if (stop) return stop();
  onInterrupt?.endLines();
  // never an exit without a word: a signal can come before a command has said what it would do
  // (a `run --follow` stopped while it starts: exit 130, and no output at all, before)
  process.stderr.write(
    `ferry: ${onInterrupt?.note ?? `stopped by ${signal} before the command finished: run it again to do what is left`}\n`,
  );
  process.exit(EXIT.interrupted);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

main(process.argv).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof FerryError) {
      process.stderr.write(redact(`ferry: ${e.oneLine()}`) + '\n');
      process.exit(exitCodeOf(e));
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(redact(`ferry: unexpected error: ${msg} (run with --log-level debug for details)`) + '\n');
    if (process.env.FERRY_LOG_LEVEL === 'debug' && e instanceof Error)
      process.stderr.write(redact(e.stack ?? '') + '\n');
    process.exit(EXIT.failed);
  },
);
