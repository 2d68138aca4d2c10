// A chunk job: the message that names one chunk of a plan, and `executeChunkJob`, which
// carries it out through the same copy path as `ferry run` (copy/chunk.ts `copyRecordedChunk`),
// recording it in a shared checkpoint store. `ferry worker` runs it for BullMQ jobs; any other
// carrier (a serverless function fed by a message queue) runs the same function.
//
// The message holds no secret: the plan's endpoints travel as the plan writes them, with
// ${env:…}/${file:…} references that each worker resolves from its own environment, and the
// plan itself is read from `plan.file` on the worker's machine, or from the file the carrier
// names instead (a function's deployment package); its hash must match.
import { FerryError, isTransient, type ErrorCode } from '../../core/errors.js';
import type { ReadView } from '../../core/contracts.js';
import type { Logger } from '../../core/log.js';
import { loadPlan } from '../../core/plan.js';
import { hasLiteralPassword } from '../../core/secrets.js';
import type { KeyRange } from '../../core/types.js';
import { stateParse, stateStringify } from '../../core/values.js';
import { copyRecordedChunk, type ChunkResult } from '../copy/chunk.js';
import { systemClock } from '../copy/schedule.js';
import { Throttle } from '../copy/throttle.js';
import type { ChunkCheckpoints } from '../session/checkpoints.js';
import { openEndpoints, type Endpoints } from '../session/session.js';

/** Version 1 of the chunk job message (JSON). */
export interface ChunkJobMessage {
  v: 1;
  /** the plan file, as the workers' machines reach it, and the hash of the plan the coordinator runs */
  plan: { file: string; hash: string };
  /** the plan's endpoints as it writes them: secrets only as ${env:…}/${file:…} references */
  source: string;
  target: string;
  /** the coordinator's run */
  runId: string;
  /** the target table's name and the chunk's index in it */
  table: string;
  chunk: number;
  /** the chunk's key range, in the state store's text form (`stateStringify`: bigints and bytes kept) */
  range: string;
  /** the coordinator's source snapshot (`ReadView.exported`), which the worker reads under */
  snapshot: string;
  /** rows per batch, as the coordinator bounded them */
  batchRows: number;
  /** an earlier attempt may have committed rows of the chunk: the first write replaces them */
  replace: boolean;
}

/** Builds a chunk job's message; a literal secret in an endpoint is refused (plans hold references only). */
export function chunkJobMessage(m: Omit<ChunkJobMessage, 'v' | 'range'> & { range: KeyRange }): ChunkJobMessage {
  for (const url of [m.source, m.target])
    if (hasLiteralPassword(url))
      throw new FerryError(
        'UNSUPPORTED',
        'a queued run cannot send an endpoint with a literal password to its workers',
        'write ${env:NAME} or ${file:path} in its place in the plan',
      );
  return { v: 1, ...m, range: stateStringify(m.range) };
}

function knownFormat(v: unknown): void {
  if (v !== 1)
    throw new FerryError(
      'UNSUPPORTED',
      `a chunk job of format ${JSON.stringify(v)} reached a worker that knows 1`,
      'run the same ferry version on every machine',
    );
}

/** A chunk job's message from the text a carrier received (a queue message's body); one line naming what is wrong. */
export function parseChunkJob(text: string): ChunkJobMessage {
  const bad = (why: string) =>
    new FerryError(
      'UNSUPPORTED',
      `a chunk job message ${why}`,
      'send only the messages `ferry run --queue` makes (docs/scale-out.md, "The chunk job message")',
    );
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw bad('is not JSON');
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw bad('is not a JSON object');
  const o = m as Record<string, unknown>;
  knownFormat(o.v);
  const plan = o.plan as Record<string, unknown> | undefined;
  if (typeof plan?.file !== 'string' || typeof plan.hash !== 'string') throw bad('has no plan.file and plan.hash');
  for (const k of ['source', 'target', 'runId', 'table', 'range', 'snapshot'] as const)
    if (typeof o[k] !== 'string') throw bad(`has no ${k}`);
  for (const k of ['chunk', 'batchRows'] as const)
    if (!Number.isSafeInteger(o[k]) || (o[k] as number) < 0) throw bad(`has no whole number ${k}`);
  if (typeof o.replace !== 'boolean') throw bad('has no replace');
  return m as ChunkJobMessage;
}

/** What a chunk job reports when done: a summary (the rows and rejects are in the checkpoint store). */
export interface ChunkJobResult {
  table: string;
  chunk: number;
  rows: number;
  rejects: number;
  as: ChunkResult['as'];
}

/** What the worker keeps between jobs: a plan's endpoints and the snapshot it reads under. */
interface Opened {
  endpoints: Endpoints;
  view?: { snapshot: string; view: ReadView };
  throttle?: Throttle;
}

/**
 * A worker's open plans, by hash: endpoints are connected once per plan and the snapshot is
 * imported once per run, then shared by the jobs the worker carries out at once.
 */
export class ChunkJobContext {
  private readonly plans = new Map<string, Promise<Opened>>();

  constructor(
    /** where the worker records the chunks it copies */
    readonly checkpoints: ChunkCheckpoints,
    readonly log: Logger,
    /** jobs the worker carries out at once: the readers of its view */
    readonly concurrency: number,
    /** the plan file on this machine, where it is not at the path the jobs name (a function's deployment package) */
    readonly planFile?: string,
  ) {}

  /** The plan a job names, opened once: refused in one line when this worker's plan is another. */
  plan(message: ChunkJobMessage): Promise<Opened> {
    let opening = this.plans.get(message.plan.hash);
    if (!opening) {
      const file = this.planFile ?? message.plan.file;
      const differs = (hash: string) =>
        new FerryError(
          'PLAN_INVALID',
          `the plan ${file} on this worker is not the plan the run was started with (hash ${hash.slice(0, 12)}, not ${message.plan.hash.slice(0, 12)})`,
          'give every worker the same plan file as the machine that runs `ferry run --queue`',
        );
      opening = (async () => {
        // checked before anything is connected to (a job of another plan costs a read of the
        // file), and again on the plan the endpoints were opened from (the file may change meanwhile)
        const { hash } = loadPlan(file);
        if (hash !== message.plan.hash) throw differs(hash);
        const endpoints = await openEndpoints(file, { log: this.log });
        if (endpoints.hash !== message.plan.hash) {
          await endpoints.close();
          throw differs(endpoints.hash);
        }
        return { endpoints, throttle: Throttle.of(endpoints.plan.settings.throttle, systemClock) };
      })();
      this.plans.set(message.plan.hash, opening);
      opening.catch(() => this.plans.delete(message.plan.hash));
    }
    return opening;
  }

  async open(message: ChunkJobMessage): Promise<{ opened: Opened; view: ReadView }> {
    const opened = await this.plan(message);
    if (opened.view?.snapshot !== message.snapshot) {
      const { reader, source } = opened.endpoints;
      if (!reader.importView)
        throw new FerryError(
          'UNSUPPORTED',
          `a ${source.kind} source cannot share its snapshot with workers`,
          'run the plan without --queue',
        );
      const old = opened.view;
      // the jobs of the earlier run still reading it end on their own: a new run has a new snapshot
      opened.view = { snapshot: message.snapshot, view: await reader.importView(message.snapshot, this.concurrency) };
      if (old) void old.view.release().catch(() => {});
    }
    return { opened, view: opened.view.view };
  }

  async close(): Promise<void> {
    const all = [...this.plans.values()];
    this.plans.clear();
    await Promise.allSettled(
      all.map(async (p) => {
        const o = await p;
        await o.view?.view.release();
        await o.endpoints.close();
      }),
    );
  }
}

/**
 * Carries out one chunk job: reads the chunk's range under the coordinator's snapshot and
 * writes it through the one copy path, replacing what an earlier attempt left (a replay leaves
 * exactly one copy), recording it in the context's checkpoint store. `onRows` is told the rows
 * read so far in the current attempt.
 */
export async function executeChunkJob(
  message: ChunkJobMessage,
  ctx: ChunkJobContext,
  opts: { replace?: boolean; onRows?: (rows: number) => void } = {},
): Promise<ChunkJobResult> {
  knownFormat(message.v);
  const { opened, view } = await ctx.open(message);
  const { endpoints } = opened;
  const m = endpoints.waves.flat().find((t) => t.target.name === message.table);
  if (!m)
    throw new FerryError(
      'PLAN_INVALID',
      `the plan has no table ${message.table}`,
      'give every worker the same plan file',
    );
  let read = 0;
  const result = await copyRecordedChunk(
    {
      source: endpoints.reader,
      target: endpoints.writer,
      view,
      batchRows: message.batchRows,
      log: endpoints.log,
      retries: endpoints.plan.settings.retries,
      throttle: opened.throttle,
      onRows: (_table, rows) => {
        read += rows;
        opts.onRows?.(read);
      },
    },
    ctx.checkpoints,
    {
      planHash: message.plan.hash,
      runId: message.runId,
      m,
      idx: message.chunk,
      range: stateParse<KeyRange>(message.range),
      replace: message.replace || opts.replace === true,
    },
  );
  return {
    table: message.table,
    chunk: message.chunk,
    rows: result.rows,
    rejects: result.rejects.length,
    as: result.as,
  };
}

/** An error of a chunk job as a carrier passes it on (one line of text), and back. */
export function jobFailure(e: unknown): string {
  const f =
    e instanceof FerryError
      ? { code: e.code, message: e.message, action: e.action, transient: e.transient }
      : { code: 'INTERNAL', message: String((e as Error)?.message ?? e), action: 'report this', transient: false };
  return JSON.stringify(f);
}

export function failureOf(reason: string): FerryError {
  try {
    const f = JSON.parse(reason) as { code: ErrorCode; message: string; action: string; transient: boolean };
    return new FerryError(f.code, f.message, f.action, { transient: f.transient });
  } catch {
    return new FerryError('INTERNAL', `a worker failed: ${reason}`, "see the worker's log");
  }
}

/** Whether a carrier should try the job again (after its backoff): only errors a retry may fix. */
export function retryable(e: unknown): boolean {
  return isTransient(e);
}
