// `ferry verify PLAN`: independent of the copy path. Compares row counts and per-chunk
// order-independent digests of canonical values (range-digests.ts: computed in the databases
// where they can, in ferry otherwise), both sides in parallel, and bisects mismatching chunks
// down to the rows that differ.
import type { ReadView } from '../../core/contracts.js';
import { FerryError, isNotAboutTheData } from '../../core/errors.js';
import { rowText, type Digest } from '../../core/digest.js';
import { rejectedRowText } from '../../core/rejected-row.js';
import type { CanonicalType, KeyRange, RowBatch } from '../../core/types.js';
import { canonicalText } from '../../core/values.js';
import type { TableMapping } from '../plan/mapping.js';
import { asCommand, type CommandEnd, type CommandRun } from '../session/command.js';
import { holdingPlan } from '../session/lock.js';
import { lockRequest, openSession, type Session, type SessionOptions } from '../session/session.js';
import type { VerifyRecord } from '../session/checkpoints.js';
import { boundsOf, type Bounds } from '../copy/bounds.js';
import { refuseOrphans } from '../plan/orphans.js';
import { withAddedColumns } from '../follow/added-columns.js';
import {
  digestGroups,
  engineForms,
  sourcePushes,
  sourceSide,
  targetPushes,
  targetSide,
  type DigestSide,
} from './range-digests.js';

export interface VerifyOptions extends SessionOptions {
  /** how many differing keys to show per table */
  sample?: number;
  onTable?: (r: VerifyRecord) => void;
}

export interface VerifyResult {
  runId: string;
  tables: VerifyRecord[];
  /** every table matches and no row was rejected */
  ok: boolean;
}

const ROW_DIFF_LIMIT = 2000;
const NO_KEY_ROW_DIFF_LIMIT = 200_000;

interface Side extends DigestSide {
  rows(range: KeyRange): Promise<Map<string, string[]>>;
}

const differ = (a: Digest[], b: Digest[]) => a.some((d, i) => d.rows !== b[i]!.rows || d.sum !== b[i]!.sum);

/** Both sides' digests of a range; where digests taken in a database differ, those of the rows read whole (DigestSide.inFerry). */
async function compare(
  src: DigestSide,
  tgt: DigestSide,
  range: KeyRange,
  pushed: boolean,
): Promise<[Digest[], Digest[]]> {
  const digests = await Promise.all([src.digests(range), tgt.digests(range)]);
  if (!pushed || !differ(...digests)) return digests;
  return Promise.all([src.inFerry(range), tgt.inFerry(range)]);
}

export async function verifyPlan(planFile: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const session = await openSession(planFile, opts);
  const { state, hash, plan } = session;
  try {
    const details = { source: plan.source.url, target: plan.target.url };
    return await holdingPlan(lockRequest(session, 'verify'), () =>
      asCommand({ state, plan: { hash, file: planFile }, command: 'verify', log: session.log, details }, (run) =>
        verifyAll(session, run, opts),
      ),
    );
  } finally {
    await session.close();
  }
}

async function verifyAll(session: Session, run: CommandRun, opts: VerifyOptions): Promise<CommandEnd<VerifyResult>> {
  const results = await verifyTables(session, run, opts);
  const ok = results.every((r) => r.status === 'match' && r.rejected === 0);
  const status = ok ? 'match' : 'mismatch';
  return { result: { runId: run.id, tables: results, ok }, status, details: { tables: results.length } };
}

/**
 * Which key ranges of a table to verify: undefined, every chunk the copy made; an empty list,
 * none (the table is left out).
 */
export type RangeChoice = (m: TableMapping) => KeyRange[] | undefined;

/** Verifies the plan's tables (or the ranges `choose` picks) against the source, recording each in the state and the audit log. */
export async function verifyTables(
  session: Session,
  run: CommandRun,
  opts: Pick<VerifyOptions, 'sample' | 'onTable' | 'onWarning'>,
  choose: RangeChoice = () => undefined,
  /** bounds and a source view the caller made ahead (a cutover, outside its frozen window's critical path); the caller releases the view */
  ready?: { bounds: Bounds; view: ReadView },
): Promise<VerifyRecord[]> {
  let view: ReadView | undefined;
  try {
    // within the plan's cap on source connections and the bounds of servers and memory, like the run
    const bounds = ready?.bounds ?? (await boundsOf(session, (line) => opts.onWarning?.(line)));
    view = ready?.view ?? (await session.reader.snapshot(bounds.workers));
    // the rows the run rejected as orphans are left out of the source side as the run left them out
    await refuseOrphans(session.waves.flat(), session.reader, view, bounds.batchRows);
    const results: VerifyRecord[] = [];
    // with the columns added to followed tables: their values are compared too
    for (const m of await withAddedColumns(session, session.waves.flat())) {
      const only = choose(m);
      if (only?.length === 0) continue;
      let rec: VerifyRecord;
      try {
        rec = await verifyTable(session, m, view, bounds, opts.sample ?? 10, only);
      } catch (e) {
        // a server gone away is the command's failure (exit 1), not a difference (exit 3)
        if (isNotAboutTheData(e)) throw stoppedAt(m.target.name, e as FerryError);
        rec = {
          table: m.target.name,
          status: 'error',
          sourceRows: 0,
          targetRows: 0,
          chunks: 0,
          mismatchedChunks: 0,
          rejected: 0,
          sample: [],
          message: (e as Error).message,
        };
      }
      session.state.addVerification(run.id, rec);
      const { sample: _differing, ...counts } = rec;
      run.audit.record('table verified', counts);
      opts.onTable?.(rec);
      results.push(rec);
    }
    return results;
  } finally {
    if (!ready) await view?.release().catch(() => {});
  }
}

function stoppedAt(table: string, e: FerryError): FerryError {
  return new FerryError(e.code, `verify stopped at ${table}: ${e.message}`, e.action, { cause: e });
}

async function verifyTable(
  session: Session,
  m: TableMapping,
  view: ReadView,
  bounds: Bounds,
  sampleSize: number,
  only?: KeyRange[],
): Promise<VerifyRecord> {
  const { state, hash } = session;
  const source = session.reader;
  const target = session.writer;
  const targetTypes = m.target.columns.map((c) => c.type);
  const { batchRows } = bounds;
  // rejected rows are known differences, left out of the source side and counted: those the
  // mapping refuses (it refuses them again), and those the run recorded the target refusing
  // (by their text, their large values by the digest the reject record keeps of them)
  const refused = new Set(
    state
      .rejects(hash, m.target.name)
      .filter((r) => r.refusedBy === 'target')
      .map((r) => rejectedRowText(r.row, targetTypes)),
  );
  let rejected = 0;
  const keyText = (row: unknown[]) =>
    m.keyIndexes.length > 0
      ? m.keyIndexes.map((i) => canonicalText(row[i], targetTypes[i]!)).join(', ')
      : rowText(row, targetTypes);

  async function* sourceRows(range: KeyRange, countRejected: boolean): AsyncIterable<RowBatch> {
    for await (const batch of source.read(m.source, range, view, batchRows)) {
      const read = batch.rows.length;
      const mapped = m.mapBatch(batch, []).rows;
      const kept = refused.size === 0 ? mapped : mapped.filter((r) => !refused.has(rejectedRowText(r, targetTypes)));
      if (countRejected) rejected += read - kept.length;
      yield { rows: kept };
    }
  }
  const rowsOf = async (batches: AsyncIterable<RowBatch>): Promise<Map<string, string[]>> => {
    const out = new Map<string, string[]>();
    for await (const b of batches)
      for (const r of b.rows) {
        const k = keyText(r);
        out.set(k, [...(out.get(k) ?? []), rowText(r, targetTypes)]);
      }
    return out;
  };
  const sourceOptions = (countRejected: boolean) => ({
    source,
    view,
    mapping: m,
    rows: (r: KeyRange) => sourceRows(r, countRejected),
    refusedRows: refused.size > 0,
    batchRows,
  });
  const connections = Math.max(1, Math.min(bounds.workers, view.parallelism));
  const forms = await engineForms(source, target, m, view, refused.size > 0);
  const groups = digestGroups(m, sourcePushes(source, m, refused.size > 0), targetPushes(target, m), forms);
  const src: Side = { ...sourceSide(sourceOptions(false), groups), rows: (r) => rowsOf(sourceRows(r, false)) };
  const tgt: Side = {
    ...targetSide(target, m, groups, batchRows),
    rows: (r) => rowsOf(target.readBack(m.target, r, batchRows)),
  };
  // the first pass counts the rows the mapping refuses
  const counted = sourceSide(sourceOptions(true), groups);

  const chunks = state.chunks(hash, m.target.name);
  const ranges =
    only ??
    (chunks.length > 0
      ? chunks.map((c) => c.range)
      : m.source.key.length > 0
        ? await source.split(m.source, m.plan.chunking.rowsPerChunk, view)
        : [{}]);
  let sourceRowsTotal = 0;
  let targetRowsTotal = 0;
  const mismatched: KeyRange[] = [];
  const queue = [...ranges];
  const worker = async () => {
    for (let range = queue.shift(); range; range = queue.shift()) {
      const [a, b] = await compare(counted, tgt, range, groups.pushed);
      sourceRowsTotal += a[0]!.rows;
      targetRowsTotal += b[0]!.rows;
      if (differ(a, b)) mismatched.push(range);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));

  const sample: string[] = [];
  for (const range of mismatched) {
    if (sample.length >= sampleSize) break;
    sample.push(
      ...(await bisect(m, src, tgt, groups.pushed, range, sampleSize - sample.length, session, view, targetTypes)),
    );
  }
  return {
    table: m.target.name,
    status: mismatched.length === 0 ? 'match' : 'mismatch',
    sourceRows: sourceRowsTotal,
    targetRows: targetRowsTotal,
    chunks: ranges.length,
    mismatchedChunks: mismatched.length,
    rejected,
    sample,
  };
}

async function bisect(
  m: TableMapping,
  src: Side,
  tgt: Side,
  pushed: boolean,
  range: KeyRange,
  limit: number,
  session: Session,
  view: ReadView,
  types: CanonicalType[],
): Promise<string[]> {
  const source = session.reader;
  const n = await source.count(m.source, range, view);
  if (m.source.key.length === 0 && n > NO_KEY_ROW_DIFF_LIMIT)
    return [`${m.target.name}: digests differ (table has no key and ${n} rows: no row sample)`];
  if (n > ROW_DIFF_LIMIT && m.source.key.length > 0) {
    const parts = await source.split(m.source, Math.ceil(n / 8), view, range);
    if (parts.length > 1) {
      const out: string[] = [];
      for (const part of parts) {
        if (out.length >= limit) break;
        const [a, b] = await compare(src, tgt, part, pushed);
        if (differ(a, b))
          out.push(...(await bisect(m, src, tgt, pushed, part, limit - out.length, session, view, types)));
      }
      return out;
    }
  }
  return rowDiff(m, await src.rows(range), await tgt.rows(range), limit, types);
}

export function rowDiff(
  m: TableMapping,
  a: Map<string, string[]>,
  b: Map<string, string[]>,
  limit: number,
  types: CanonicalType[],
): string[] {
  const out: string[] = [];
  const show = (v: string | undefined) => (v === '\u0000' ? 'NULL' : JSON.stringify(v));
  // a row is named by its key; without one, by its values, those of transformed columns left out
  const name =
    m.keyIndexes.length > 0
      ? (k: string) => `(${m.target.key.join(', ')}) = ${k}`
      : (k: string) =>
          `row (${k
            .split('\u0001')
            .slice(0, -1)
            .map((v, i) => (m.transformed[i] ? '…' : show(v)))
            .join(', ')})`;
  const describe = (s: string, t: string) => {
    const sv = s.split('\u0001');
    const tv = t.split('\u0001');
    const i = sv.findIndex((v, j) => v !== tv[j]);
    if (i < 0) return 'rows differ';
    const column = `column ${m.target.columns[i]?.name ?? i} (${types[i] ? types[i]!.kind : '?'})`;
    return m.transformed[i]
      ? `${column}: values differ (the plan transforms this column: values not shown)`
      : `${column}: source ${show(sv[i])}, target ${show(tv[i])}`;
  };
  for (const [k, rows] of a) {
    if (out.length >= limit) return out;
    const other = b.get(k);
    if (!other) out.push(`${name(k)}: missing in target`);
    else if (m.keyIndexes.length > 0 && rows[0] !== other[0]) out.push(`${name(k)}: ${describe(rows[0]!, other[0]!)}`);
    else if (rows.length !== other.length) out.push(`${name(k)}: ${rows.length} in source, ${other.length} in target`);
  }
  for (const [k, rows] of b) {
    if (out.length >= limit) return out;
    if (!a.has(k)) out.push(`${name(k)}: in target only${rows.length > 1 ? ` (${rows.length} copies)` : ''}`);
    else if (m.keyIndexes.length > 0 && rows.length > 1) out.push(`${name(k)}: ${rows.length} copies in target`);
  }
  return out;
}
