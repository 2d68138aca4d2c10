// `ferry test PLAN`: a dry run. A sample of every table goes through the real path (mapping,
// checks, the target's prepare, chunk writes, indexes) into scratch tables of the real target,
// named after the real ones with a suffix of their own (orders__ferrytest_3fa9c1, or what the
// target makes of it: a scratch folder, a scratch DynamoDB table), so the real tables are
// never touched. The sample is verified (the digest of what ferry handed the target against
// the digest of what the target reads back), the timings give an estimate of the full run,
// and the scratch tables are dropped afterwards. Each scratch table is recorded in the state
// before it is made and forgotten when it is dropped: an interrupted dry run drops its own
// before it ends, and one that was killed leaves records the next dry run finds and drops.
import { randomBytes } from 'node:crypto';
import type { ReadView, Reject, TargetTable } from '../../core/contracts.js';
import { rowsOfColumns } from '../../core/columns.js';
import { DigestBuilder, rowText, type Digest } from '../../core/digest.js';
import { FerryError } from '../../core/errors.js';
import { fitName } from '../../core/names.js';
import type { Finding, KeyRange, RowBatch } from '../../core/types.js';
import { canonicalText } from '../../core/values.js';
import type { AuditLog } from '../safety/audit.js';
import type { ScratchRecord } from '../session/checkpoints.js';
import type { TableMapping } from '../plan/mapping.js';
import { systemClock, type Clock } from './schedule.js';
import { asCommand, type CommandEnd, type CommandRun } from '../session/command.js';
import { holdingPlan } from '../session/lock.js';
import { lockRequest, openSession, type Session, type SessionOptions } from '../session/session.js';
import { copyChunk, type ChunkTap, type CopyPath } from './chunk.js';
import { preflight } from './preflight.js';
import { boundsOf } from './bounds.js';
import { Throttle } from './throttle.js';
import { rowDiff } from '../verify/verify.js';
import { refuseOrphans } from '../plan/orphans.js';

export interface DryRunOptions extends SessionOptions {
  /** rows per table (default 1000) */
  sample?: number;
  /** a percentage of each table's rows instead of a fixed number */
  percent?: number;
  /** leave the scratch tables in place to look at them */
  keep?: boolean;
  clock?: Clock;
  onTable?: (t: DryRunTable) => void;
  /** an interrupt: the dry run stops between slices of the sample, drops its scratch tables and throws INTERRUPTED */
  signal?: AbortSignal;
}

export interface DryRunTable {
  table: string;
  scratch: string;
  /** rows of the table in the source */
  rows: number;
  sampled: number;
  written: number;
  /** the sample's chunks by the path they took, as a run's would: column batches or rows */
  as: { columns: number; rows: number };
  rejected: number;
  /** the first reasons rows were rejected for */
  rejects: string[];
  match: boolean;
  differences: string[];
  seconds: { prepare: number; copy: number; indexes: number };
  rowsPerSecond: number;
  /** the table's copy at the sample's rate */
  estimatedSeconds: number;
}

export interface DryRunResult {
  runId: string;
  suffix: string;
  tables: DryRunTable[];
  findings: Finding[];
  /** the full run's copy time at the sample's rates */
  estimatedSeconds: number;
  /** no blocking finding, no rejected row, every sample verified */
  ok: boolean;
  /** scratch tables left in place (keep) */
  kept: string[];
  /** scratch tables earlier dry runs left (interrupted, killed), dropped before this one began */
  leftovers: string[];
}

const DEFAULT_SAMPLE = 1000;
/** a sample is taken from this many places of a table, so it is not only its oldest rows */
const SLICES = 8;
const MAX_NAME_BYTES = 60;
const SHOWN = 5;

/** The scratch name of a table (or index, or key): the name cut to fit (with a hash: two names stay two), then the suffix. */
function scratchName(name: string, suffix: string): string {
  const dot = name.lastIndexOf('.');
  const schema = dot >= 0 ? name.slice(0, dot + 1) : '';
  const room = { max: MAX_NAME_BYTES - Buffer.byteLength(suffix), unit: 'bytes' } as const;
  return schema + fitName(name.slice(dot + 1), room) + suffix;
}

function scratchTable(t: TargetTable, suffix: string): TargetTable {
  return {
    ...t,
    name: scratchName(t.name, suffix),
    indexes: t.indexes.map((i) => ({ ...i, name: scratchName(i.name, suffix) })),
    foreignKeys: t.foreignKeys.map((f) => ({
      ...f,
      name: scratchName(f.name, suffix),
      refTable: scratchName(f.refTable, suffix),
    })),
  };
}

/** Lane-wise difference of two digests (a digest is a sum, so rows can be taken out of it). */
function minus(a: Digest, b: Digest): Digest {
  const x = Buffer.from(a.sum, 'hex');
  const y = Buffer.from(b.sum, 'hex');
  for (let i = 0; i < 16; i += 4) x.writeUInt32LE((x.readUInt32LE(i) - y.readUInt32LE(i)) >>> 0, i);
  return { rows: a.rows - b.rows, sum: x.toString('hex') };
}

/**
 * Where the sample comes from: the first rows of SLICES ranges spread over the key (two rounds
 * of keyset quantiles), the whole table when it is small, or, without a key, its first rows.
 */
async function sampleRanges(
  session: Session,
  m: TableMapping,
  n: number,
  total: number,
  view: ReadView,
): Promise<KeyRange[] | 'first-rows'> {
  if (n >= total) return [{}];
  if (m.source.key.length === 0) return 'first-rows';
  const source = session.reader;
  const slices = Math.min(SLICES, n);
  const coarse = await source.split(m.source, Math.ceil(total / slices), view);
  const out: KeyRange[] = [];
  for (const range of coarse) out.push((await source.split(m.source, Math.ceil(n / slices), view, range))[0] ?? range);
  return out;
}

/** Copies a sample of a table into its (prepared) scratch table, builds its indexes and verifies it. */
async function sampleTable(
  session: Session,
  path: CopyPath,
  m: TableMapping,
  table: TargetTable,
  n: number,
  total: number,
  workers: number,
  stopIfAsked: () => void,
): Promise<Omit<DryRunTable, 'seconds'> & { seconds: { copy: number; indexes: number }; findings: Finding[] }> {
  const { target, view, batchRows } = path;
  const types = table.columns.map((c) => c.type);
  const findings: Finding[] = [];
  const where = await sampleRanges(session, m, n, total, view);
  const ranges = where === 'first-rows' ? [{}] : where;
  const t1 = performance.now();
  const rejects: Reject[] = [];
  // the rows the target refused, as it received them
  const refusedRows = new Set<string>();
  const handed = new Map<KeyRange, Digest>();
  let written = 0;
  let sampled = 0;
  const as = { columns: 0, rows: 0 };

  const copyRange = async (range: KeyRange, i: number) => {
    let digest = new DigestBuilder(types);
    const tap: ChunkTap = {
      attempt: () => (digest = new DigestBuilder(types)),
      rows: (batch) => batch.rows.forEach((row) => digest.add(row)),
      columns: (batch) => rowsOfColumns(batch, types).forEach((row) => digest.add(row)),
    };
    const result = await copyChunk(path, {
      label: `${m.target.name} sample ${i}`,
      m,
      table,
      range,
      replace: false,
      limit: where === 'first-rows' ? n : undefined,
      tap,
    });
    const refused = new DigestBuilder(types);
    for (const r of result.refused) {
      refused.add(r.row);
      refusedRows.add(rowText(r.row, types));
    }
    handed.set(range, minus(digest.result(), refused.result()));
    rejects.push(...result.rejects);
    written += result.rows;
    sampled += result.rowsRead;
    // a tapped chunk never goes raw (its values are digested): where a run's would, it goes as columns
    as[result.as === 'rows' ? 'rows' : 'columns']++;
  };
  const queue = ranges.map((range, i) => ({ range, i }));
  // every worker has stopped before this returns (or throws): nothing writes to a scratch table being dropped
  const ended = await Promise.allSettled(
    Array.from({ length: Math.min(workers, queue.length) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        try {
          stopIfAsked();
          await copyRange(job.range, job.i);
        } catch (e) {
          queue.length = 0;
          throw e;
        }
      }
    }),
  );
  const failed = ended.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const t2 = performance.now();
  try {
    await target.finishTable(table);
  } catch (e) {
    findings.push({
      severity: 'error',
      code: 'INDEX_FAILED',
      table: m.target.name,
      message: `building the indexes and keys of the sample failed: ${(e as Error).message}`,
      action: 'fix the plan (indexes, unique keys) or the data that breaks them',
    });
  }
  const t3 = performance.now();

  const differences: string[] = [];
  for (const range of ranges) {
    const expected = handed.get(range)!;
    const back = new DigestBuilder(types);
    for await (const b of target.readBack(table, where === 'first-rows' ? {} : range, batchRows))
      for (const row of b.rows) back.add(row);
    const actual = back.result();
    if (actual.rows === expected.rows && actual.sum === expected.sum) continue;
    if (m.keyIndexes.length === 0)
      differences.push(`${expected.rows} rows written, ${actual.rows} read back, and the rows differ`);
    else
      differences.push(
        ...(await rowsDiffering(session, m, table, range, view, refusedRows)).slice(0, SHOWN - differences.length),
      );
    if (differences.length >= SHOWN) break;
  }
  const copySeconds = (t2 - t1) / 1000;
  const rate = copySeconds > 0 ? sampled / copySeconds : 0;
  if (rejects.length > 0)
    findings.push({
      severity: 'warning',
      code: 'SAMPLE_REJECTS',
      table: m.target.name,
      message: `${rejects.length} of ${sampled} sampled rows of ${m.target.name} were rejected, e.g. ${rejects[0]!.reason}`,
      action: 'change the column types or transforms in the plan, or raise settings.maxRejects to accept them',
    });
  if (differences.length > 0)
    findings.push({
      severity: 'error',
      code: 'SAMPLE_MISMATCH',
      table: m.target.name,
      message: `the target does not give back what was written to ${table.name}: ${differences[0]}`,
      action: 'change the column type in the plan to one that keeps the values',
    });
  return {
    table: m.target.name,
    scratch: table.name,
    rows: total,
    sampled,
    written,
    as,
    rejected: rejects.length,
    rejects: [...new Set(rejects.map((r) => r.reason))].slice(0, SHOWN),
    match: differences.length === 0,
    differences,
    seconds: { copy: copySeconds, indexes: (t3 - t2) / 1000 },
    rowsPerSecond: Math.round(rate),
    estimatedSeconds: rate > 0 ? Math.ceil(total / rate) : 0,
    findings,
  };
}

/**
 * The rows of a range that differ between the source (mapped, rejects left out: those the
 * mapping refuses, and `refused`, the texts of the rows the target refused) and the scratch table.
 */
async function rowsDiffering(
  session: Session,
  m: TableMapping,
  table: TargetTable,
  range: KeyRange,
  view: ReadView,
  refused: Set<string>,
): Promise<string[]> {
  const types = table.columns.map((c) => c.type);
  const keyText = (row: unknown[]) => m.keyIndexes.map((i) => canonicalText(row[i], types[i]!)).join(', ');
  const byKey = async (batches: AsyncIterable<RowBatch>, mapped: boolean) => {
    const out = new Map<string, string[]>();
    for await (const b of batches) {
      const rows = mapped ? b.rows : m.mapBatch(b, []).rows.filter((r) => !refused.has(rowText(r, types)));
      for (const r of rows) out.set(keyText(r), [...(out.get(keyText(r)) ?? []), rowText(r, types)]);
    }
    return out;
  };
  const a = await byKey(session.reader.read(m.source, range, view, session.plan.settings.batchRows), false);
  const b = await byKey(session.writer.readBack(table, range, session.plan.settings.batchRows), true);
  return rowDiff(m, a, b, SHOWN, types);
}

export async function dryRun(planFile: string, opts: DryRunOptions = {}): Promise<DryRunResult> {
  if (opts.sample !== undefined && (!Number.isInteger(opts.sample) || opts.sample < 1))
    throw new FerryError(
      'PLAN_INVALID',
      `--sample must be a whole number of rows, at least 1 (got ${opts.sample})`,
      'for example --sample 1000',
    );
  if (opts.percent !== undefined && !(opts.percent > 0 && opts.percent <= 100))
    throw new FerryError(
      'PLAN_INVALID',
      `--percent must be more than 0 and at most 100 (got ${opts.percent})`,
      'for example --percent 1',
    );
  const session = await openSession(planFile, opts);
  const { state, hash, plan } = session;
  try {
    if (!session.writer.drop)
      throw new FerryError(
        'UNSUPPORTED',
        `a dry run is not available for ${session.target.kind} targets: the connector cannot remove the scratch tables afterwards`,
        'run the plan against a scratch target of your own',
      );
    const suffix = `__ferrytest_${randomBytes(3).toString('hex')}`;
    const details = {
      target: plan.target.url,
      suffix,
      sample: opts.percent !== undefined ? `${opts.percent}%` : (opts.sample ?? DEFAULT_SAMPLE),
    };
    return await holdingPlan(lockRequest(session, 'test'), () =>
      asCommand({ state, plan: { hash, file: planFile }, command: 'test', log: session.log, details }, (run) =>
        sampleAll(session, run, suffix, opts),
      ),
    );
  } finally {
    await session.close();
  }
}

/** The key scratch tables are recorded under: the target as the plan writes it (secrets as references). */
function targetKey(session: Session): string {
  return JSON.stringify({ url: session.plan.target.url, options: session.plan.target.options ?? null });
}

/** The error a dry run stops with when it is interrupted, once its scratch tables are dropped (or not). */
function interrupted(left: string[]): FerryError {
  return new FerryError(
    'INTERRUPTED',
    left.length === 0
      ? 'ferry test was interrupted; its scratch tables are dropped'
      : `ferry test was interrupted and could not drop its scratch tables ${left.join(', ')}`,
    left.length === 0 ? '' : 'run `ferry test` again: it drops them first (or drop them by hand)',
  );
}

/** The dry run proper: the run's checks, then a sample of every table into its scratch table; the scratch tables go afterwards. */
async function sampleAll(
  session: Session,
  run: CommandRun,
  suffix: string,
  opts: DryRunOptions,
): Promise<CommandEnd<DryRunResult>> {
  const { state, plan } = session;
  const target = session.writer;
  const targetId = targetKey(session);
  const prepared: ScratchRecord[] = [];
  let view: ReadView | undefined;
  let failure: unknown;
  const stopIfAsked = () => {
    if (opts.signal?.aborted) throw interrupted([]);
  };
  const findings: Finding[] = [];
  // what earlier dry runs left: rows of the source sitting in the target under scratch names
  const leftovers = state.scratchTables(targetId);
  const stillLeft = await dropScratch(session, leftovers, run.audit, 'leftover scratch tables dropped');
  if (stillLeft.length > 0)
    findings.push({
      severity: 'warning',
      code: 'SCRATCH_LEFT',
      message: `scratch tables earlier dry runs left could not be dropped: ${stillLeft.join(', ')}`,
      action: 'drop them by hand; they hold sampled rows of the source',
    });
  const finish = (tables: DryRunTable[]): CommandEnd<DryRunResult> => {
    state.addFindings(run.id, findings);
    const ok = !findings.some((f) => f.severity === 'error') && tables.every((t) => t.match && t.rejected === 0);
    const estimatedSeconds = tables.reduce((sum, t) => sum + t.estimatedSeconds, 0);
    const kept = opts.keep ? [...new Set(prepared.map((p) => p.table.name))] : [];
    const dropped = [...new Set(leftovers.map((l) => l.table.name))].filter((n) => !stillLeft.includes(n));
    return {
      result: { runId: run.id, suffix, tables, findings, estimatedSeconds, ok, kept, leftovers: dropped },
      status: ok ? 'ok' : 'findings',
      details: { ok, findings: findings.length, estimatedSeconds },
    };
  };
  try {
    const all = session.waves.flat();
    // the same checks a run makes before it writes
    findings.push(...(await preflight(session)));
    if (findings.some((f) => f.severity === 'error')) return finish([]);
    if (all.some((m) => m.target.foreignKeys.length > 0))
      findings.push({
        severity: 'info',
        code: 'SAMPLE_NO_FOREIGN_KEYS',
        message: 'foreign keys are not checked on a sample (the parents of sampled rows are mostly not in it)',
        action: '`ferry run` adds them after the data; `ferry verify` checks every row',
      });
    stopIfAsked();
    const { workers, batchRows } = await boundsOf(session, (line) => opts.onWarning?.(line));
    view = await session.reader.snapshot(workers);
    await refuseOrphans(all, session.reader, view, batchRows);
    const path: CopyPath = {
      source: session.reader,
      target,
      view,
      batchRows,
      log: session.log,
      retries: plan.settings.retries,
      throttle: Throttle.of(plan.settings.throttle, opts.clock ?? systemClock),
    };
    const tables: DryRunTable[] = [];
    for (const m of all) {
      stopIfAsked();
      const total = await session.reader.count(m.source, {}, view);
      const n = Math.max(
        1,
        Math.min(
          total,
          opts.percent !== undefined ? Math.ceil((total * opts.percent) / 100) : (opts.sample ?? DEFAULT_SAMPLE),
        ),
      );
      const scratch = target.scratch ? target.scratch(m.target, suffix) : scratchTable(m.target, suffix);
      const t0 = performance.now();
      const record = { id: state.recordScratch(targetId, run.id, scratch), runId: run.id, table: scratch };
      try {
        // 'fail': a table of that name that is not this dry run's own is never touched
        await target.prepare(scratch, 'fail');
      } catch (e) {
        if (e instanceof FerryError && e.code === 'TABLE_EXISTS') state.forgetScratch([record.id]);
        else prepared.push(record);
        throw e;
      }
      prepared.push(record);
      const prepare = (performance.now() - t0) / 1000;
      const {
        findings: own,
        seconds,
        ...rest
      } = await sampleTable(session, path, m, scratch, n, total, workers, stopIfAsked);
      const t: DryRunTable = { ...rest, seconds: { prepare, ...seconds } };
      findings.push(...own);
      tables.push(t);
      run.audit.record('table sampled', {
        table: t.table,
        scratch: t.scratch,
        sampled: t.sampled,
        as: t.as,
        written: t.written,
        rejected: t.rejected,
        match: t.match,
      });
      opts.onTable?.(t);
    }
    return finish(tables);
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    await view?.release().catch(() => {});
    if (opts.keep) state.forgetScratch(prepared.map((p) => p.id));
    else {
      const left = await dropScratch(session, prepared, run.audit, 'scratch tables dropped');
      if (failure instanceof FerryError && failure.code === 'INTERRUPTED') throw interrupted(left);
      // a failed cleanup is the error to report, unless the dry run failed first
      if (left.length > 0 && failure === undefined)
        throw new FerryError(
          'WRITE_FAILED',
          `the dry run could not drop its scratch tables ${left.join(', ')}`,
          'run `ferry test` again: it drops them first (or drop them by hand; they hold only sampled rows)',
        );
    }
  }
}

/**
 * Drops scratch tables, the last made first (children before parents), and forgets those
 * dropped; returns the names of those that could not be dropped (still recorded).
 */
async function dropScratch(
  session: Session,
  tables: ScratchRecord[],
  audit: AuditLog,
  event: string,
): Promise<string[]> {
  if (tables.length === 0) return [];
  const dropped: number[] = [];
  // tables that share storage (DynamoDB entities) share a scratch name: each is named once
  const left = new Set<string>();
  for (const t of [...tables].reverse()) {
    try {
      await session.writer.drop!(t.table);
      dropped.push(t.id);
    } catch {
      left.add(t.table.name);
    }
  }
  session.state.forgetScratch(dropped);
  audit.record(event, {
    tables: [...new Set(tables.map((t) => t.table.name))],
    ...(left.size > 0 ? { left: [...left] } : {}),
    ...(tables.some((t) => t.runId !== audit.runId) ? { of: [...new Set(tables.map((t) => t.runId))] } : {}),
  });
  return [...left];
}
