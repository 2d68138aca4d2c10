// `ferry status PLAN`: where a plan stands: its phase, each table's copy, and for a plan that
// follows live changes (and is cut over), the source's position, the position the target holds, how far behind it
// is and what the source keeps for the stream.
import { resolve } from 'node:path';
import { loadPlan } from '../../core/plan.js';
import { stateExists, type StreamRecord, type TableStatus } from '../session/checkpoints.js';
import { changeLogSettings, streamName } from '../follow/follow.js';
import { openSession, type SessionOptions } from '../session/session.js';
import { queuedStatus } from '../queue/status.js';
import { silentLogger } from '../../core/log.js';
import { freezeOf, type FreezeStanding } from '../cutover/freeze-record.js';
import { reverseHash } from '../reverse/reverse-plan.js';

export type Phase =
  | 'not started'
  | 'copying'
  | 'copied'
  | 'following'
  | 'frozen'
  | 'cut over'
  // a queued run seen from its shared state (queue/status.ts)
  | 'after-data'
  | 'done'
  | 'failed';

export interface TableProgressStatus {
  table: string;
  /** prepared, copied, finished, linked (foreign keys in), or not started */
  state: TableStatus | 'not started';
  chunks: number;
  chunksDone: number;
  rows: number;
  rejects: number;
}

export interface StreamStatus {
  /** the copy's snapshot position: the changes after it are followed */
  start: string;
  /** the position the target holds (the last batch applied), and when it was applied */
  applied?: string;
  appliedAt?: string;
  /** seconds from the source's commit of the last applied transaction to its apply */
  lagSeconds?: number;
  changes: number;
  /** where the source's log stands now, and what it keeps for the stream (bytes) */
  sourcePosition?: string;
  retainedBytes?: number;
  /** why the source could not say (unreachable, no change log) */
  sourceError?: string;
}

export interface PlanStatus {
  plan: string;
  hash: string;
  phase: Phase;
  /** the latest run of the plan, and whether it is running now */
  run?: { id: string; status: string; started: string; finished: string | null; error?: string };
  tables: TableProgressStatus[];
  stream?: StreamStatus;
  /** the freezes a cutover made that are in force: the source's, the target's (a rollback after a cutover) */
  freezes?: FreezeStatus[];
}

export interface FreezeStatus {
  side: 'source' | 'target';
  since: string;
  runId: string;
  /** kept on purpose (cut over), held by a running process, or stale (its process gone: `ferry cutover PLAN --unfreeze`) */
  standing: FreezeStanding;
}

export async function planStatus(
  planFile: string,
  opts: SessionOptions & { queue?: string; sharedState?: string } = {},
): Promise<PlanStatus> {
  const { plan, hash } = loadPlan(planFile);
  // a queued run seen from any machine: its shared state, not a state folder
  if (opts.queue) {
    const q = await queuedStatus(plan, planFile, hash, opts.queue, opts.sharedState, opts.log ?? silentLogger);
    return { plan: planFile, hash, ...q };
  }
  // a plan no run has touched: nothing to connect to, and no state to make
  if (!stateExists(resolve(opts.stateDir ?? plan.settings.stateDir)))
    return {
      plan: planFile,
      hash,
      phase: 'not started',
      tables: plan.waves.flatMap((w) =>
        w.tables.map((t) => ({
          table: t.target,
          state: 'not started' as const,
          chunks: 0,
          chunksDone: 0,
          rows: 0,
          rejects: 0,
        })),
      ),
    };
  const session = await openSession(planFile, opts);
  const { state } = session;
  try {
    const tables = session.waves.flat().map((m): TableProgressStatus => {
      const chunks = state.chunks(hash, m.target.name);
      const done = chunks.filter((c) => c.status === 'done');
      return {
        table: m.target.name,
        state: state.tableStatus(hash, m.target.name) ?? 'not started',
        chunks: chunks.length,
        chunksDone: done.length,
        rows: done.reduce((n, c) => n + c.rows, 0),
        rejects: done.reduce((n, c) => n + c.rejects, 0),
      };
    });
    const run = state.run(undefined, 'run');
    const recorded = state.stream(hash);
    const stream = recorded ? await streamStatus(session, recorded) : undefined;
    const copied = tables.every((t) => t.state === 'linked');
    const started = tables.some((t) => t.state !== 'not started');
    // a cutover's phase while it freezes (an aborted one is back to following)
    const cutover = state.cutover(hash)?.phase;
    const freezes = (
      [
        ['source', hash],
        ['target', reverseHash(hash)],
      ] as const
    ).flatMap(([side, h]) => {
      const f = freezeOf(state, h);
      return f ? [{ side, since: f.since, runId: f.runId, standing: f.standing }] : [];
    });
    const sourceFrozen = freezes.some((f) => f.side === 'source');
    const phase: Phase =
      cutover === 'cut over'
        ? cutover
        : cutover === 'frozen' || sourceFrozen
          ? 'frozen'
          : stream?.applied
            ? 'following'
            : copied
              ? 'copied'
              : started
                ? 'copying'
                : 'not started';
    return {
      plan: planFile,
      hash,
      phase,
      ...(run && run.planHash === hash
        ? { run: { id: run.id, status: run.status, started: run.started, finished: run.finished } }
        : {}),
      tables,
      ...(stream ? { stream } : {}),
      ...(freezes.length ? { freezes } : {}),
    };
  } finally {
    await session.close();
  }
}

async function streamStatus(
  session: Awaited<ReturnType<typeof openSession>>,
  recorded: StreamRecord,
): Promise<StreamStatus> {
  const out: StreamStatus = {
    start: recorded.start,
    changes: recorded.changes,
    ...(recorded.applied ? { applied: recorded.applied } : {}),
    ...(recorded.appliedAt ? { appliedAt: recorded.appliedAt } : {}),
    ...(recorded.committed && recorded.appliedAt
      ? { lagSeconds: Math.max(0, (Date.parse(recorded.appliedAt) - Date.parse(recorded.committed)) / 1000) }
      : {}),
  };
  // the target holds the truth of what was applied
  const applied = await session.writer.appliedPosition?.(streamName(session.hash, recorded.start));
  if (applied !== undefined) out.applied = applied;
  try {
    const log = session.reader.changeLog?.(changeLogSettings(session));
    if (log) {
      const now = await log.status();
      out.sourcePosition = now.position;
      if (now.retainedBytes !== undefined) out.retainedBytes = now.retainedBytes;
    }
  } catch (e) {
    out.sourceError = (e as Error).message;
  }
  return out;
}
