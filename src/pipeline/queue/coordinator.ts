// The coordinator's side of a queued run on a Redis queue (`ferry run PLAN --queue redis://…`): it puts chunk jobs on
// the queue, follows them through the queue's events (and, in case an event was missed while
// Redis was away, by asking for the jobs' states every few seconds), and hands back each chunk's
// record from the shared store once a worker has finished it. It removes its jobs when the run
// ends, and the queue's keys when no job of anyone else is left.
import { Redis } from 'ioredis';
import { Queue, QueueEvents } from 'bullmq';
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { connectQueue, queueAddress, CHUNK_QUEUE, type QueueAddress } from './address.js';
import { failureOf, type ChunkJobMessage } from './job.js';
import { SharedCheckpoints, type SharedOutcome } from './shared-state.js';
import { QUEUE_SILENCE_MS, type ChunkQueue, type FinishedChunk } from './chunk-queue.js';

/** How often the states of the jobs in flight are asked for (events are the fast path). */
const POLL_MS = 3_000;
/** Tries of a job that fails for a reason a retry may fix, and the first wait between them. */
const JOB_ATTEMPTS = 5;
const BACKOFF_MS = 1_000;

interface InFlight {
  message: ChunkJobMessage;
  rows: number;
  onRows: (delta: number) => void;
  resolve: (c: FinishedChunk) => void;
  reject: (e: unknown) => void;
}

export class BullChunkQueue implements ChunkQueue {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly added: string[] = [];
  private poller?: NodeJS.Timeout;
  private lastAnswer = Date.now();
  private polling = false;

  private constructor(
    private readonly address: QueueAddress,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly redis: Redis,
    readonly shared: SharedCheckpoints,
    private readonly log: Logger,
  ) {}

  /** Connects to the queue (a one-line error when it cannot be reached) and follows its events. */
  static async open(url: string, log: Logger): Promise<BullChunkQueue> {
    const address = queueAddress(url);
    const redis = await connectQueue(address, log, 'check that Redis runs there, or run the plan without --queue');
    const opts = { connection: address.connection, prefix: address.prefix };
    const queue = new Queue<ChunkJobMessage>(CHUNK_QUEUE, opts);
    const events = new QueueEvents(CHUNK_QUEUE, opts);
    queue.on('error', (e) => log.debug({ err: e.message }, 'queue'));
    events.on('error', (e) => log.debug({ err: e.message }, 'queue events'));
    await events.waitUntilReady();
    const q = new BullChunkQueue(address, queue, events, redis, new SharedCheckpoints(redis, address.prefix), log);
    q.follow();
    return q;
  }

  private follow(): void {
    this.events.on('completed', ({ jobId }) => void this.check(jobId));
    this.events.on('failed', ({ jobId }) => void this.check(jobId));
    this.events.on('progress', ({ jobId, data }) => {
      const f = this.inFlight.get(jobId);
      if (!f || typeof data !== 'number') return;
      f.onRows(data - f.rows);
      f.rows = data;
    });
    this.poller = setInterval(() => void this.poll(), POLL_MS);
  }

  /**
   * The run starts coordinating the plan: jobs of an earlier run of the plan still waiting (their
   * coordinator is gone) are dropped, as this run copies their chunks, and the shared state names
   * this run (carriers refuse another run's jobs; `ferry status --queue` shows it).
   */
  async begin(planHash: string, runId: string): Promise<void> {
    await this.shared.beginRun(planHash, { id: runId, started: new Date().toISOString() });
    const waiting = await this.queue.getJobs(['waiting', 'delayed', 'prioritized', 'paused']);
    for (const job of waiting)
      if ((job.data as ChunkJobMessage | undefined)?.plan?.hash === planHash) await job.remove().catch(() => {});
  }

  /** A global rate limit of chunk jobs across all workers (BullMQ's limiter), or none. */
  async limitRate(chunksPerSecond: number | undefined): Promise<void> {
    if (chunksPerSecond) await this.queue.setGlobalRateLimit(chunksPerSecond, 1000);
    else await this.queue.removeGlobalRateLimit();
  }

  /**
   * Has a worker copy a chunk: resolves with its record once the shared store says it is done
   * (at once when an earlier run's worker did it), rejects with a job's final failure.
   */
  async copy(message: ChunkJobMessage, onRows: (delta: number) => void): Promise<FinishedChunk> {
    const before = await this.shared.chunk(message.plan.hash, message.table, message.chunk);
    if (before?.done) return { ...before.done, attempts: before.attempts };
    return new Promise<FinishedChunk>((resolve, reject) => {
      this.enqueue({ message, rows: 0, onRows, resolve, reject }).catch(reject);
    });
  }

  private async enqueue(f: InFlight): Promise<void> {
    const job = await this.queue.add('chunk', f.message, {
      attempts: JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: BACKOFF_MS },
      removeOnComplete: true,
    });
    this.added.push(job.id!);
    this.inFlight.set(job.id!, f);
    void this.check(job.id!);
  }

  /** Settles a job in flight that is done (the shared store says so) or failed for good. */
  private async check(jobId: string): Promise<void> {
    const f = this.inFlight.get(jobId);
    if (!f) return;
    try {
      const { plan, table, chunk } = f.message;
      const record = await this.shared.chunk(plan.hash, table, chunk);
      this.lastAnswer = Date.now();
      if (record?.done)
        return this.settle(jobId, (x) => {
          // the rows the last progress event did not tell
          x.onRows(record.done!.rows + record.done!.rejects.length - x.rows);
          x.resolve({ ...record.done!, attempts: record.attempts });
        });
      const job = await this.queue.getJob(jobId);
      if (job && (await job.getState()) === 'failed')
        return this.settle(jobId, (x) => x.reject(failureOf(job.failedReason)));
      // a Redis that restarted without its data lost the job: put it on the queue again
      if (!job && this.inFlight.get(jobId) === f && !(await this.shared.chunk(plan.hash, table, chunk))?.done) {
        this.inFlight.delete(jobId);
        await this.enqueue(f);
      }
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, 'queue check');
    }
  }

  private settle(jobId: string, how: (f: InFlight) => void): void {
    const f = this.inFlight.get(jobId);
    if (!f) return;
    this.inFlight.delete(jobId);
    how(f);
  }

  /** Asks after every job in flight; a queue silent for too long stops them all with one line. */
  private async poll(): Promise<void> {
    if (this.inFlight.size > 0 && Date.now() - this.lastAnswer > QUEUE_SILENCE_MS) {
      const e = new FerryError(
        'CONNECT_FAILED',
        `the queue at ${this.address.shown} did not answer for ${QUEUE_SILENCE_MS / 1000} s`,
        'start it again and run the same command to resume (the chunks copied so far are kept)',
      );
      for (const id of [...this.inFlight.keys()]) this.settle(id, (f) => f.reject(e));
      return;
    }
    if (this.polling) return;
    this.polling = true;
    try {
      for (const id of [...this.inFlight.keys()]) await this.check(id);
      if (this.inFlight.size === 0) this.lastAnswer = Date.now();
    } finally {
      this.polling = false;
    }
  }

  /**
   * Ends the run's use of the queue: its jobs are removed (a worker still on one finishes it
   * and finds it gone), the rate limit is lifted, the shared chunk states are forgotten once the
   * plan's copy is finished, and the queue's keys go when it holds no job of anyone else.
   */
  async close(planHash: string, end: { phase: SharedOutcome['phase']; error?: string }): Promise<void> {
    clearInterval(this.poller);
    const cleanup = async () => {
      for (const id of this.added) await this.queue.remove(id).catch(() => 0);
      await this.queue.removeGlobalRateLimit();
      await this.shared.endRun(planHash, end.phase, end.error);
      if (end.phase === 'done') await this.shared.forget(planHash);
      const left = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
      if (Object.values(left).every((n) => n === 0)) await this.queue.obliterate().catch(() => {});
    };
    // a queue that is gone is not waited for: what is left there is removed by the next run
    await Promise.race([cleanup(), new Promise((r) => setTimeout(r, 10_000))]).catch(() => {});
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.redis.disconnect();
  }
}
