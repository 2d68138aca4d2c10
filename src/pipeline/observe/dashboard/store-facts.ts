// What the state store says about a run, read again at every tick of the dashboard: its tables'
// chunks and rows, its findings, its rejects (reasons and counts, never row values), the plan's
// latest verification and its stream of live changes. A run in another process is watched this
// way (`ferry serve`); a run served in-process adds its events (model.ts).
import { readFileSync } from 'node:fs';
import { parsePlan } from '../../../core/plan.js';
import type { Finding } from '../../../core/types.js';
import { auditEvents } from '../../safety/audit.js';
import type {
  ChunkStatus,
  RejectReason,
  RunRecord,
  StateStore,
  StreamRecord,
  TableStatus,
  VerifyRecord,
} from '../../session/checkpoints.js';

export type ChunkCounts = Record<ChunkStatus, number>;

export interface PlannedTable {
  name: string;
  wave: number;
  rowsEstimate: number;
}

export interface StoredTable {
  status?: TableStatus;
  chunks: ChunkCounts;
  /** rows of the chunks done, by this run and earlier ones */
  rows: number;
}

export interface StoreFacts {
  run: RunRecord;
  tables: PlannedTable[];
  stored: Map<string, StoredTable>;
  findings: Finding[];
  rejects: RejectReason[];
  verification?: { run: RunRecord; results: VerifyRecord[]; stale: boolean };
  stream?: StreamRecord;
}

/** The plan's tables in their waves; from the state's own record of them when the plan file is gone or changed. */
function plannedTables(state: StateStore, run: RunRecord): PlannedTable[] {
  try {
    const plan = parsePlan(readFileSync(run.planFile, 'utf8'), run.planFile);
    return plan.waves.flatMap((w, i) =>
      w.tables.map((t) => ({ name: t.target, wave: i + 1, rowsEstimate: t.rowEstimate ?? 0 })),
    );
  } catch {
    return state.tableWrites(run.planHash).map((w) => ({ name: w.name, wave: 1, rowsEstimate: 0 }));
  }
}

/** The facts of run `runId`, or of the latest run when none is given; undefined before any run. */
export function readStoreFacts(state: StateStore, runId?: string): StoreFacts | undefined {
  const run = state.run(runId, 'run');
  if (!run) return undefined;
  const tables = plannedTables(state, run);
  const stored = new Map<string, StoredTable>();
  for (const t of tables) {
    const chunks = state.chunks(run.planHash, t.name);
    const counts: ChunkCounts = { pending: 0, running: 0, done: 0, failed: 0 };
    for (const c of chunks) counts[c.status]++;
    const done = chunks.filter((c) => c.status === 'done');
    const status = state.tableStatus(run.planHash, t.name);
    stored.set(t.name, {
      ...(status ? { status } : {}),
      chunks: counts,
      rows: done.reduce((n, c) => n + c.rows, 0),
    });
  }
  const verification = state.latestVerification(run.planHash);
  const stream = state.stream(run.planHash);
  return {
    run,
    tables,
    stored,
    findings: state.findings(run.id),
    rejects: state.rejectReasons(run.planHash),
    ...(verification
      ? { verification: { ...verification, stale: !run.finished || verification.run.started < run.finished } }
      : {}),
    ...(stream ? { stream } : {}),
  };
}

/** Rows a run wrote, chunk by chunk with their times (its audit log): the throughput chart of a run watched after it began. */
export function rowsWritten(state: StateStore, runId: string): { at: number; rows: number }[] {
  return auditEvents(state.dir, runId, 'chunk written')
    .map((e) => ({ at: Date.parse(String(e.time)), rows: Number(e.rows) || 0 }))
    .filter((c) => Number.isFinite(c.at));
}
