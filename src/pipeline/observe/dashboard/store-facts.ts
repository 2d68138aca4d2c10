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

/** Reads a state store's facts, the plan's tables read once per run. */
export class StoreReader {
  private planned?: { runId: string; tables: PlannedTable[] };

  constructor(readonly state: StateStore) {}

  /** The facts of run `runId`, or of the latest run when none is given; undefined before any run. */
  facts(runId?: string): StoreFacts | undefined {
    const state = this.state;
    const run = state.run(runId, 'run');
    if (!run) return undefined;
    if (this.planned?.runId !== run.id) this.planned = { runId: run.id, tables: plannedTables(state, run) };
    const tables = this.planned.tables;
    const counts = state.chunkCounts(run.planHash);
    const stored = new Map<string, StoredTable>();
    for (const t of tables) {
      const chunks: ChunkCounts = { pending: 0, running: 0, done: 0, failed: 0 };
      let rows = 0;
      for (const c of counts.filter((c) => c.table === t.name)) {
        chunks[c.status] = c.chunks;
        if (c.status === 'done') rows = c.rows;
      }
      const status = state.tableStatus(run.planHash, t.name);
      stored.set(t.name, { ...(status ? { status } : {}), chunks, rows });
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
  rowsWritten(runId: string): { at: number; rows: number }[] {
    return auditEvents(this.state.dir, runId, 'chunk written')
      .map((e) => ({ at: Date.parse(String(e.time)), rows: Number(e.rows) || 0 }))
      .filter((c) => Number.isFinite(c.at));
  }
}
