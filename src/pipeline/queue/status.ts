// Where a queued run stands, read from its shared state: `ferry status PLAN --queue URL` on a
// machine that has no state folder of the run (a worker's, an operator's). The shared state knows
// the live run, each table's chunk count and every chunk a worker started; the run's other
// records (indexes, foreign keys, the audit log) stay on the coordinator's machine.
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Plan } from '../../core/plan.js';
import type { TableStatus } from '../session/checkpoints.js';
import { connectQueue, queueAddress, sharedStateUrl } from './address.js';
import { SharedCheckpoints } from './shared-state.js';

export interface QueuedTableStatus {
  table: string;
  /** split (its chunks are on the queue) or copied (every chunk done); the rest only the coordinator knows */
  state: Extract<TableStatus, 'prepared' | 'copied'> | 'not started';
  chunks: number;
  chunksDone: number;
  rows: number;
  rejects: number;
}

export interface QueuedStatus {
  /** copying (chunk jobs out), after-data (every chunk done: indexes, foreign keys), done, or failed (the same command resumes) */
  phase: 'copying' | 'after-data' | 'done' | 'failed';
  /** the run coordinating the plan now, or the last one */
  run?: { id: string; status: 'running' | 'done' | 'failed'; started: string; finished: string | null; error?: string };
  tables: QueuedTableStatus[];
}

export async function queuedStatus(
  plan: Plan,
  planFile: string,
  hash: string,
  queue: string,
  sharedState: string | undefined,
  log: Logger,
): Promise<QueuedStatus> {
  const address = queueAddress(sharedStateUrl(queue, sharedState));
  const redis = await connectQueue(address, log, 'check that Redis runs there and that this machine may reach it');
  try {
    const progress = await new SharedCheckpoints(redis, address.prefix).progress(hash);
    const { run, outcome } = progress;
    if (!run && !outcome && progress.tables.size === 0)
      throw new FerryError(
        'RUN_NOT_FOUND',
        `the shared state at ${address.shown} holds no run of the plan ${planFile}`,
        'it has not started: `ferry status` on the machine that runs `ferry run --queue` tells more',
      );
    const tables = plan.waves.flatMap((w) =>
      w.tables.map((t): QueuedTableStatus => {
        const p = progress.tables.get(t.target);
        return {
          table: t.target,
          state: !p?.chunks ? 'not started' : p.done === p.chunks ? 'copied' : 'prepared',
          chunks: p?.chunks ?? 0,
          chunksDone: p?.done ?? 0,
          rows: p?.rows ?? 0,
          rejects: p?.rejects ?? 0,
        };
      }),
    );
    if (run) return { phase: run.phase, run: { ...run, status: 'running', finished: null }, tables };
    if (outcome) {
      const { id, started, finished, phase, error } = outcome;
      return { phase, run: { id, status: phase, started, finished, ...(error ? { error } : {}) }, tables };
    }
    // chunk states of a run whose coordinator stopped before it could say how
    return { phase: 'failed', tables };
  } finally {
    redis.disconnect();
  }
}
