// `ferry worker --queue URL`: takes chunk jobs from the queue's BullMQ queue and carries them
// out with executeChunkJob (job.ts), any number of workers on any number of machines. A job
// whose worker dies is taken over once its lock lapses (BullMQ's stall check) and replayed;
// a job that fails for a reason a retry may fix is tried again after a backoff; any other
// failure is final, and the coordinator stops the run with its line.
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from '../../core/log.js';
import { connectQueue, queueAddress, CHUNK_QUEUE } from './address.js';
import {
  ChunkJobContext,
  executeChunkJob,
  jobFailure,
  retryable,
  type ChunkJobMessage,
  type ChunkJobResult,
} from './job.js';
import { SharedCheckpoints } from './shared-state.js';

/**
 * How long a worker's hold on a job lasts without renewal (renewed at half of it while the job
 * runs): a worker killed mid-chunk gives its job up after this, plus up to a stall check.
 */
export const LOCK_MS = 15_000;
/** How often workers look for jobs whose lock lapsed. */
export const STALL_CHECK_MS = 5_000;
/** How often progress (rows read) is told to the coordinator, at most. */
const PROGRESS_MS = 500;

export interface WorkerOptions {
  queue: string;
  /** chunk jobs carried out at once by this process */
  concurrency: number;
  log: Logger;
  /** stops the worker: jobs in hand are finished first */
  signal: AbortSignal;
  /** the worker is connected and takes jobs */
  onReady?: () => void;
  /** each job as it ends (the CLI prints a line) */
  onJob?: (e: { job: string; result?: ChunkJobResult; error?: string }) => void;
}

/** Runs a worker until `signal`; returns how many jobs it finished. */
export async function runWorker(opts: WorkerOptions): Promise<{ done: number; failed: number }> {
  const address = queueAddress(opts.queue);
  const redis = await connectQueue(address, opts.log, 'check that Redis runs there and that this machine may reach it');
  const ctx = new ChunkJobContext(new SharedCheckpoints(redis, address.prefix), opts.log, opts.concurrency);
  const counts = { done: 0, failed: 0 };
  const carry = async (job: Job<ChunkJobMessage, ChunkJobResult>): Promise<ChunkJobResult> => {
    let told = 0;
    try {
      return await executeChunkJob(job.data, ctx, {
        // a job taken over from a worker that died may have committed rows of its chunk
        replace: job.attemptsStarted > 1,
        onRows: (rows) => {
          if (Date.now() - told < PROGRESS_MS) return;
          told = Date.now();
          job.updateProgress(rows).catch(() => {});
        },
      });
    } catch (e) {
      const line = jobFailure(e);
      throw retryable(e) ? new Error(line) : new UnrecoverableError(line);
    }
  };
  const worker = new Worker<ChunkJobMessage, ChunkJobResult>(CHUNK_QUEUE, carry, {
    connection: address.connection,
    prefix: address.prefix,
    concurrency: opts.concurrency,
    lockDuration: LOCK_MS,
    stalledInterval: STALL_CHECK_MS,
    maxStalledCount: 5,
  });
  worker.on('error', (e) => opts.log.warn({ err: e.message }, 'queue'));
  opts.onReady?.();
  worker.on('completed', (job, result) => {
    counts.done++;
    opts.onJob?.({ job: job.id ?? '', result });
  });
  worker.on('failed', (job, e) => {
    counts.failed++;
    opts.onJob?.({ job: job?.id ?? '', error: e.message });
  });
  try {
    await new Promise<void>((resolve) => {
      if (opts.signal.aborted) resolve();
      else opts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await worker.close();
    await ctx.close();
    redis.disconnect();
  }
  return counts;
}
