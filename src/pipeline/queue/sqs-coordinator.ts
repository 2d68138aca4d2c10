// The coordinator's side of a queued run on Amazon SQS (`ferry run PLAN --queue sqs://… --shared-state
// redis://…`): it sends one chunk job message per chunk (SendMessageBatch, ten a call, the entries
// that failed for a reason of SQS's sent again after a backoff), and watches the run's shared
// state, where the function (`ferry/lambda`, deploy/lambda) claims and records each chunk. SQS
// has no events a sender can follow: the chunks in flight are looked up every POLL_MS.
//
// A message is never taken back: when the run ends, the messages still on the queue belong to a
// run that is no longer live, and the function drops them (src/lambda/sqs.ts).
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Redis } from 'ioredis';
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { connectQueue, queueAddress } from './address.js';
import { QUEUE_SILENCE_MS, type ChunkQueue, type FinishedChunk } from './chunk-queue.js';
import type { ChunkJobMessage } from './job.js';
import { SharedCheckpoints, type SharedOutcome } from './shared-state.js';
import { sqsAddress, type SqsAddress } from './sqs-address.js';

/** How often the chunks in flight are looked up in the shared state. */
const POLL_MS = 1_000;
/** SendMessageBatch takes ten entries at most. */
const BATCH = 10;
/** How long a message waits for others to fill its batch. */
const GATHER_MS = 20;
/** Tries of an entry SQS failed on its side (not the sender's fault), and the first wait between them. */
const SEND_ATTEMPTS = 5;
const SEND_BACKOFF_MS = 200;
/** Attempts of a chunk recorded as failed after which the run stops with its error (SQS stops sooner at the queue's maxReceiveCount). */
const CHUNK_ATTEMPTS = 5;

interface InFlight {
  message: ChunkJobMessage;
  onRows: (delta: number) => void;
  resolve: (c: FinishedChunk) => void;
  reject: (e: unknown) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SqsChunkQueue implements ChunkQueue {
  private readonly inFlight = new Map<string, InFlight>();
  private outbox: InFlight[] = [];
  private gathering?: NodeJS.Timeout;
  private readonly poller: NodeJS.Timeout;
  private lastAnswer = Date.now();
  private polling = false;

  private constructor(
    private readonly address: SqsAddress,
    private readonly shown: string,
    private readonly client: SQSClient,
    private readonly redis: Redis,
    readonly shared: SharedCheckpoints,
    private readonly log: Logger,
  ) {
    this.poller = setInterval(() => void this.poll(), POLL_MS);
  }

  /** Connects to the shared state and checks the queue answers; one line when either cannot be reached. */
  static async open(url: string, stateUrl: string, log: Logger): Promise<SqsChunkQueue> {
    const address = sqsAddress(url);
    const state = queueAddress(stateUrl);
    const redis = await connectQueue(
      state,
      log,
      "check that Redis runs there (the function's FERRY_STATE), or run the plan without --queue",
    );
    // the SDK's notice of a Node version it will need one day is for ferry's developers (package.json engines), not a line of a run's output
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const client = new SQSClient({
      region: address.region,
      ...(address.endpoint ? { endpoint: address.endpoint } : {}),
    });
    try {
      await client.send(new GetQueueAttributesCommand({ QueueUrl: address.queueUrl, AttributeNames: ['QueueArn'] }));
    } catch (e) {
      client.destroy();
      redis.disconnect();
      throw new FerryError(
        'CONNECT_FAILED',
        `cannot reach the SQS queue ${url} (${(e as Error).name}: ${(e as Error).message})`,
        "check the queue URL and this machine's AWS credentials and region (it needs sqs:SendMessage and sqs:GetQueueAttributes on the queue)",
      );
    }
    return new SqsChunkQueue(address, url, client, redis, new SharedCheckpoints(redis, state.prefix), log);
  }

  /** The shared state names this run: the function drops the messages of any earlier one. */
  async begin(planHash: string, runId: string): Promise<void> {
    await this.shared.beginRun(planHash, { id: runId, started: new Date().toISOString() });
  }

  async limitRate(chunksPerSecond: number | undefined): Promise<void> {
    if (chunksPerSecond)
      throw new FerryError(
        'UNSUPPORTED',
        '--chunks-per-second limits the `ferry worker`s of a Redis queue; an SQS queue is drained as fast as its function is allowed',
        "leave it out, and bound the function's reserved concurrency instead (deploy/lambda: MaxWorkers)",
      );
  }

  async copy(message: ChunkJobMessage, onRows: (delta: number) => void): Promise<FinishedChunk> {
    const before = await this.shared.chunk(message.plan.hash, message.table, message.chunk);
    if (before?.done) return { ...before.done, attempts: before.attempts };
    return new Promise<FinishedChunk>((resolve, reject) => {
      this.outbox.push({ message, onRows, resolve, reject });
      if (this.outbox.length >= BATCH) this.flush();
      else this.gathering ??= setTimeout(() => this.flush(), GATHER_MS);
    });
  }

  private flush(): void {
    clearTimeout(this.gathering);
    this.gathering = undefined;
    while (this.outbox.length > 0) void this.send(this.outbox.splice(0, BATCH));
  }

  /** One SendMessageBatch call, and again for the entries SQS failed on its side; a sender's fault fails its chunk at once. */
  private async send(batch: InFlight[]): Promise<void> {
    let left = batch;
    let why = '';
    for (let attempt = 1; left.length > 0 && attempt <= SEND_ATTEMPTS; attempt++) {
      if (attempt > 1) await sleep(SEND_BACKOFF_MS * 2 ** (attempt - 2));
      try {
        const r = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.address.queueUrl,
            Entries: left.map((f, i) => ({ Id: String(i), MessageBody: JSON.stringify(f.message) })),
          }),
        );
        const failed = new Map((r.Failed ?? []).map((x) => [x.Id, x]));
        const again: InFlight[] = [];
        left.forEach((f, i) => {
          const x = failed.get(String(i));
          if (!x) return this.sent(f);
          why = `${x.Code ?? 'failed'}: ${x.Message ?? ''}`;
          if (x.SenderFault)
            f.reject(
              new FerryError(
                'UNSUPPORTED',
                `the SQS queue ${this.shown} refused the job of ${f.message.table} chunk ${f.message.chunk} (${why})`,
                'check the queue (a FIFO queue needs a message group, which ferry does not send: use a standard queue)',
              ),
            );
          else again.push(f);
        });
        left = again;
      } catch (e) {
        // the whole call failed (the SDK retried it already): the entries go again after a backoff
        why = `${(e as Error).name}: ${(e as Error).message}`;
      }
    }
    const e = new FerryError(
      'CONNECT_FAILED',
      `the SQS queue ${this.shown} did not take ${left.length} chunk job(s) after ${SEND_ATTEMPTS} tries (${why})`,
      'check the queue and the AWS credentials, then run the same command to resume (the chunks copied so far are kept)',
      { transient: true },
    );
    for (const f of left) f.reject(e);
  }

  private sent(f: InFlight): void {
    const { table, chunk } = f.message;
    this.inFlight.set(JSON.stringify([table, chunk]), f);
    this.log.debug({ table, chunk }, 'chunk job sent');
  }

  /** Looks up every chunk in flight; a shared state silent for too long stops them all with one line. */
  private async poll(): Promise<void> {
    if (this.inFlight.size > 0 && Date.now() - this.lastAnswer > QUEUE_SILENCE_MS) {
      const e = new FerryError(
        'CONNECT_FAILED',
        `the run's shared state did not answer for ${QUEUE_SILENCE_MS / 1000} s`,
        'start it again and run the same command to resume (the chunks copied so far are kept)',
      );
      for (const [k, f] of this.inFlight) this.settle(k, () => f.reject(e));
      return;
    }
    if (this.polling) return;
    this.polling = true;
    try {
      for (const [k, f] of [...this.inFlight]) await this.check(k, f);
      if (this.inFlight.size === 0) this.lastAnswer = Date.now();
    } finally {
      this.polling = false;
    }
  }

  private async check(key: string, f: InFlight): Promise<void> {
    try {
      const { plan, table, chunk } = f.message;
      const record = await this.shared.chunk(plan.hash, table, chunk);
      this.lastAnswer = Date.now();
      if (record?.done) {
        const done = record.done;
        return this.settle(key, () => {
          f.onRows(done.rows + done.rejects.length);
          f.resolve({ ...done, attempts: record.attempts });
        });
      }
      if (record?.status === 'failed' && record.attempts >= CHUNK_ATTEMPTS)
        return this.settle(key, () =>
          f.reject(
            new FerryError(
              'WRITE_FAILED',
              `${table} chunk ${chunk} failed ${record.attempts} times in the function: ${record.error ?? 'no reason recorded'}`,
              "see the function's log; fix the cause, then run the same command to resume",
            ),
          ),
        );
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, 'shared state check');
    }
  }

  private settle(key: string, how: () => void): void {
    if (!this.inFlight.delete(key)) return;
    how();
  }

  /** Records how the run ended; a finished plan's chunk states are forgotten (its copy is in the coordinator's store). */
  async close(planHash: string, end: { phase: SharedOutcome['phase']; error?: string }): Promise<void> {
    clearInterval(this.poller);
    clearTimeout(this.gathering);
    const cleanup = async () => {
      await this.shared.endRun(planHash, end.phase, end.error);
      if (end.phase === 'done') await this.shared.forget(planHash);
    };
    await Promise.race([cleanup(), sleep(10_000)]).catch(() => {});
    this.client.destroy();
    this.redis.disconnect();
  }
}
