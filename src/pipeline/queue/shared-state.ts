// The shared checkpoint store of a queued run: the chunk states every worker of the queue
// writes and the coordinator reads, in the queue's Redis, under `<prefix>:state:<plan hash>:`.
// It implements the chunk part of the checkpoint interface (session/checkpoints.ts
// `ChunkCheckpoints`); the coordinator copies each chunk it finds done into its local store,
// which keeps everything else (runs, tables, phases, the audit log) for status, report and rollback.
import type { Redis } from 'ioredis';
import type { Digest } from '../../core/digest.js';
import { redact } from '../../core/secrets.js';
import { stateParse, stateStringify } from '../../core/values.js';
import type { ChunkCheckpoints, ChunkStatus, RefusedBy } from '../session/checkpoints.js';

export interface SharedReject {
  row: unknown[];
  reason: string;
  refusedBy: RefusedBy;
}

/** A chunk as the shared store holds it. */
export interface SharedChunk {
  status: ChunkStatus;
  attempts: number;
  /** set once done */
  done?: { rows: number; runId: string; digest?: Digest; rejects: SharedReject[] };
  error?: string;
}

const field = (table: string, idx: number) => JSON.stringify([table, idx]);

/** A failure is recorded unless a worker has finished the chunk meanwhile (a stalled one, taken over, fails late). */
const FAIL_UNLESS_DONE = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'done' then
  redis.call('HSET', KEYS[1], ARGV[1], 'failed')
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
return 0`;

export class SharedCheckpoints implements ChunkCheckpoints {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private keys(planHash: string) {
    const base = `${this.prefix}:state:${planHash}`;
    return {
      status: `${base}:status`,
      attempts: `${base}:attempts`,
      done: `${base}:done`,
      error: `${base}:error`,
    };
  }

  async startChunk(planHash: string, table: string, idx: number): Promise<void> {
    const k = this.keys(planHash);
    const f = field(table, idx);
    await this.redis.multi().hset(k.status, f, 'running').hincrby(k.attempts, f, 1).hdel(k.error, f).exec();
  }

  async finishChunk(
    planHash: string,
    table: string,
    idx: number,
    runId: string,
    rows: number,
    rejects: SharedReject[],
    digest?: Digest,
  ): Promise<void> {
    const k = this.keys(planHash);
    const f = field(table, idx);
    const done = stateStringify({
      rows,
      runId,
      ...(digest ? { digest } : {}),
      rejects: rejects.map((r) => ({ row: r.row, reason: redact(r.reason), refusedBy: r.refusedBy })),
    });
    await this.redis.multi().hset(k.done, f, done).hset(k.status, f, 'done').hdel(k.error, f).exec();
  }

  async failChunk(planHash: string, table: string, idx: number, error: string): Promise<void> {
    const k = this.keys(planHash);
    await this.redis.eval(FAIL_UNLESS_DONE, 2, k.status, k.error, field(table, idx), redact(error));
  }

  /** One chunk's record, if any worker has started it. */
  async chunk(planHash: string, table: string, idx: number): Promise<SharedChunk | undefined> {
    const k = this.keys(planHash);
    const f = field(table, idx);
    const [status, attempts, done, error] = await Promise.all([
      this.redis.hget(k.status, f),
      this.redis.hget(k.attempts, f),
      this.redis.hget(k.done, f),
      this.redis.hget(k.error, f),
    ]);
    if (!status) return undefined;
    return {
      status: status as ChunkStatus,
      attempts: Number(attempts ?? 0),
      ...(status === 'done' && done ? { done: stateParse<SharedChunk['done']>(done) } : {}),
      ...(error ? { error } : {}),
    };
  }

  /** Chunks by table and state (`ferry status` of a queued run in progress). */
  async counts(planHash: string): Promise<Map<string, Map<ChunkStatus, number>>> {
    const all = await this.redis.hgetall(this.keys(planHash).status);
    const out = new Map<string, Map<ChunkStatus, number>>();
    for (const [f, status] of Object.entries(all)) {
      const [table] = JSON.parse(f) as [string, number];
      const byStatus = out.get(table) ?? new Map<ChunkStatus, number>();
      byStatus.set(status as ChunkStatus, (byStatus.get(status as ChunkStatus) ?? 0) + 1);
      out.set(table, byStatus);
    }
    return out;
  }

  /** Forgets a plan's chunk states (its copy is in the coordinator's store). */
  async forget(planHash: string): Promise<void> {
    await this.redis.del(...Object.values(this.keys(planHash)));
  }
}
