// `ferry run PLAN`: create the target tables, copy chunk by chunk under one consistent
// source snapshot, in parallel within the plan's limits, recording every chunk so that a
// run killed at any instant resumes and finishes with exactly one copy of every row.
import { join, resolve } from 'node:path';
import type { ChangeLog, ReadView } from '../../core/contracts.js';
import { addDigests, digestFingerprint } from '../../core/digest.js';
import { FerryError } from '../../core/errors.js';
import { stateStringify } from '../../core/values.js';
import type { AuditLog } from '../safety/audit.js';
import { backupSession, keySourceOf } from '../safety/backup/writer.js';
import { fingerprintOf, tableHeld } from '../safety/fingerprint.js';
import type { TableMapping } from '../plan/mapping.js';
import { ScheduleGate, systemClock, type Clock } from './schedule.js';
import { asCommand, type CommandEnd, type CommandRun } from '../session/command.js';
import { holdingPlan } from '../session/lock.js';
import { lockRequest, openSession, type Session, type SessionOptions } from '../session/session.js';
import { writePrivateFile } from '../session/private-files.js';
import type { ChunkState, RunRecord } from '../session/checkpoints.js';
import { copyRecordedChunk, type CopyPath } from './chunk.js';
import type { RunEvent } from './events.js';
import { preflight } from './preflight.js';
import { withRetries } from './retry.js';
import { boundsOf } from './bounds.js';
import { Throttle } from './throttle.js';
import { followChanges, followedChangeLog, type FollowSummary } from '../follow/follow.js';
import { refuseOrphans } from '../plan/orphans.js';
import { redact } from '../../core/secrets.js';
import type { ChunkQueue } from '../queue/chunk-queue.js';
import { chunkJobMessage } from '../queue/job.js';

/** Chunk jobs a queued run keeps on the queue at once: enough for many workers, few enough for its schedule and throttles to act. */
const QUEUED_IN_FLIGHT = 64;

export type { RunEvent } from './events.js';

export interface RunOptions extends SessionOptions {
  onEvent?: (e: RunEvent) => void;
  /** then follow the source's live changes until `signal` stops it (`ferry run --follow`) */
  follow?: boolean;
  /** stops following: the batch of changes in hand is applied first */
  signal?: AbortSignal;
  /** the time the schedule window and the throttles go by (tests inject one) */
  clock?: Clock;
  /** the chunks are copied by `ferry worker`s on this queue (queue/address.ts); this process coordinates */
  queue?: string;
  /** with an SQS `queue`: the run's shared state, the Redis URL its function has as FERRY_STATE */
  sharedState?: string;
  /** with `queue`: chunk jobs started per second across all workers, at most */
  chunksPerSecond?: number;
}

/** The run's audit log and the plan's latency controls, shared by its steps. */
interface Controls {
  audit: AuditLog;
  /** waits while outside the plan's schedule windows */
  gate?: ScheduleGate;
  throttle?: Throttle;
  /** chunks copied at once: the plan's parallelism within its source connection limit and the run's bounds */
  workers: number;
  /** rows per batch: the plan's, within the run's bounds */
  batchRows: number;
  /** a queued run's queue: workers copy the chunks */
  queue?: ChunkQueue;
}

export interface TableSummary {
  table: string;
  /** rows the target holds: copied by this run and by the earlier runs it resumed */
  rows: number;
  /** rows this run copied itself */
  copied: number;
  /** chunks earlier runs had copied, which this run did not copy again */
  resumedChunks: number;
  rejects: number;
  /** this run's time on the table (prepare, copy, indexes, foreign keys) */
  seconds: number;
}

export interface RunSummary {
  runId: string;
  planHash: string;
  stateDir: string;
  tables: TableSummary[];
  /** rows this run copied itself */
  copied: number;
  /** what earlier runs had copied: this run resumed after it */
  resumed: { chunks: number; rows: number };
  rejects: number;
  rejectFiles: string[];
  seconds: number;
  /** set when the plan was finished already: this call started no run (`finishedBy`: the run that finished it) */
  nothingToDo?: { finishedBy?: RunRecord };
  /** what following live changes applied, when the run followed them */
  follow?: FollowSummary;
}

/** Runs (or resumes) a plan. */
export async function runPlan(planFile: string, opts: RunOptions = {}): Promise<RunSummary> {
  // a queued run's shared state is named before anything is connected to (ioredis loads only for one)
  const stateUrl = opts.queue
    ? (await import('../queue/address.js')).sharedStateUrl(opts.queue, opts.sharedState)
    : undefined;
  const session = await openSession(planFile, opts);
  try {
    return await holdingPlan(lockRequest(session, 'run'), () => runHeld(session, planFile, opts, stateUrl));
  } finally {
    await session.close();
  }
}

/** runPlan with the plan's lock held. */
async function runHeld(
  session: Session,
  planFile: string,
  opts: RunOptions,
  stateUrl: string | undefined,
): Promise<RunSummary> {
  const { state, hash, plan } = session;
  const all = session.waves.flat();
  const records = stateUrl ? await import('../queue/run-records.js') : undefined;
  if (records && stateUrl) await records.refuseRolledBackElsewhere(state, hash, stateUrl, session.log);
  // a finished plan is not run again, and its last run stays the latest (report, rollback)
  if (!opts.follow && all.every((m) => state.tableStatus(hash, m.target.name) === 'linked')) {
    const finishedBy = state
      .runsOf(hash, 'run')
      .filter((r) => r.status.startsWith('done'))
      .at(-1);
    const summary = summarize(session, finishedBy?.id ?? '', all, performance.now());
    return { ...summary, rejectFiles: [], nothingToDo: { finishedBy } };
  }
  if (opts.queue) refuseQueued(session, opts);
  // a plan that cannot be followed is refused before a run starts
  const changeLog = opts.follow ? followedChangeLog(session) : undefined;
  const details = {
    planFile,
    source: plan.source.url,
    target: plan.target.url,
    ifExists: plan.target.ifExists,
    settings: plan.settings,
  };
  try {
    return await asCommand(
      { state, plan: { hash, file: planFile }, command: 'run', log: session.log, details },
      (run) => copyPlan(session, run, opts, changeLog),
    );
  } finally {
    // however the run ended, its records where report and rollback on other machines find them
    if (records && stateUrl)
      await records
        .publishRunRecords(state, hash, stateUrl, session.log)
        .catch((e: unknown) => session.log.warn({ err: (e as Error).message }, 'the run records were not published'));
  }
}

/** The run proper: checks, the backup before the first write, then every table, chunk by chunk. */
async function copyPlan(
  session: Session,
  run: CommandRun,
  opts: RunOptions,
  changeLog: ChangeLog | undefined,
): Promise<CommandEnd<RunSummary>> {
  const { state, hash, plan } = session;
  const { id: runId, audit } = run;
  const all = session.waves.flat();
  const emit = opts.onEvent ?? (() => {});
  const t0 = performance.now();
  const rowsByTable = new Map<string, number>();
  const clock = opts.clock ?? systemClock;
  const ctl: Controls = {
    audit,
    gate: plan.settings.schedule
      ? new ScheduleGate(
          plan.settings.schedule.windows,
          clock,
          (until) => {
            audit.record('paused', { reason: 'outside the schedule windows', until: until?.toISOString() });
            emit({ type: 'paused', until: until?.toISOString() });
          },
          () => {
            audit.record('resumed', { reason: 'a schedule window opened' });
            emit({ type: 'resumed' });
          },
        )
      : undefined,
    throttle: Throttle.of(plan.settings.throttle, clock),
    workers: 1,
    batchRows: plan.settings.batchRows,
  };
  let view: ReadView | undefined;
  try {
    state.setPlanTarget(hash, plan.target.url, plan.target.options);
    const findings = await preflight(session);
    if (changeLog) findings.push(...(await changeLog.check(all.map((m) => m.source))));
    state.addFindings(runId, findings);
    const blocking = findings.filter((f) => f.severity === 'error');
    audit.record('checked', {
      errors: blocking.length,
      warnings: findings.filter((f) => f.severity === 'warning').length,
    });
    if (blocking.length > 0)
      throw new FerryError(
        'UNSUPPORTED',
        `the plan cannot run: ${blocking[0]!.message}${blocking.length > 1 ? ` (and ${blocking.length - 1} more)` : ''}`,
        blocking[0]!.action,
      );
    const bounds = await boundsOf(session, (line) => {
      audit.record('setting lowered', { reason: line });
      opts.onWarning?.(line);
    });
    ctl.workers = bounds.workers;
    ctl.batchRows = bounds.batchRows;
    if (opts.queue) {
      // bullmq and ioredis only for a queued run: loading them costs a run about 0.3 s of CPU
      const { openChunkQueue } = await import('../queue/chunk-queue.js');
      ctl.queue = await openChunkQueue(opts.queue, opts.sharedState, session.log);
      await ctl.queue.begin(hash, runId);
      await ctl.queue.limitRate(opts.chunksPerSecond);
      audit.record('queue opened', { queue: redact(opts.queue), chunksPerSecond: opts.chunksPerSecond ?? null });
    }

    // following a plan whose copy is in: only the changes are left
    const copied = all.every((m) => state.tableStatus(hash, m.target.name) === 'linked');
    if (!copied) view = await copyTables(session, run, ctl, changeLog, emit, rowsByTable, clock);
    await view?.release();
    view = undefined;
    const summary = { ...summarize(session, runId, all, t0), rejectFiles: writeRejectFiles(session, all) };
    if (changeLog) summary.follow = await followChanges(session, run, changeLog, opts);
    await ctl.queue?.close(hash, { phase: 'done' });
    ctl.queue = undefined;
    return {
      result: summary,
      status: summary.rejects > 0 ? 'done-with-rejects' : 'done',
      details: {
        rows: summary.tables.reduce((n, t) => n + t.rows, 0),
        copied: summary.copied,
        rejects: summary.rejects,
        seconds: Math.round(summary.seconds * 1000) / 1000,
        ...(summary.follow ? { follow: summary.follow } : {}),
      },
    };
  } catch (e) {
    // close() never throws: the shared state says how the run ended whatever follows
    await ctl.queue?.close(hash, { phase: 'failed', error: e instanceof FerryError ? e.oneLine() : String(e) });
    ctl.queue = undefined;
    writeRejectFiles(session, all);
    throw e instanceof FerryError && e.code === 'SNAPSHOT_LOST' ? keptOfTheRun(session, e) : e;
  } finally {
    await view?.release().catch(() => {});
  }
}

/**
 * A queued run needs a source whose snapshot other processes can read (PostgreSQL); refused in
 * one line before the run starts otherwise.
 */
function refuseQueued(session: Session, opts: RunOptions): void {
  if (opts.follow)
    throw new FerryError(
      'UNSUPPORTED',
      '--follow cannot be combined with --queue yet',
      'copy with --queue, then follow with `ferry run PLAN --follow`',
    );
  if (session.source.kind === 'mysql')
    throw new FerryError(
      'UNSUPPORTED',
      'a queued run of a MySQL source needs the CDC handoff (workers on other connections cannot share its snapshot), which ferry does not do yet',
      'run the plan without --queue',
    );
  if (!session.reader.importView)
    throw new FerryError(
      'UNSUPPORTED',
      `a queued run needs a source whose snapshot workers can share, and a ${session.source.kind} source cannot`,
      'run the plan without --queue',
    );
}

/**
 * The copy: the backup before the first write, one consistent view (at a position of the change
 * log when following), every table chunk by chunk, then the foreign keys. Returns the view, for
 * the caller to release.
 */
async function copyTables(
  session: Session,
  run: CommandRun,
  ctl: Controls,
  changeLog: ChangeLog | undefined,
  emit: (e: RunEvent) => void,
  rowsByTable: Map<string, number>,
  clock: Clock,
): Promise<ReadView> {
  const { state, hash, plan } = session;
  const { id: runId, audit } = run;
  const all = session.waves.flat();
  let view: ReadView | undefined;
  try {
    await ctl.gate?.wait();
    const backup = plan.settings.backup;
    // before the first write only: a resumed run would back up its own partial copy
    if (backup?.before && all.every((m) => !state.tableStatus(hash, m.target.name)))
      await backupSession(session, {
        runId,
        audit,
        purpose: 'before-run',
        to: backup.to,
        key: keySourceOf(plan.settings),
        clock,
        bounds: ctl,
      });
    if (changeLog) {
      // the changes after this position are those the copy does not see
      const at = await changeLog.snapshot(
        all.map((m) => m.source),
        ctl.workers,
      );
      view = at.view;
      state.setStreamStart(hash, at.position);
      audit.record('snapshot taken', { readers: ctl.workers, position: at.position });
    } else {
      view = await session.reader.snapshot(ctl.workers);
      audit.record('snapshot taken', { readers: ctl.workers });
    }
    await refuseOrphans(all, session.reader, view, ctl.batchRows);
    const tables = all.map((m) => {
      const done = state.chunks(hash, m.target.name).filter((c) => c.status === 'done');
      return {
        name: m.target.name,
        rowsEstimate: m.plan.rowEstimate ?? 0,
        rowsDone: done.reduce((n, c) => n + c.rows, 0),
        chunksDone: done.length,
      };
    });
    const resumed = tables.reduce((n, t) => n + t.chunksDone, 0);
    if (resumed > 0) audit.record('resumed', { chunks: resumed, rows: tables.reduce((n, t) => n + t.rowsDone, 0) });
    emit({ type: 'start', runId, tables });
    const path: CopyPath = {
      source: session.reader,
      target: session.writer,
      view,
      batchRows: ctl.batchRows,
      log: session.log,
      retries: plan.settings.retries,
      throttle: ctl.throttle,
      onRows: (table, rows) => emit({ type: 'progress', table, rows }),
    };
    await copyAll(session, runId, path, emit, rowsByTable, ctl);
    // the tables' foreign keys at once, as many tables as chunks are copied at once
    const unlinked = all.filter((m) => state.tableStatus(hash, m.target.name) !== 'linked');
    let failure: unknown;
    const linker = async () => {
      for (let m = unlinked.shift(); m && failure === undefined; m = unlinked.shift()) {
        const table = m.target;
        try {
          await timed(session, runId, table.name, 'foreign keys', emit, () =>
            withRetries(`${table.name} foreign keys`, session.log, plan.settings.retries, () =>
              session.writer.addForeignKeys(table),
            ),
          );
        } catch (e) {
          failure ??= e;
          return;
        }
        state.setTableStatus(hash, table.name, 'linked');
        audit.record('foreign keys added', { table: table.name, foreignKeys: table.foreignKeys.length });
        emit({ type: 'table-done', table: table.name });
      }
    };
    await Promise.all(Array.from({ length: ctl.workers }, linker));
    if (failure !== undefined) throw failure;
    return view;
  } catch (e) {
    await view?.release().catch(() => {});
    throw e;
  }
}

async function timed<T>(
  session: Session,
  runId: string,
  table: string,
  phase: string,
  emit: (e: RunEvent) => void,
  fn: () => Promise<T>,
  rows = 0,
): Promise<T> {
  emit({ type: 'phase', table, phase });
  const started = Date.now();
  const out = await fn();
  session.state.addPhase(runId, { table, phase, started, finished: Date.now(), rows });
  return out;
}

async function prepareTable(
  session: Session,
  runId: string,
  m: TableMapping,
  view: ReadView,
  emit: (e: RunEvent) => void,
  ctl: Controls,
): Promise<void> {
  const { state, hash, plan } = session;
  const name = m.target.name;
  if (!state.tableStatus(hash, name)) {
    // recorded before the table is touched, for rollback: did this run create it, or replace one?
    const existed = await tableHeld(session.target, m.target);
    const action = !existed ? 'created' : plan.target.ifExists === 'truncate' ? 'truncated' : 'replaced';
    if (!existed || plan.target.ifExists !== 'fail')
      state.recordTableWrite(hash, { name, runId, action, definition: m.target });
    await timed(session, runId, name, 'prepare', emit, () => session.writer.prepare(m.target, plan.target.ifExists));
    state.setTableStatus(hash, name, 'prepared');
    ctl.audit.record('table prepared', { table: name, action });
  }
  if (state.chunks(hash, name).length === 0) {
    const ranges =
      m.source.key.length > 0 ? await session.reader.split(m.source, m.plan.chunking.rowsPerChunk, view) : [{}];
    state.addChunks(hash, name, ranges.length > 0 ? ranges : [{}]);
  }
}

/**
 * Prepares and splits the tables wave by wave in foreign-key order, and copies every pending
 * chunk as soon as its table is split (the next tables are split while the first ones copy),
 * without a barrier between waves (foreign keys come after all the data): a table's indexes
 * are built as soon as its last chunk is in, while the next tables copy.
 */
async function copyAll(
  session: Session,
  runId: string,
  path: CopyPath,
  emit: (e: RunEvent) => void,
  rowsByTable: Map<string, number>,
  ctl: Controls,
): Promise<void> {
  const { state, hash, plan } = session;
  const tables = session.waves.flat();
  const queue: { m: TableMapping; chunk: ChunkState }[] = [];
  const copyStart = new Map<string, number>();
  const remaining = new Map<string, number>();
  const finishing: Promise<void>[] = [];
  let failure: unknown;
  const tableCopied = (m: TableMapping) => {
    if (state.tableStatus(hash, m.target.name) === 'prepared') state.setTableStatus(hash, m.target.name, 'copied');
    // a table whose indexes fail stops the run as a chunk that fails does (caught here: it is
    // awaited only once the chunks are done, and meanwhile would be an unhandled rejection)
    finishing.push(
      finishTable(session, runId, m, emit, ctl).catch((e: unknown) => {
        failure ??= e;
      }),
    );
  };
  let preparing = true;
  const idle: (() => void)[] = [];
  const wake = () => idle.splice(0).forEach((w) => w());
  const prepared = (async () => {
    try {
      for (const m of tables) {
        if (failure !== undefined) break;
        await prepareTable(session, runId, m, path.view, emit, ctl);
        const chunks = state.chunks(hash, m.target.name);
        const pending = chunks.filter((c) => c.status !== 'done');
        emit({ type: 'chunks', table: m.target.name, chunks: chunks.length, done: chunks.length - pending.length });
        await ctl.queue?.shared.tableSplit(hash, m.target.name, chunks.length);
        if (pending.length > 0) remaining.set(m.target.name, pending.length);
        for (const chunk of pending) queue.push({ m, chunk });
        wake();
      }
    } catch (e) {
      failure ??= e;
    } finally {
      preparing = false;
      wake();
    }
  })();
  const worker = async () => {
    while (failure === undefined) {
      if (queue.length === 0) {
        if (!preparing) break;
        await new Promise<void>((resolve) => idle.push(resolve));
        continue;
      }
      // outside the schedule, wait here: between chunks, never inside one
      if (ctl.gate) await ctl.gate.wait();
      if (queue.length === 0 || failure !== undefined) continue;
      const { m, chunk } = queue.shift()!;
      const name = m.target.name;
      if (!copyStart.has(name)) {
        copyStart.set(name, Date.now());
        emit({ type: 'phase', table: name, phase: 'copy' });
      }
      try {
        const rows = ctl.queue
          ? await queuedChunk(session, runId, m, chunk, path, ctl, ctl.queue)
          : await copyPlannedChunk(session, runId, m, chunk, path, ctl);
        rowsByTable.set(name, (rowsByTable.get(name) ?? 0) + rows);
        const spent = state.rejectCount(hash);
        if (spent > plan.settings.maxRejects)
          throw new FerryError(
            'ERROR_BUDGET_SPENT',
            `${spent} rows were rejected and the plan allows ${plan.settings.maxRejects}; the last in ${name}`,
            `see the reject files in ${join(state.dir, 'rejects')}, fix the data or the plan (or raise settings.maxRejects), then run again to resume`,
          );
        remaining.set(name, remaining.get(name)! - 1);
        if (remaining.get(name) === 0) {
          state.addPhase(runId, {
            table: name,
            phase: 'copy',
            started: copyStart.get(name)!,
            finished: Date.now(),
            rows: rowsByTable.get(name) ?? 0,
          });
          tableCopied(m);
        }
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all([prepared, ...Array.from({ length: ctl.queue ? QUEUED_IN_FLIGHT : ctl.workers }, worker)]);
  if (failure === undefined) await ctl.queue?.shared.afterData(hash);
  await Promise.all(finishing);
  if (failure !== undefined) throw failure;
  // tables whose chunks were all done in an earlier run, but not yet finished
  for (const m of tables) if (!remaining.has(m.target.name)) tableCopied(m);
  await Promise.all(finishing);
  if (failure !== undefined) throw failure;
}

/** Copies one chunk of the plan through the one copy path, recording it in the checkpoint store and the audit log. */
async function copyPlannedChunk(
  session: Session,
  runId: string,
  m: TableMapping,
  chunk: ChunkState,
  path: CopyPath,
  ctl: Controls,
): Promise<number> {
  const result = await copyRecordedChunk(path, session.state, {
    planHash: session.hash,
    runId,
    m,
    idx: chunk.idx,
    range: chunk.range,
    // a chunk that was started before may have committed in the target: replace it
    replace: chunk.attempts > 0,
  });
  ctl.audit.record('chunk written', {
    table: m.target.name,
    chunk: chunk.idx,
    rows: result.rows,
    rejects: result.rejects.length,
    replaced: chunk.attempts > 0,
    as: result.as,
  });
  return result.rows;
}

/**
 * Has a queue's worker copy one chunk (queue/job.ts `executeChunkJob`, the same copy path), and
 * records what the shared store says of it in the run's own store and audit log.
 */
async function queuedChunk(
  session: Session,
  runId: string,
  m: TableMapping,
  chunk: ChunkState,
  path: CopyPath,
  ctl: Controls,
  queue: ChunkQueue,
): Promise<number> {
  const { state, hash, plan } = session;
  const name = m.target.name;
  state.startChunk(hash, name, chunk.idx);
  try {
    const done = await queue.copy(
      chunkJobMessage({
        plan: { file: resolve(session.planFile), hash },
        source: plan.source.url,
        target: plan.target.url,
        runId,
        table: name,
        chunk: chunk.idx,
        range: chunk.range,
        snapshot: path.view.exported!,
        batchRows: path.batchRows,
        replace: chunk.attempts > 0,
      }),
      (rows) => path.onRows?.(name, rows),
    );
    state.finishChunk(hash, name, chunk.idx, done.runId, done.rows, done.rejects, done.digest);
    ctl.audit.record('chunk written', {
      table: name,
      chunk: chunk.idx,
      rows: done.rows,
      rejects: done.rejects.length,
      replaced: chunk.attempts > 0 || done.attempts > 1,
      attempts: done.attempts,
      by: 'queue',
    });
    return done.rows;
  } catch (e) {
    state.failChunk(hash, name, chunk.idx, e instanceof FerryError ? e.oneLine() : String((e as Error).message));
    throw e;
  }
}

async function finishTable(
  session: Session,
  runId: string,
  m: TableMapping,
  emit: (e: RunEvent) => void,
  ctl: Controls,
): Promise<void> {
  const { state, hash } = session;
  if (state.tableStatus(hash, m.target.name) !== 'copied') return;
  const afterData = session.target.capabilities.afterData ?? { finish: 'indexes', foreignKeys: true };
  await timed(session, runId, m.target.name, afterData.finish, emit, () =>
    withRetries(`${m.target.name} indexes`, session.log, session.plan.settings.retries, () =>
      session.writer.finishTable(m.target),
    ),
  );
  // what the table holds as the run leaves it: rollback refuses to drop a table changed since;
  // from the chunks' digests where the target gave them (reading the table again costs a scan)
  const digests = state.chunkDigests(hash, m.target.name);
  const fingerprint = !session.writer.drop
    ? undefined
    : digests
      ? digestFingerprint(addDigests(digests))
      : await fingerprintOf(session.target, m.target, ctl.batchRows);
  const analyze = session.writer.analyze?.bind(session.writer);
  if (analyze)
    await timed(session, runId, m.target.name, 'analyze', emit, () =>
      withRetries(`${m.target.name} statistics`, session.log, session.plan.settings.retries, () => analyze(m.target)),
    );
  state.setFingerprint(hash, m.target.name, fingerprint);
  state.setTableStatus(hash, m.target.name, 'finished');
  ctl.audit.record('table finished', {
    table: m.target.name,
    ...(fingerprint ? { rows: fingerprint.rows, fingerprint: fingerprint.hash } : {}),
  });
  // a target without foreign keys has nothing left to do for the table
  if (!afterData.foreignKeys) {
    state.setTableStatus(hash, m.target.name, 'linked');
    emit({ type: 'table-done', table: m.target.name });
  }
}

/** A snapshot lost in the middle of a run: what the run kept, and what running it again means for consistency. */
function keptOfTheRun(session: Session, e: FerryError): FerryError {
  const done = session.waves
    .flat()
    .reduce(
      (n, m) => n + session.state.chunks(session.hash, m.target.name).filter((c) => c.status === 'done').length,
      0,
    );
  return new FerryError(
    e.code,
    `${e.message}; the ${done === 1 ? 'chunk' : `${done} chunks`} copied so far ${done === 1 ? 'is' : 'are'} kept`,
    'run the same command to copy the rest from a new snapshot (the chunks copied before and after it then come from two different moments of the source)',
    { cause: e },
  );
}

/**
 * One file per table with rejects, a line per row: as the state store keeps it (transformed
 * columns transformed), named by the columns of the side that refused it.
 */
function writeRejectFiles(session: Session, tables: TableMapping[]): string[] {
  const files: string[] = [];
  for (const m of tables) {
    const rejects = session.state.rejects(session.hash, m.target.name);
    if (rejects.length === 0) continue;
    const file = join(session.state.folder('rejects'), `${m.target.name}.ndjson`);
    const columns = {
      mapping: m.source.columns.map((c) => c.name),
      target: m.target.columns.map((c) => c.name),
    };
    writePrivateFile(
      file,
      rejects
        .map(
          (r) =>
            stateStringify({
              chunk: r.chunk,
              refusedBy: r.refusedBy,
              reason: r.reason,
              columns: columns[r.refusedBy],
              row: r.row,
            }) + '\n',
        )
        .join(''),
    );
    files.push(file);
  }
  return files;
}

function summarize(
  session: Session,
  runId: string,
  tables: TableMapping[],
  t0: number,
): Omit<RunSummary, 'rejectFiles'> {
  const { state, hash } = session;
  const phases = state.phases(runId);
  let resumedRows = 0;
  const summary = tables.map((m) => {
    const chunks = state.chunks(hash, m.target.name);
    const own = phases.filter((p) => p.table === m.target.name);
    const resumed = chunks.filter((c) => c.status === 'done' && c.runId !== runId);
    resumedRows += resumed.reduce((n, c) => n + c.rows, 0);
    return {
      table: m.target.name,
      rows: chunks.reduce((n, c) => n + c.rows, 0),
      copied: chunks.reduce((n, c) => n + (c.runId === runId ? c.rows : 0), 0),
      resumedChunks: resumed.length,
      rejects: chunks.reduce((n, c) => n + c.rejects, 0),
      seconds: own.reduce((s, p) => s + (p.finished - p.started) / 1000, 0),
    };
  });
  return {
    runId,
    planHash: hash,
    stateDir: state.dir,
    tables: summary,
    copied: summary.reduce((n, t) => n + t.copied, 0),
    resumed: { chunks: summary.reduce((n, t) => n + t.resumedChunks, 0), rows: resumedRows },
    rejects: summary.reduce((n, t) => n + t.rejects, 0),
    seconds: (performance.now() - t0) / 1000,
  };
}
