// `ferry run PLAN --follow`, once the copy is in: every change the source commits after the copy's
// snapshot is mapped as the copy maps rows and applied to the target in commit order, in batches
// that never split a source transaction. The target stores each batch's position with its changes
// (Target.applyChanges); the source is told only then that it may forget them. Killed at any
// instant, the same command streams again from the position the target holds.
import { createHash } from 'node:crypto';
import { UNCHANGED, type ChangeTransaction, type RowChange, type TargetChange } from '../../core/changes.js';
import type {
  AppliedChange,
  ChangeLog,
  ChangeLogSettings,
  ChangeStream,
  StreamedColumns,
} from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Plan } from '../../core/plan.js';
import { rejectedRow } from '../../core/rejected-row.js';
import { canonicalText } from '../../core/values.js';
import type { RunEvent } from '../copy/events.js';
import { withRetries } from '../copy/retry.js';
import type { TableMapping } from '../plan/mapping.js';
import { CutoverWatch } from './cutover-watch.js';
import { TouchedChunks } from './touched.js';
import type { RejectRecord, StreamCount } from '../session/checkpoints.js';
import type { CommandRun } from '../session/command.js';
import type { Session } from '../session/session.js';
import { addColumns, withAddedColumns } from './added-columns.js';
import { boundHeap } from './heap.js';

export interface FollowOptions {
  /** stops following (SIGTERM, SIGINT): the batch in hand is applied and acknowledged first */
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
}

export interface FollowSummary {
  /** source transactions applied (heartbeats left out) */
  transactions: number;
  /** row changes applied */
  changes: number;
  /** row changes refused (a value the target cannot hold), recorded with their reasons */
  rejects: number;
  /** the position the target holds when following stops */
  position: string;
  /** following stopped because the plan was cut over (`ferry cutover`) */
  cutOver?: boolean;
  /** columns added to followed tables on the source, and to the target, in one line each */
  addedColumns: string[];
}

/** How one table's changes become the target's: its mapping, and where its primary key is. */
interface Followed {
  m: TableMapping;
  key: number[];
}

/** A table's mapping as live changes are applied to it. */
function followed(m: TableMapping): Followed {
  return { m, key: m.target.primaryKey.map((k) => m.target.columns.findIndex((c) => c.name === k)) };
}

/** The tables of a plan as live changes are applied to them; one line for what cannot be followed. */
function followedTables(mappings: TableMapping[]): Map<string, Followed> {
  const out = new Map<string, Followed>();
  for (const m of mappings) {
    if (m.target.primaryKey.length === 0)
      throw new FerryError(
        'UNSUPPORTED',
        `${m.target.name} has no primary key in the plan: its live changes cannot be applied (a change must name the row it changes)`,
        'give the table a primary key in the plan (a unique key of the source), or leave it out of a plan you follow',
      );
    if (m.plan.where)
      throw new FerryError(
        'UNSUPPORTED',
        `${m.source.name} is copied with a row filter (where): its live changes cannot be filtered the same way`,
        'leave the filter out of a plan you follow, or the table out of the plan',
      );
    out.set(m.source.name, followed(m));
  }
  return out;
}

/** What the stream is told of each followed table's columns: those the plan leaves out, those added while followed. */
function streamedColumns(session: Session, list: Followed[]): Map<string, StreamedColumns> {
  const added = session.state.followedColumns(session.hash);
  return new Map(
    list.map(({ m }) => [
      m.source.name,
      {
        leftOut: m.plan.columns.filter((c) => c.exclude).map((c) => c.source),
        added: added.filter((a) => a.table === m.source.name).map((a) => a.column.source),
      },
    ]),
  );
}

/** What the source keeps for a plan's stream, by the plan's cdc section or named after the plan. */
export function changeLogSettings(session: Session): ChangeLogSettings {
  return changeLogSettingsOf(session.hash, session.plan.cdc);
}

/** changeLogSettings of a plan known by its hash and cdc section (rollback has no session) */
export function changeLogSettingsOf(hash: string, cdc: Plan['cdc']): ChangeLogSettings {
  const name = `ferry_${hash}`;
  return {
    slot: cdc?.slot ?? name,
    publication: cdc?.publication ?? name,
    heartbeatSeconds: cdc?.heartbeatSeconds ?? 10,
  };
}

/**
 * The source's change log for following the plan, once the source, the target and every table
 * are known to allow it: a one-line error before anything is copied otherwise.
 */
export function followedChangeLog(session: Session): ChangeLog {
  if (!session.reader.changeLog)
    throw new FerryError(
      'UNSUPPORTED',
      `${session.source.kind} sources cannot give their live changes`,
      'follow a PostgreSQL or MySQL/MariaDB source, or run without --follow',
    );
  if (!session.writer.applyChanges || !session.writer.appliedPosition)
    throw new FerryError(
      'UNSUPPORTED',
      `${session.target.kind} targets cannot take live changes`,
      'follow into a target that takes them (docs/architecture.md, "Live changes"), or run without --follow',
    );
  followedTables(session.waves.flat());
  return session.reader.changeLog(changeLogSettings(session));
}

/**
 * What the target keeps the applied position under: the plan and the position of the copy's
 * snapshot, so that a position a target kept from an earlier copy of the plan (rolled back, then
 * copied again from a new snapshot) is never taken for this copy's.
 */
export function streamName(hash: string, start: string): string {
  return `${hash}-${createHash('sha256').update(start).digest('hex').slice(0, 12)}`;
}

/** The copy's snapshot position, where the stream begins. */
function streamStart(session: Session): string {
  const start = session.state.streamStart(session.hash);
  if (start === undefined)
    throw new FerryError(
      'INTERNAL',
      `no position to follow ${session.planFile} from: the copy's snapshot left none in ${session.state.dir}`,
      'run `ferry run PLAN --follow` again: it copies what is left and takes a position',
    );
  return start;
}

/** The position to stream from: the target's, or before the first apply, the copy's snapshot. */
export async function followFrom(session: Session): Promise<string> {
  const start = streamStart(session);
  return (await session.writer.appliedPosition!(streamName(session.hash, start))) ?? start;
}

/** Follows the source's changes until `opts.signal` stops it. */
export async function followChanges(
  session: Session,
  run: CommandRun,
  changeLog: ChangeLog,
  opts: FollowOptions,
): Promise<FollowSummary> {
  const { plan, state, hash, writer } = session;
  const tables = followedTables(await withAddedColumns(session, session.waves.flat()));
  const emit = opts.onEvent ?? (() => {});
  const from = await followFrom(session);
  const name = streamName(hash, streamStart(session));
  run.audit.record('following', { from });
  emit({ type: 'following', from });
  const followedList = [...tables.values()];
  const stream = changeLog.stream(
    followedList.map((t) => t.m.source),
    from,
    streamedColumns(session, followedList),
  );
  const touched = new TouchedChunks(session);
  // a cutover of the plan (another process) drains this stream, then stops it
  const stop = new AbortController();
  const onStop = () => stop.abort();
  if (opts.signal?.aborted) stop.abort();
  else opts.signal?.addEventListener('abort', onStop, { once: true });
  const watch = new CutoverWatch(session, changeLog, stream, () => stop.abort());
  const limits = plan.cdc?.batch ?? { transactions: 1000, changes: 10_000, bytes: 8 * 2 ** 20, waitMs: 200 };
  const summary: FollowSummary = { transactions: 0, changes: 0, rejects: 0, position: from, addedColumns: [] };
  let batch: AppliedChange[] = [];
  let transactions = 0;
  let bytes = 0;
  /** the batch's row changes per target table and source operation */
  let counts = new Map<string, StreamCount>();
  let position: string | undefined;
  let committed: string | undefined;
  let rejected: Omit<RejectRecord, 'chunk'>[] = [];

  const flush = async () => {
    if (position === undefined) return;
    const at = position;
    // while a cutover drains, a batch of heartbeats stores its position too: the cutover waits for it
    const store = batch.length > 0 || watch.frozen();
    if (store)
      await withRetries('applying live changes', session.log, plan.settings.retries, () =>
        writer.applyChanges!(batch, name, at),
      );
    // a batch of heartbeats only: the target holds nothing new, the source may still move on
    await stream.acknowledge(at);
    if (rejected.length > 0) state.addChangeRejects(hash, rejected);
    if (batch.length > 0)
      state.setStreamApplied(hash, { position: at, committed, changes: batch.length, counts: [...counts.values()] });
    const lagSeconds = committed ? Math.max(0, (Date.now() - Date.parse(committed)) / 1000) : undefined;
    state.setStreamBeat(hash, { lagSeconds: lagSeconds ?? 0, position: at });
    touched.save();
    watch.applied(at);
    summary.transactions += transactions;
    summary.changes += batch.length;
    summary.rejects += rejected.length;
    summary.position = at;
    emit({
      type: 'applied',
      transactions,
      changes: batch.length,
      position: at,
      lagSeconds,
    });
    if (state.rejectCount(hash) > plan.settings.maxRejects)
      throw new FerryError(
        'ERROR_BUDGET_SPENT',
        `${state.rejectCount(hash)} rows were rejected and the plan allows ${plan.settings.maxRejects}; the last a live change of ${rejected.at(-1)?.table}`,
        'see the reject files, fix the data or the plan (or raise settings.maxRejects), then run again to resume',
      );
    batch = [];
    transactions = 0;
    bytes = 0;
    counts = new Map();
    boundHeap();
    position = undefined;
    committed = undefined;
    rejected = [];
  };

  const take = (tx: ChangeTransaction) => {
    for (const c of tx.changes) {
      const t = tables.get(c.table);
      if (!t) continue;
      const mapped = targetChange(t, c);
      if (typeof mapped === 'string') rejected.push({ table: t.m.target.name, ...rejectOf(c, mapped) });
      else {
        batch.push({ table: t.m.target, change: mapped });
        touched.add(t.m, mapped, t.key);
        const key = `${t.m.target.name}\u0000${c.op}`;
        const count = counts.get(key) ?? counts.set(key, { table: t.m.target.name, op: c.op, changes: 0 }).get(key)!;
        count.changes++;
      }
    }
    if (tx.changes.length > 0) {
      transactions++;
      bytes += tx.bytes ?? 0;
      committed = tx.committed ?? committed;
    }
    position = tx.position;
  };

  const addColumnsOf = async (tx: ChangeTransaction) => {
    const mappings = new Map([...tables].map(([name, t]) => [name, t.m]));
    for (const line of await addColumns(session, mappings, tx.added!)) {
      session.log.warn(line);
      run.audit.record('column added', { line });
      summary.addedColumns.push(line);
    }
    for (const [name, m] of mappings) if (m !== tables.get(name)!.m) tables.set(name, followed(m));
    // a statement of its own (MySQL): the target holds the stream past it, and is not given it again
    if (tx.changes.length === 0)
      await withRetries('applying live changes', session.log, plan.settings.retries, () =>
        writer.applyChanges!([], name, tx.position),
      );
  };

  try {
    watch.start();
    const pending = () => ({ changes: batch.length, bytes, urgent: position !== undefined && watch.reaches(position) });
    await pull(stream, limits, stop.signal, take, flush, pending, addColumnsOf);
    await flush();
  } finally {
    watch.stop();
    opts.signal?.removeEventListener('abort', onStop);
    await stream.close();
  }
  if (watch.cutOver()) {
    summary.cutOver = true;
    run.audit.record('plan cut over: following stops', { position: summary.position });
  }
  run.audit.record('stopped following', { ...summary });
  return summary;
}

/**
 * Pulls transactions into the batch and applies it when it is full, when `waitMs` passed since
 * its first transaction, when a cutover waits for it, or when following stops; a transaction is
 * never split. The wait counts
 * from the batch's first transaction, not from the last one: under a steady stream the last one is
 * always recent, and the batch would wait until full (seconds of lag at a thousand changes a second).
 */
async function pull(
  stream: ChangeStream,
  limits: { transactions: number; changes: number; bytes: number; waitMs: number },
  signal: AbortSignal | undefined,
  take: (tx: ChangeTransaction) => void,
  flush: () => Promise<void>,
  /** what the batch holds; urgent: a cutover waits for it (applied at once) */
  pending: () => { changes: number; bytes: number; urgent: boolean },
  addColumnsOf: (tx: ChangeTransaction) => Promise<void>,
): Promise<void> {
  const it = stream[Symbol.asyncIterator]();
  let next: Promise<IteratorResult<ChangeTransaction>> | undefined;
  let taken = 0;
  let due = 0;
  for (;;) {
    next ??= it.next();
    // a stop promise of this turn only: racing one promise that lives as long as the loop would
    // keep every turn's result (each transaction read) reachable from its reactions until the end
    let onAbort = () => {};
    const stopped = new Promise<'stop'>((resolve) => {
      onAbort = () => resolve('stop');
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    const waits: Promise<unknown>[] = [next, stopped];
    let timer: NodeJS.Timeout | undefined;
    if (taken > 0)
      waits.push(new Promise((resolve) => (timer = setTimeout(() => resolve('due'), Math.max(0, due - Date.now())))));
    const got = await Promise.race(waits);
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (got === 'stop') return;
    if (got === 'due') {
      await flush();
      taken = 0;
      continue;
    }
    next = undefined;
    const r = got as IteratorResult<ChangeTransaction>;
    if (r.done) return;
    if (r.value.added) {
      // the changes before it are applied in the columns they were made in
      await flush();
      taken = 0;
      await addColumnsOf(r.value);
    }
    take(r.value);
    if (taken++ === 0) due = Date.now() + limits.waitMs;
    const held = pending();
    if (taken >= limits.transactions || held.changes >= limits.changes || held.bytes >= limits.bytes || held.urgent) {
      await flush();
      taken = 0;
    }
  }
}

/** A row change as the target applies it, or the reason its values are refused. */
function targetChange(t: Followed, c: RowChange): TargetChange | string {
  const { m, key } = t;
  const map = (row: unknown[]) => m.mapChangeRow(row);
  if (c.op === 'insert') return map(c.after) ?? { op: 'upsert', row: c.after };
  if (c.op === 'delete') return map(c.before) ?? { op: 'delete', key: key.map((i) => c.before[i]) };
  const why = map(c.before) ?? map(c.after);
  if (why !== undefined) return why;
  const types = m.target.columns.map((col) => col.type);
  const sameKey = key.every(
    (i) => c.after[i] !== UNCHANGED && canonicalText(c.before[i], types[i]!) === canonicalText(c.after[i], types[i]!),
  );
  return sameKey && !c.after.includes(UNCHANGED)
    ? { op: 'upsert', row: c.after }
    : { op: 'update', key: key.map((i) => c.before[i]), row: c.after };
}

/** A refused change as its reject record keeps it: the row it would have written (large values described), values the log did not carry as null. */
function rejectOf(c: RowChange, reason: string): Pick<RejectRecord, 'row' | 'reason' | 'refusedBy'> {
  const row = c.op === 'delete' ? c.before : c.after;
  return {
    row: rejectedRow(row.map((v) => (v === UNCHANGED ? null : v))),
    reason: `live ${c.op}: ${reason}`,
    refusedBy: 'mapping',
  };
}
