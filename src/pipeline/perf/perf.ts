// `ferry perf PLAN`: after the move, does the target answer the application's queries as the
// source does, and about as fast? Each query runs read-only on both sides (the target's through
// the plan's renames), its answers compared as canonical values and its times as median and p95;
// a slower one is shown with the target's plan and the indexes the source has and the target lacks.
import { readFileSync } from 'node:fs';
import type { Connector, QueryResult } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { fileError } from '../../core/files.js';
import { allTables, type TablePlan } from '../../core/plan.js';
import type { SqlDialect } from '../../core/sql-tokens.js';
import { openSession, type SessionOptions } from '../session/session.js';
import { answerDifference } from './answers.js';
import { missingIndexes } from './indexes.js';
import { notRunnable, ordersAnswer, splitQueries, type NamedQuery } from './queries.js';
import { NO_PLAN_TABLE, translateQuery } from './translate.js';

export interface PerfOptions extends SessionOptions {
  /** a file of queries; without it, fromStats */
  queries?: string;
  /** the source's costliest statements from its statistics */
  fromStats?: boolean;
  /** with fromStats: how many statements */
  top?: number;
  /** timed runs per query and side, after one warm-up */
  runs?: number;
  onQuery?: (q: QueryCheck) => void;
}

export interface Timing {
  medianMs: number;
  p95Ms: number;
}

export interface QueryCheck {
  name: string;
  sql: string;
  /** the query as the target ran it */
  targetSql?: string;
  /** ok; differs (answers); slower (past the threshold); untranslatable; failed (an engine refused it) */
  status: 'ok' | 'differs' | 'slower' | 'untranslatable' | 'failed';
  source?: Timing;
  target?: Timing;
  rows?: { source: number; target: number };
  /** what differs, or why it could not run */
  message?: string;
  /** a failed query: the side that refused it */
  refusedBy?: 'source' | 'target';
  /** a slower query: the target's plan, and what is likely the cause */
  explain?: string;
  causes?: string[];
}

export interface PerfResult {
  queries: QueryCheck[];
  /** statements of the statistics left out, with why */
  skipped: { sql: string; reason: string }[];
  threshold: { slowerThan: number; floorMs: number };
  ok: boolean;
}

const DIALECTS: Record<string, SqlDialect> = { postgres: 'postgres', mysql: 'mysql', sqlite: 'sqlite' };

function dialectOf(c: Connector, role: 'source' | 'target'): SqlDialect {
  const d = DIALECTS[c.kind];
  if (!d || !c.runQuery || !c.explain)
    throw new FerryError(
      'UNSUPPORTED',
      `perf needs a SQL ${role}: ${c.kind} does not run queries`,
      'use ferry verify to check the data of this target',
    );
  return d;
}

export async function perfPlan(planFile: string, opts: PerfOptions): Promise<PerfResult> {
  if (!opts.queries === !opts.fromStats)
    throw new FerryError('PLAN_INVALID', 'give --queries FILE or --from-stats', 'ferry perf PLAN --queries FILE');
  const text = opts.queries === undefined ? undefined : readQueryFile(opts.queries);
  const session = await openSession(planFile, opts);
  try {
    const { source, target, plan } = session;
    const from = dialectOf(source, 'source');
    const to = dialectOf(target, 'target');
    const threshold = { slowerThan: plan.settings.perf?.slowerThan ?? 2, floorMs: plan.settings.perf?.floorMs ?? 5 };
    const skipped: PerfResult['skipped'] = [];
    let queries: NamedQuery[] = [];
    if (text !== undefined) {
      try {
        queries = splitQueries(text, from);
      } catch (e) {
        throw new FerryError('PLAN_INVALID', `${opts.queries}: ${(e as Error).message}`, 'close it and run again');
      }
      if (queries.length === 0)
        throw new FerryError('PLAN_INVALID', `${opts.queries} holds no query`, 'end each query with ";"');
    }
    const tables = allTables(plan);
    if (text === undefined) queries = await rankedQueries(source, opts.top ?? 10, tables, from, skipped);
    const checks: QueryCheck[] = [];
    for (const q of queries) {
      const check = await checkQuery(q, source, target, tables, from, to, opts.runs ?? 5, threshold);
      // the statistics keep a statement's text in their own form, which the source may not take back
      if (text === undefined && check.status === 'failed' && check.refusedBy === 'source') {
        skipped.push({ sql: q.sql, reason: check.message! });
        continue;
      }
      opts.onQuery?.(check);
      checks.push(check);
    }
    return { queries: checks, skipped, threshold, ok: checks.every((c) => c.status === 'ok') };
  } finally {
    await session.close();
  }
}

function readQueryFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw fileError(e, `cannot read the query file ${path}`, 'check the path given to --queries');
  }
}

/** The `top` costliest SELECTs of the source's statistics that can run as they are kept. */
async function rankedQueries(
  source: Connector,
  top: number,
  tables: TablePlan[],
  dialect: SqlDialect,
  skipped: PerfResult['skipped'],
): Promise<NamedQuery[]> {
  if (!source.rankedStatements)
    throw new FerryError('UNSUPPORTED', `${source.kind} keeps no statement statistics`, 'give --queries FILE');
  // the statistics hold other statements too (writes, catalog reads, ferry's own): look further than `top`
  const ranked = await source.rankedStatements(top * 10 + 50);
  const queries: NamedQuery[] = [];
  for (const s of ranked) {
    if (queries.length === top) break;
    const reason = notRunnable(s.sql, dialect);
    if (reason === 'not a SELECT' || !touchesPlan(s.sql, tables, dialect)) continue;
    if (reason) skipped.push({ sql: s.sql, reason });
    else queries.push({ name: `top ${queries.length + 1} (${s.calls} calls)`, sql: s.sql });
  }
  return queries;
}

/** One side of a query's check: what it runs, its times, its last answer. */
interface Side {
  conn: Connector;
  sql: string;
  role: 'source' | 'target';
  times: number[];
  answer?: QueryResult;
}

async function checkQuery(
  q: NamedQuery,
  source: Connector,
  target: Connector,
  tables: TablePlan[],
  from: SqlDialect,
  to: SqlDialect,
  runs: number,
  threshold: PerfResult['threshold'],
): Promise<QueryCheck> {
  const base = { name: q.name, sql: q.sql };
  const translated = translateQuery(q.sql, tables, from, to);
  if ('problem' in translated)
    return {
      ...base,
      status: 'untranslatable',
      message: `the plan's mapping cannot translate it: ${translated.problem}`,
    };
  const check: QueryCheck = { ...base, targetSql: translated.sql, status: 'ok' };
  const sides: Side[] = [
    { conn: source, sql: q.sql, role: 'source', times: [] },
    { conn: target, sql: translated.sql, role: 'target', times: [] },
  ];
  // one warm-up each, then the runs taken in turns, so that a burst of load on the machine
  // falls on both sides alike
  for (let run = 0; run <= runs; run++) {
    for (const side of sides) {
      try {
        side.answer = await side.conn.runQuery!(side.sql);
      } catch (e) {
        const message = `the ${side.role} refused it: ${oneLine(e)}`;
        return { ...check, status: 'failed', refusedBy: side.role, message };
      }
      if (run > 0) side.times.push(side.answer.ms);
    }
  }
  const src = { answer: sides[0]!.answer!, timing: timing(sides[0]!.times) };
  const tgt = { answer: sides[1]!.answer!, timing: timing(sides[1]!.times) };
  check.source = src.timing;
  check.target = tgt.timing;
  check.rows = { source: src.answer.rows.length, target: tgt.answer.rows.length };
  const difference = answerDifference(src.answer, tgt.answer, ordersAnswer(q.sql, from));
  if (difference) return { ...check, status: 'differs', message: difference };
  const limit = Math.max(src.timing.p95Ms * threshold.slowerThan, threshold.floorMs);
  if (tgt.timing.p95Ms <= limit) return check;
  check.status = 'slower';
  check.message = `p95 ${ms(tgt.timing.p95Ms)} on the target against ${ms(src.timing.p95Ms)} on the source (more than ${threshold.slowerThan}× and ${threshold.floorMs} ms)`;
  check.explain = await target.explain!(translated.sql).catch((e: unknown) => `(cannot explain: ${oneLine(e)})`);
  check.causes = await missingIndexes(translated, source, target).catch((e: unknown) => [
    `(cannot compare the indexes: ${oneLine(e)})`,
  ]);
  if (check.causes.length === 0)
    check.causes.push('no index of the source on the columns it names is missing on the target: compare the plans');
  return check;
}

/** The median and the 95th percentile (nearest rank) of the times. */
function timing(times: number[]): Timing {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return { medianMs: at(0.5), p95Ms: at(0.95) };
}

function touchesPlan(sql: string, tables: TablePlan[], dialect: SqlDialect): boolean {
  const t = translateQuery(sql, tables, dialect, dialect);
  return !('problem' in t) || t.problem !== NO_PLAN_TABLE;
}

function ms(n: number): string {
  return `${n < 10 ? n.toFixed(2) : Math.round(n)} ms`;
}

function oneLine(e: unknown): string {
  return e instanceof FerryError ? e.message : String((e as Error)?.message ?? e);
}
