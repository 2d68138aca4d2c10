// Where a queued run stands, read from its shared state: `ferry status PLAN --queue URL` on a
// machine that has no state folder of the run (a worker's, an operator's). The shared state knows
// the live run, each table's chunk count and every chunk a worker started; the run's other
// records (indexes, foreign keys, the audit log) stay on the coordinator's machine.
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Plan } from '../../core/plan.js';
import type { TableStatus } from '../session/checkpoints.js';
import { connectQueue, queueAddress } from './address.js';
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
  /** the run coordinating the plan now; none when it stopped before the copy was done (the same command resumes) */
  run?: { id: string; status: 'running'; started: string; finished: null };
  tables: QueuedTableStatus[];
}

export async function queuedStatus(
  plan: Plan,
  planFile: string,
  hash: string,
  queue: string,
  log: Logger,
): Promise<QueuedStatus> {
  const address = queueAddress(queue);
  const redis = await connectQueue(address, log, 'check that Redis runs there and that this machine may reach it');
  try {
    const progress = await new SharedCheckpoints(redis, address.prefix).progress(hash);
    if (!progress.run && progress.tables.size === 0)
      throw new FerryError(
        'RUN_NOT_FOUND',
        `the queue at ${address.shown} holds no run of the plan ${planFile}`,
        'it has not started, or its copy is done: `ferry status` on the machine that ran `ferry run --queue` tells which',
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
    const run = progress.run;
    return { ...(run ? { run: { id: run.id, status: 'running', started: run.started, finished: null } } : {}), tables };
  } finally {
    redis.disconnect();
  }
}
