// The shared checkpoint store of a queued run: the chunk states every worker of the queue
// writes and the coordinator reads, in the queue's Redis, under `<prefix>:state:<plan hash>:`.
// It implements the chunk part of the checkpoint interface (session/checkpoints.ts
// `ChunkCheckpoints`); the coordinator copies each chunk it finds done into its local store,
// which keeps everything else (runs, tables, phases, the audit log); a copy of those records is
// published here when the run ends (run-records.ts), for report and rollback on other machines.
import { randomUUID } from 'node:crypto';
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

/** The run that coordinates a plan, and where it stands. */
export interface SharedRun {
  id: string;
  /** ISO time */
  started: string;
  /** copying (chunk jobs on the queue) or after-data (every chunk done: indexes, foreign keys) */
  phase: 'copying' | 'after-data';
}

/** How the plan's last coordinated run ended. */
export interface SharedOutcome {
  id: string;
  started: string;
  /** ISO time */
  finished: string;
  phase: 'done' | 'failed';
  /** each table's totals as the run left them */
  tables: Map<string, SharedTableProgress>;
  /** a failed run's one line */
  error?: string;
}

export interface SharedTableProgress {
  /** as the coordinator split the table (0 before) */
  chunks: number;
  done: number;
  rows: number;
  rejects: number;
}

export interface SharedProgress {
  run?: SharedRun;
  /** the last run's end, when none runs now */
  outcome?: SharedOutcome;
  tables: Map<string, SharedTableProgress>;
}

const field = (table: string, idx: number) => JSON.stringify([table, idx]);

/** A failure is recorded unless a worker has finished the chunk meanwhile (a stalled one, taken over, fails late). */
const FAIL_UNLESS_DONE = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'done' then
  redis.call('HSET', KEYS[1], ARGV[1], 'failed')
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
return 0`;

/** A claim is let go only by its holder (one whose claim lapsed must not end the next holder's). */
const RELEASE_IF_HELD = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
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
      /** the run that coordinates the plan now: its id and start */
      run: `${base}:run`,
      /** chunks per table, as the coordinator split them */
      tables: `${base}:tables`,
    };
  }

  /** What outlives the run's chunk states: how it ended, and its records (run-records.ts). */
  private kept(planHash: string) {
    const base = `${this.prefix}:state:${planHash}`;
    return { outcome: `${base}:outcome`, records: `${base}:records` };
  }

  private claimKey(planHash: string, table: string, idx: number): string {
    return `${this.prefix}:state:${planHash}:claim:${field(table, idx)}`;
  }

  /**
   * Claims a chunk for `ms` (a carrier without a queue lock of its own, such as a function fed
   * by a queue that may deliver a message twice at once); the claim's token, or undefined when
   * another holds it.
   */
  async claim(planHash: string, table: string, idx: number, ms: number): Promise<string | undefined> {
    const token = randomUUID();
    const ok = await this.redis.set(this.claimKey(planHash, table, idx), token, 'PX', Math.max(1, ms), 'NX');
    return ok === 'OK' ? token : undefined;
  }

  async release(planHash: string, table: string, idx: number, token: string): Promise<void> {
    await this.redis.eval(RELEASE_IF_HELD, 1, this.claimKey(planHash, table, idx), token);
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

  /** The coordinator's run of the plan starts: carriers take only its chunk jobs. */
  async beginRun(planHash: string, run: Omit<SharedRun, 'phase'>): Promise<void> {
    await this.redis
      .multi()
      .del(this.kept(planHash).outcome)
      .hset(this.keys(planHash).run, { id: run.id, started: run.started, phase: 'copying' })
      .exec();
  }

  /** Every chunk of the run is done: the coordinator builds indexes and foreign keys. */
  async afterData(planHash: string): Promise<void> {
    await this.redis.hset(this.keys(planHash).run, 'phase', 'after-data');
  }

  /** The coordinator has split a table into `chunks` chunks. */
  async tableSplit(planHash: string, table: string, chunks: number): Promise<void> {
    await this.redis.hset(this.keys(planHash).tables, table, chunks);
  }

  /** The run coordinating the plan now, if any: a chunk job of another run is void. */
  async liveRun(planHash: string): Promise<SharedRun | undefined> {
    const run = await this.redis.hgetall(this.keys(planHash).run);
    return run.id && run.started
      ? { id: run.id, started: run.started, phase: run.phase === 'after-data' ? 'after-data' : 'copying' }
      : undefined;
  }

  /**
   * The coordinator's run ends, as `phase` says, with each table's totals as they stand (kept
   * when the chunk states are forgotten); the chunk states stay for the next run to resume from.
   */
  async endRun(planHash: string, phase: SharedOutcome['phase'], error?: string): Promise<void> {
    const { run, tables } = await this.progress(planHash);
    const m = this.redis.multi().del(this.keys(planHash).run);
    if (run)
      m.hset(this.kept(planHash).outcome, {
        id: run.id,
        started: run.started,
        finished: new Date().toISOString(),
        phase,
        tables: JSON.stringify([...tables]),
        ...(error ? { error: redact(error) } : {}),
      });
    await m.exec();
  }

  /** How the plan's last run ended, if one did. */
  async outcome(planHash: string): Promise<SharedOutcome | undefined> {
    const o = await this.redis.hgetall(this.kept(planHash).outcome);
    if (!o.id || !o.started || !o.finished) return undefined;
    return {
      id: o.id,
      started: o.started,
      finished: o.finished,
      phase: o.phase === 'done' ? 'done' : 'failed',
      tables: new Map(JSON.parse(o.tables ?? '[]') as [string, SharedTableProgress][]),
      ...(o.error ? { error: o.error } : {}),
    };
  }

  /** The coordinator's records of the plan (files by name), in place of any earlier copy. */
  async putRecords(planHash: string, files: Map<string, Buffer>): Promise<void> {
    const key = this.kept(planHash).records;
    await this.redis.multi().del(key).hset(key, files).exec();
  }

  /** The plan's records as last published, by file name (empty when none were). */
  async records(planHash: string): Promise<Map<string, Buffer>> {
    const all = await this.redis.hgetallBuffer(this.kept(planHash).records);
    return new Map(Object.entries(all));
  }

  /** Where a queued run stands, from any machine (`ferry status PLAN --queue URL`). */
  async progress(planHash: string): Promise<SharedProgress> {
    const k = this.keys(planHash);
    const [run, outcome, tables, status, done] = await Promise.all([
      this.liveRun(planHash),
      this.outcome(planHash),
      this.redis.hgetall(k.tables),
      this.redis.hgetall(k.status),
      this.redis.hgetall(k.done),
    ]);
    const out = new Map<string, SharedTableProgress>();
    const of = (table: string) => {
      let t = out.get(table);
      if (!t) out.set(table, (t = { chunks: 0, done: 0, rows: 0, rejects: 0 }));
      return t;
    };
    for (const [table, chunks] of Object.entries(tables)) of(table).chunks = Number(chunks);
    for (const [f, s] of Object.entries(status)) {
      const t = of((JSON.parse(f) as [string, number])[0]);
      if (s !== 'done' || !done[f]) continue;
      const d = stateParse<NonNullable<SharedChunk['done']>>(done[f]);
      t.done++;
      t.rows += d.rows;
      t.rejects += d.rejects.length;
    }
    if (!run && outcome) for (const [t, p] of outcome.tables) if (!out.get(t)?.chunks) out.set(t, p);
    return { ...(run ? { run } : outcome ? { outcome } : {}), tables: out };
  }

  /** Forgets a plan's chunk states (its copy is in the coordinator's store); how its run ended and its records stay. */
  async forget(planHash: string): Promise<void> {
    await this.redis.del(...Object.values(this.keys(planHash)));
  }
}
