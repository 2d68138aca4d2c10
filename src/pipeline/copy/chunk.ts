// The one chunk copy: every command that moves rows (run, the dry run) copies a chunk through
// copyChunk, so a rehearsal takes the real path. When no value changes on the way: the
// engine's own bytes first, when both sides name the same raw format (and nothing watches the
// rows: no sample, tap or throttle), then column batches, when both sides speak them; else
// rows, with transient errors retried; a chunk the target refuses is written again row by row
// to isolate the rows it refuses (from the first attempt where isolating costs the target nothing).
import { sliceColumns, type ColumnBatch } from '../../core/columns.js';
import type { ReadView, Reject, Source, SourceTable, Target, TargetTable, WriteResult } from '../../core/contracts.js';
import { FerryError, isTransient } from '../../core/errors.js';
import { rejectedRow } from '../../core/rejected-row.js';
import type { Logger } from '../../core/log.js';
import type { KeyRange, RowBatch } from '../../core/types.js';
import type { TableMapping } from '../plan/mapping.js';
import type { ChunkCheckpoints } from '../session/checkpoints.js';
import { withRetries, type RetrySettings } from './retry.js';
import type { Throttle } from './throttle.js';

/** What every chunk of a command is copied with. */
export interface CopyPath {
  source: Source;
  target: Target;
  /** the consistent view the chunks are read under */
  view: ReadView;
  batchRows: number;
  log: Logger;
  /** how often and how long a chunk is tried again after a transient error (the plan's settings.retries) */
  retries: RetrySettings;
  throttle?: Throttle;
  /** rows read from the source, as they are read (progress); a failed attempt's rows are taken back (negative) */
  onRows?: (table: string, rows: number) => void;
}

/** What the caller sees of what is handed to the target (the dry run digests it). */
export interface ChunkTap {
  /** an attempt starts: what earlier attempts handed over is void */
  attempt(): void;
  /** mapped rows handed to the target */
  rows(batch: RowBatch): void;
  /** a column batch handed to the target (of the target table's columns, in order) */
  columns(batch: ColumnBatch): void;
}

export interface ChunkJob {
  /** the chunk in log lines: "orders chunk 3" */
  label: string;
  m: TableMapping;
  /** where the rows go: the mapping's target table, or a dry run's scratch copy of it */
  table: TargetTable;
  range: KeyRange;
  /** the target may hold rows of this chunk from an earlier attempt: the first write replaces them */
  replace: boolean;
  /** copy at most this many rows (a dry run's sample of a table without a chunk key) */
  limit?: number;
  /** before every attempt (the run marks the chunk running in its checkpoint store) */
  onAttempt?: () => void | Promise<void>;
  tap?: ChunkTap;
}

export interface ChunkResult extends WriteResult {
  /** rows read from the source */
  rowsRead: number;
  /** the rows the target itself refused (also in `rejects`, after the rows the mapping refused) */
  refused: Reject[];
  as: 'raw' | 'columns' | 'rows';
}

/** Whether source and target name the same raw format for a table, asked once per target table of a command. */
const rawAgreements = new WeakMap<TargetTable, Promise<boolean>>();

function rawAgreed(path: CopyPath, from: SourceTable, to: TargetTable): Promise<boolean> {
  const { source, target } = path;
  if (!source.rawFormat || !source.readRaw || !target.rawFormat || !target.writeRaw) return Promise.resolve(false);
  let agreed = rawAgreements.get(to);
  if (!agreed) {
    agreed = Promise.all([source.rawFormat(from), target.rawFormat(to)]).then(
      ([a, b]) => a !== undefined && a === b,
      () => false,
    );
    rawAgreements.set(to, agreed);
  }
  return agreed;
}

/** Copies one chunk: all its rows, or all but the rejected ones, each with its reason. */
export async function copyChunk(path: CopyPath, job: ChunkJob): Promise<ChunkResult> {
  const { m, table, range } = job;
  let replace = job.replace;
  // rows read in the current attempt, as reported to the watchers: a new attempt takes them back
  let rowsRead = 0;
  const progress = (rows: number) => {
    rowsRead += rows;
    path.onRows?.(m.target.name, rows);
  };
  const newAttempt = async () => {
    await job.onAttempt?.();
    job.tap?.attempt();
    if (rowsRead !== 0) progress(-rowsRead);
  };

  const rowAttempt = async (isolate: boolean): Promise<ChunkResult> => {
    await newAttempt();
    const mapped: Reject[] = [];
    const batches = async function* (): AsyncIterable<RowBatch> {
      for await (const batch of path.source.read(m.source, range, path.view, path.batchRows)) {
        if (job.limit !== undefined && rowsRead + batch.rows.length > job.limit)
          batch.rows.length = job.limit - rowsRead;
        if (path.throttle) await path.throttle.pass(batch.rows);
        progress(batch.rows.length);
        const out = m.mapBatch(batch, mapped);
        job.tap?.rows(out);
        if (out.rows.length > 0) yield out;
        if (job.limit !== undefined && rowsRead >= job.limit) return;
      }
    };
    try {
      const result = await path.target.writeChunk({ table, range, replace, isolate }, batches());
      return { ...result, rejects: [...mapped, ...result.rejects], refused: result.rejects, rowsRead, as: 'rows' };
    } finally {
      replace = true;
    }
  };

  // a fast path the target or source refused (not a transient error: that is retried as any
  // other, as another path would meet the same server) is not tried again for this chunk
  let fastRefused = false;

  // the fastest path: the source's bytes into the target undecoded; progress comes at the end
  const rawAttempt = async (): Promise<ChunkResult | undefined> => {
    if (!m.passthrough || job.tap || job.limit !== undefined || path.throttle) return undefined;
    if (!(await rawAgreed(path, m.source, table))) return undefined;
    await newAttempt();
    try {
      const result = await path.target.writeRaw!(
        { table, range, replace, isolate: false, keyUnique: m.keyIsPrimary },
        path.source.readRaw!(m.source, range, path.view),
      );
      progress(result.rows);
      return { ...result, refused: [], rowsRead, as: 'raw' };
    } catch (e) {
      if (isTransient(e)) throw e;
      fastRefused = true;
      path.log.info(
        { table: m.target.name, chunk: job.label, err: (e as Error).message },
        'chunk not written raw; writing it from decoded values',
      );
      return undefined;
    } finally {
      replace = true;
    }
  };

  // the fast path: column batches, when both sides speak them and no value changes
  const columnAttempt = async (): Promise<ChunkResult | undefined> => {
    if (!m.columnar || !path.target.writeColumns || !path.target.takesColumns?.(table)) return undefined;
    const read = path.source.readColumns?.(m.source, range, path.view, path.batchRows);
    if (!read) return undefined;
    await newAttempt();
    const batches = async function* (): AsyncIterable<ColumnBatch> {
      for await (let batch of read) {
        if (job.limit !== undefined && rowsRead + batch.rows > job.limit)
          batch = sliceColumns(batch, 0, job.limit - rowsRead);
        if (path.throttle) await path.throttle.passColumns(batch);
        progress(batch.rows);
        job.tap?.columns(batch);
        yield batch;
        if (job.limit !== undefined && rowsRead >= job.limit) return;
      }
    };
    try {
      const result = await path.target.writeColumns(
        { table, range, replace, isolate: false, keyUnique: m.keyIsPrimary },
        batches(),
      );
      return { ...result, refused: [], rowsRead, as: 'columns' };
    } catch (e) {
      if (isTransient(e)) throw e;
      fastRefused = true;
      path.log.info(
        { table: m.target.name, chunk: job.label, err: (e as Error).message },
        'chunk not written from columns; writing it as rows',
      );
      return undefined;
    } finally {
      replace = true;
    }
  };

  const isolateFirst = path.target.isolatesFree === true;
  const attempt = async () =>
    (fastRefused ? undefined : ((await rawAttempt()) ?? (await columnAttempt()))) ?? rowAttempt(isolateFirst);
  try {
    return await withRetries(job.label, path.log, path.retries, attempt);
  } catch (e) {
    if (isolateFirst || isTransient(e) || !(e instanceof FerryError) || e.code !== 'WRITE_FAILED') throw e;
    path.log.info(
      { table: m.target.name, chunk: job.label, err: e.message },
      'chunk refused by the target; writing row by row to isolate the refused rows',
    );
    return withRetries(job.label, path.log, path.retries, () => rowAttempt(true));
  }
}

/** A chunk of a plan, as its checkpoint store keeps it. */
export interface PlannedChunk {
  planHash: string;
  /** the run the chunk is copied for */
  runId: string;
  m: TableMapping;
  idx: number;
  range: KeyRange;
  /** an earlier attempt may have committed rows of the chunk in the target */
  replace: boolean;
}

/**
 * Copies one chunk of a plan through copyChunk and records it in a checkpoint store: running at
 * every attempt, done with its rows, rejects and digest once the target holds it, failed with
 * the error's one line. A local run records in its SQLite store; a queue's worker in the
 * queue's shared store (queue/job.ts).
 */
export async function copyRecordedChunk(
  path: CopyPath,
  store: ChunkCheckpoints,
  chunk: PlannedChunk,
): Promise<ChunkResult> {
  const { planHash, m, idx } = chunk;
  const name = m.target.name;
  try {
    const result = await copyChunk(path, {
      label: `${name} chunk ${idx}`,
      m,
      table: m.target,
      range: chunk.range,
      replace: chunk.replace,
      onAttempt: () => store.startChunk(planHash, name, idx),
    });
    const refused = new Set(result.refused);
    const rejects = result.rejects.map(
      (r) => ({ ...r, row: rejectedRow(r.row), refusedBy: refused.has(r) ? 'target' : 'mapping' }) as const,
    );
    await store.finishChunk(planHash, name, idx, chunk.runId, result.rows, rejects, result.digest);
    return result;
  } catch (e) {
    await store.failChunk(planHash, name, idx, e instanceof FerryError ? e.oneLine() : String((e as Error).message));
    throw e;
  }
}
