// The dashboard's picture of a run: what the page shows and /metrics exports. The state store's
// facts are read at every tick (store-facts.ts); a run served in-process (`ferry run --serve`)
// adds its events, which say more and sooner: rows read within a chunk, the phase a table is in,
// the lag of every batch of live changes.
import type { RunEvent } from '../../copy/events.js';
import { lineChart, throughputChart } from '../report-charts.js';
import { verdictOf, type VerdictKind } from '../report-data.js';
import { VERDICT_TITLE } from '../report-markdown.js';
import type { StreamCount, TableStatus } from '../../session/checkpoints.js';
import type { ChunkCounts, StoreFacts } from './store-facts.js';

export interface DashboardTable {
  name: string;
  wave: number;
  /** waiting, prepare, copy, indexes, foreign keys, done */
  phase: string;
  /** rows copied so far: while a served run copies the table, rows read, the chunk under way among them */
  rows: number;
  /** rows of the chunks done (what /metrics counts: it never goes back) */
  rowsWritten: number;
  rowsEstimate: number;
  chunks: ChunkCounts;
  rejects: number;
  /** rows a second over the last few seconds */
  rowsPerSecond: number;
  etaSeconds?: number;
}

export interface DashboardSnapshot {
  run?: {
    id: string;
    status: string;
    planFile: string;
    started: string;
    finished: string | null;
    error: string | null;
  };
  /** once the run has ended: the report's verdict (report-data.ts) */
  verdict?: { kind: VerdictKind; title: string; detail: string };
  tables: DashboardTable[];
  totals: { rows: number; rowsEstimate: number; rejects: number; rowsPerSecond: number };
  cdc?: {
    start: string;
    applied?: string;
    changes: number;
    /** row changes applied per target table and source operation */
    counts: StreamCount[];
    lagSeconds?: number;
  };
  findings: { severity: string; where: string; message: string; action: string }[];
  /** reasons and counts only: a rejected row's values (transformed columns among them) never leave the state */
  rejects: { table: string; reason: string; refusedBy: string; rows: number }[];
  verification?: {
    /** started before this run ended: it does not speak for what the run wrote */
    stale: boolean;
    finished: string | null;
    results: {
      table: string;
      status: string;
      sourceRows: number;
      targetRows: number;
      mismatchedChunks: number;
      /** rows known to differ (a lower bound, see docs/observe.md) */
      mismatchedRows: number;
      message?: string;
    }[];
  };
}

export interface DashboardCharts {
  throughputSvg: string;
  lagSvg: string;
}

/** How far back a table's rate looks. */
const RATE_WINDOW_MS = 10_000;
/** Points kept for the charts (one a tick). */
const HISTORY = 3600;

/**
 * The phase a table is in: the store says where it stands, the run's events (when served
 * in-process) say what is under way. A table whose indexes are in waits for the foreign keys,
 * which come after every table's data (a target without foreign keys marks it done at once).
 */
function phaseOf(status: TableStatus | undefined, live: string | undefined, runEnded: boolean): string {
  if (status === 'linked') return 'done';
  if (status === 'finished')
    return live === 'foreign keys' ? live : runEnded ? 'indexed' : 'indexed, foreign keys next';
  if (status === 'copied') return live ?? 'finishing';
  if (status === 'prepared') return live ?? 'copy';
  return live ?? (runEnded ? 'not copied' : 'waiting');
}

interface LiveTable {
  rows: number;
  phase: string;
}

export class DashboardModel {
  private facts?: StoreFacts;
  /** what the run's events said, by table (a run served in-process) */
  private readonly live = new Map<string, LiveTable>();
  private liveRunId?: string;
  private readonly samples = new Map<string, { at: number; rows: number }[]>();
  private readonly throughput: { table: string; at: number; rows: number }[] = [];
  private readonly lag: { at: number; value: number }[] = [];
  private lastTotal?: number;
  private lastApplied?: string;
  private following = false;
  private watched?: string;

  /** The run whose facts the store is asked for: the one whose events arrive, else the latest. */
  get runId(): string | undefined {
    return this.liveRunId;
  }

  apply(e: RunEvent): void {
    if (e.type === 'start') {
      this.liveRunId = e.runId;
      for (const t of e.tables) this.live.set(t.name, { rows: t.rowsDone, phase: 'waiting' });
    } else if (e.type === 'phase') {
      const t = this.live.get(e.table);
      if (t) t.phase = e.phase;
    } else if (e.type === 'progress') {
      const t = this.live.get(e.table);
      if (t) t.rows += e.rows;
    } else if (e.type === 'table-done') {
      const t = this.live.get(e.table);
      if (t) t.phase = 'done';
    } else if (e.type === 'following') {
      this.following = true;
    } else if (e.type === 'applied' && e.lagSeconds !== undefined) {
      this.pushLag(Date.now(), e.lagSeconds);
    }
  }

  /** Takes in the store's facts of this moment and keeps a point of history for the rates and charts. */
  update(facts: StoreFacts | undefined, now = Date.now()): void {
    this.facts = facts;
    if (!facts) return;
    const tables = this.tables();
    const total = tables.reduce((n, t) => n + t.rows, 0);
    // the first look at a run counts nothing as copied now: rows copied before it are history (loaded apart);
    // rows an attempt given up had read are taken back, and the chart shows none copied then
    if (this.lastTotal !== undefined)
      this.throughput.push({ table: '', at: now, rows: Math.max(0, total - this.lastTotal) });
    this.lastTotal = total;
    trim(this.throughput);
    for (const t of tables) {
      // a table's rate counts from its copy: the time it waited for its wave is not in it
      if (t.phase !== 'copy') {
        this.samples.delete(t.name);
        continue;
      }
      const s = this.samples.get(t.name) ?? [];
      s.push({ at: now, rows: t.rows });
      while (s.length > 2 && s[0]!.at < now - RATE_WINDOW_MS) s.shift();
      this.samples.set(t.name, s);
    }
    const stream = facts.stream;
    if (!this.liveRunId && stream?.appliedAt && stream.committed && stream.appliedAt !== this.lastApplied) {
      this.lastApplied = stream.appliedAt;
      this.pushLag(Date.parse(stream.appliedAt), lagOf(stream.appliedAt, stream.committed));
    }
  }

  /** The run the facts are of from now on: its history starts afresh, from the rows it wrote before the dashboard looked (its audit log). */
  watch(runId: string, written: { at: number; rows: number }[]): void {
    this.watched = runId;
    this.lastTotal = undefined;
    this.samples.clear();
    this.lag.length = 0;
    this.throughput.length = 0;
    this.throughput.push(...written.map((c) => ({ table: '', ...c })));
    trim(this.throughput);
  }

  /** The run whose history the model holds. */
  get watchedRun(): string | undefined {
    return this.watched;
  }

  private pushLag(at: number, seconds: number): void {
    this.lag.push({ at, value: seconds });
    trim(this.lag);
  }

  private tables(): Omit<DashboardTable, 'rowsPerSecond'>[] {
    const facts = this.facts;
    if (!facts) return [];
    return facts.tables.map((t) => {
      const stored = facts.stored.get(t.name)!;
      const live = this.live.get(t.name);
      const copied = stored.status !== undefined && stored.status !== 'prepared';
      // rows read (events) run ahead of rows written (store) until the table's copy is in
      const rows = copied || !live ? stored.rows : Math.max(stored.rows, live.rows);
      return {
        name: t.name,
        wave: t.wave,
        phase: phaseOf(stored.status, live?.phase, !!facts.run.finished),
        rows,
        rowsWritten: stored.rows,
        rowsEstimate: Math.max(t.rowsEstimate, rows),
        chunks: stored.chunks,
        // the copy's rejects and those of live changes
        rejects: facts.rejects.filter((r) => r.table === t.name).reduce((n, r) => n + r.rows, 0),
      };
    });
  }

  private rate(table: string, notCopying: boolean): number {
    const s = this.samples.get(table);
    if (notCopying || !s || s.length < 2) return 0;
    const first = s[0]!;
    const last = s.at(-1)!;
    return last.at > first.at ? Math.max(0, ((last.rows - first.rows) * 1000) / (last.at - first.at)) : 0;
  }

  /** The throughput and lag charts as inline SVG (report-charts.ts); empty until there are two points. */
  charts(): DashboardCharts {
    return {
      throughputSvg: throughputChart(this.throughput),
      lagSvg: lineChart(
        'lag',
        'Lag of live changes (seconds from the source commit to the target)',
        'seconds',
        this.lag,
      ),
    };
  }

  snapshot(): DashboardSnapshot {
    const facts = this.facts;
    const tables = this.tables().map((t): DashboardTable => {
      const rowsPerSecond = this.rate(t.name, t.phase !== 'copy' || !!facts?.run.finished);
      const left = t.rowsEstimate - t.rows;
      return {
        ...t,
        rowsPerSecond,
        ...(rowsPerSecond > 0 && left > 0 ? { etaSeconds: left / rowsPerSecond } : {}),
      };
    });
    const verdict =
      facts?.run.finished &&
      verdictOf({
        run: facts.run,
        ...(facts.verification ? { verification: facts.verification } : {}),
        verificationStale: facts.verification?.stale ?? false,
        rejectedRows: facts.rejects.reduce((n, r) => n + r.rows, 0),
      });
    const stream = facts?.stream;
    const lastLag = this.lag.at(-1)?.value;
    return {
      ...(facts
        ? {
            run: {
              id: facts.run.id,
              status: facts.run.status,
              planFile: facts.run.planFile,
              started: facts.run.started,
              finished: facts.run.finished,
              error: facts.run.error,
            },
          }
        : {}),
      ...(verdict ? { verdict: { ...verdict, title: VERDICT_TITLE[verdict.kind] } } : {}),
      tables,
      totals: {
        rows: tables.reduce((n, t) => n + t.rows, 0),
        rowsEstimate: tables.reduce((n, t) => n + t.rowsEstimate, 0),
        rejects: tables.reduce((n, t) => n + t.rejects, 0),
        rowsPerSecond: tables.reduce((n, t) => n + t.rowsPerSecond, 0),
      },
      ...(stream || this.following
        ? {
            cdc: {
              start: stream?.start ?? '',
              ...(stream?.applied ? { applied: stream.applied } : {}),
              changes: stream?.changes ?? 0,
              counts: stream?.counts ?? [],
              ...(lastLag !== undefined ? { lagSeconds: lastLag } : {}),
            },
          }
        : {}),
      findings: (facts?.findings ?? []).map((f) => ({
        severity: f.severity,
        where: [f.table, f.column].filter(Boolean).join('.'),
        message: f.message,
        action: f.action,
      })),
      rejects: facts?.rejects ?? [],
      ...(facts?.verification
        ? {
            verification: {
              stale: facts.verification.stale,
              finished: facts.verification.run.finished,
              results: facts.verification.results.map((v) => ({
                table: v.table,
                status: v.status,
                sourceRows: v.sourceRows,
                targetRows: v.targetRows,
                mismatchedChunks: v.mismatchedChunks,
                mismatchedRows:
                  v.status === 'match' ? 0 : Math.max(Math.abs(v.sourceRows - v.targetRows), v.sample.length),
                ...(v.message ? { message: v.message } : {}),
              })),
            },
          }
        : {}),
    };
  }
}

function lagOf(appliedAt: string, committed: string): number {
  return Math.max(0, (Date.parse(appliedAt) - Date.parse(committed)) / 1000);
}

function trim<T>(points: T[]): void {
  if (points.length > HISTORY) points.splice(0, points.length - HISTORY);
}
