// Chunk jobs delivered by Amazon SQS: each record of an SQS event holds one chunk job message
// (queue/job.ts), carried out with executeChunkJob — the code `ferry worker` runs — and recorded
// in the queued run's shared state. The records that failed are returned as a partial batch
// response, so that SQS delivers only them again (and, past the queue's maxReceiveCount, moves
// them to its dead-letter queue).
//
// SQS delivers a message at least once, possibly twice at the same moment. A chunk is claimed
// in the shared state for as long as the invocation may run: a copy that finds it claimed fails
// for now (SQS delivers it again later), one that finds it done is done, and one of a run that
// has ended is dropped (the run's snapshot is gone; the next run enqueues what it still needs).
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Redis } from 'ioredis';
import { FerryError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { redact } from '../core/secrets.js';
import { connectQueue, queueAddress } from '../pipeline/queue/address.js';
import { ChunkJobContext, executeChunkJob, parseChunkJob, type ChunkJobResult } from '../pipeline/queue/job.js';
import { SharedCheckpoints } from '../pipeline/queue/shared-state.js';

/** A claim's length when the runtime does not say how long the invocation may still run. */
const DEFAULT_CLAIM_MS = 15 * 60_000;

export interface SqsCarrierSettings {
  /** the plan file on this machine (in a function, inside its deployment package) */
  plan: string;
  /** the queued run's shared state: the coordinator's --shared-state URL (a Redis queue's own URL), redis://host:port/db[?prefix=NAME] */
  state: string;
  /** records of one event carried out at once */
  concurrency: number;
  log: Logger;
}

interface RecordOutcome {
  messageId: string;
  result?: ChunkJobResult;
  /** the chunk was done already (a message delivered again) */
  already?: boolean;
  /** the job's run has ended */
  ended?: boolean;
  error?: string;
}

interface Connected {
  redis: Redis;
  shared: SharedCheckpoints;
  /** the plan's endpoints and the imported snapshot, kept across events while they work */
  ctx: ChunkJobContext;
  /** a copy failed: the endpoints are opened afresh for the next event (a frozen instance's connections may have been cut) */
  stale: boolean;
}

export class SqsChunkCarrier {
  private connected?: Promise<Connected>;

  constructor(private readonly settings: SqsCarrierSettings) {}

  /** Connects once (a cold start), then reuses the connections, the plan and the imported snapshot across events. */
  private connect(): Promise<Connected> {
    this.connected ??= (async () => {
      const { plan, state, concurrency, log } = this.settings;
      const address = queueAddress(state);
      const redis = await connectQueue(
        address,
        log,
        "check the function's FERRY_STATE and that its network reaches Redis",
      );
      const shared = new SharedCheckpoints(redis, address.prefix);
      return { redis, shared, ctx: new ChunkJobContext(shared, log, concurrency, plan), stale: false };
    })();
    this.connected.catch(() => (this.connected = undefined));
    return this.connected;
  }

  async handle(event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse> {
    const c = await this.connect();
    const claimMs = context?.getRemainingTimeInMillis() ?? DEFAULT_CLAIM_MS;
    const records = [...event.Records];
    const outcomes: RecordOutcome[] = [];
    const lane = async () => {
      for (let r = records.shift(); r; r = records.shift()) outcomes.push(await this.carry(c, r, claimMs));
    };
    await Promise.all(Array.from({ length: Math.max(1, this.settings.concurrency) }, lane));
    if (c.stale) {
      const { shared, concurrency, plan, log } = { ...c, ...this.settings };
      await c.ctx.close();
      c.ctx = new ChunkJobContext(shared, log, concurrency, plan);
      c.stale = false;
    }
    return { batchItemFailures: outcomes.filter((o) => o.error).map((o) => ({ itemIdentifier: o.messageId })) };
  }

  private async carry(c: Connected, record: SQSRecord, claimMs: number): Promise<RecordOutcome> {
    const { messageId } = record;
    const { log } = this.settings;
    try {
      const message = parseChunkJob(record.body);
      // a job of another plan was sent to the wrong function: refused (its queue's dead-letter queue keeps it)
      await c.ctx.plan(message);
      const { plan, table, chunk } = message;
      const token = await c.shared.claim(plan.hash, table, chunk, claimMs);
      if (!token)
        throw new FerryError(
          'LOCKED',
          `${table} chunk ${chunk} is being copied by another delivery of its message`,
          'nothing to do: SQS delivers this one again after its visibility timeout',
          { transient: true },
        );
      try {
        // a message that outlived its run (delivered late, or again): the next run enqueues the chunks it still needs
        const live = await c.shared.liveRun(plan.hash);
        if (live?.id !== message.runId) {
          log.warn({ messageId, table, chunk, runId: message.runId }, 'the run of this chunk job has ended: dropped');
          return { messageId, ended: true };
        }
        const before = await c.shared.chunk(plan.hash, table, chunk);
        if (before?.done) {
          log.info({ messageId, table, chunk }, 'chunk done already');
          return { messageId, already: true };
        }
        const result = await executeChunkJob(message, c.ctx, {
          // a message delivered again, or a chunk an earlier delivery started, may have committed rows
          replace: Number(record.attributes?.ApproximateReceiveCount ?? 1) > 1 || before !== undefined,
        }).catch((e: unknown) => {
          c.stale = true;
          throw e;
        });
        log.info({ messageId, table, chunk, rows: result.rows, rejects: result.rejects }, 'chunk written');
        return { messageId, result };
      } finally {
        await c.shared.release(plan.hash, table, chunk, token);
      }
    } catch (e) {
      const error = redact(e instanceof FerryError ? e.oneLine() : String((e as Error)?.message ?? e));
      log.error({ messageId, error }, 'chunk job failed');
      return { messageId, error };
    }
  }

  /** Ends the connections (a runtime shutting down; a test). */
  async close(): Promise<void> {
    const c = await this.connected?.catch(() => undefined);
    this.connected = undefined;
    if (!c) return;
    await c.ctx.close();
    c.redis.disconnect();
  }
}
