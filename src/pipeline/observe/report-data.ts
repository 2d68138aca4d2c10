// What a report says about a run, gathered from the state store, the plan and the run's audit
// log: the facts the Markdown and the HTML forms both show, and the verdict at their top.
import { readFileSync } from 'node:fs';
import { parsePlan, type Plan, type TablePlan } from '../../core/plan.js';
import type { Finding } from '../../core/types.js';
import { reverseHash } from '../reverse/reverse-plan.js';
import { FINISH } from '../reverse/finish.js';
import { FOLLOW_BACK } from '../reverse/reverse.js';
import { ROLLBACK_AFTER_CUTOVER } from '../reverse/way-back.js';
import { auditEvents } from '../safety/audit.js';
import type {
  PhaseRecord,
  RejectRecord,
  RunRecord,
  StateStore,
  StreamRecord,
  VerifyRecord,
} from '../session/checkpoints.js';

/** The one-line answer a reader looks for first. */
export type VerdictKind = 'verified' | 'mismatches' | 'rejected rows' | 'not verified' | 'incomplete';

export interface Verdict {
  kind: VerdictKind;
  /** the sentence under it: what it means and what to do */
  detail: string;
}

/** A chunk this run wrote, when it was written: the throughput chart's points. */
export interface ChunkWritten {
  table: string;
  /** milliseconds since the epoch */
  at: number;
  rows: number;
}

export interface ResumedTable {
  table: string;
  chunks: number;
  rows: number;
}

export interface ReportData {
  run: RunRecord;
  /** undefined when the plan file cannot be read any more */
  plan?: Plan;
  tables: { t: TablePlan; wave: number }[];
  phases: PhaseRecord[];
  findings: Finding[];
  rejects: RejectRecord[];
  verification?: { run: RunRecord; results: VerifyRecord[] };
  /** the verification was started before this run finished: it does not speak for what the run wrote */
  verificationStale: boolean;
  resumed: ResumedTable[];
  chunks: ChunkWritten[];
  /** the plan's latest cutover, with its steps as its audit log has them */
  cutover?: CommandSteps;
  /** the runs of the way back after a cutover (following back, rolling back, finishing), oldest first */
  wayBack: CommandSteps[];
  /** live changes, when the plan's runs followed them */
  follow?: FollowFacts;
  verdict: Verdict;
}

/** What the report says of live changes. */
export interface FollowFacts {
  /** the plan's stream: its start, what was applied last, the changes per table and operation */
  stream: StreamRecord;
  /** what this run applied before it stopped following (undefined: it did not stop cleanly) */
  run?: { transactions: number; changes: number; rejects: number; position: string };
  /** live changes refused, by every run of the plan */
  rejects: number;
  /** columns added on the source while followed: "table.column" */
  addedColumns: string[];
}

function readPlan(file: string): Plan | undefined {
  try {
    return parsePlan(readFileSync(file, 'utf8'), file);
  } catch {
    return undefined;
  }
}

/** What the verdict is decided from (the report's facts; the dashboard's too). */
export interface VerdictFacts {
  run: RunRecord;
  verification?: { results: VerifyRecord[] };
  verificationStale: boolean;
  rejectedRows: number;
}

export function verdictOf(d: VerdictFacts): Verdict {
  if (!d.run.status.startsWith('done'))
    return {
      kind: 'incomplete',
      detail: `the run ${d.run.finished ? `ended ${d.run.status}` : 'has not finished'}${d.run.error ? `: ${d.run.error}` : ''}; running the same command resumes it`,
    };
  const mismatched = d.verification?.results.filter((v) => v.status !== 'match') ?? [];
  if (d.verification && !d.verificationStale && mismatched.length > 0)
    return {
      kind: 'mismatches',
      detail: `verification found differences in ${mismatched.map((v) => v.table).join(', ')}: see Verification below`,
    };
  if (d.rejectedRows > 0)
    return {
      kind: 'rejected rows',
      detail: `${d.rejectedRows.toLocaleString('en-US')} rows were refused and are in the reject files, each with its reason`,
    };
  if (!d.verification || d.verificationStale)
    return {
      kind: 'not verified',
      detail: `every table was copied; run \`ferry verify ${d.run.planFile}\` to prove source and target agree`,
    };
  return { kind: 'verified', detail: 'every table was copied and verification found source and target equal' };
}

/** Chunks runs of the plan before this one had copied: this run resumed after them. */
function resumedTables(state: StateStore, run: RunRecord, tables: { t: TablePlan }[]): ResumedTable[] {
  const earlier = new Set(
    state
      .runsOf(run.planHash, 'run')
      .filter((r) => r.started < run.started)
      .map((r) => r.id),
  );
  return tables
    .map(({ t }) => {
      const chunks = state.chunks(run.planHash, t.target).filter((c) => c.runId && earlier.has(c.runId));
      return { table: t.target, chunks: chunks.length, rows: chunks.reduce((n, c) => n + c.rows, 0) };
    })
    .filter((r) => r.chunks > 0);
}

/** A command's run with its steps as its audit log has them. */
export interface CommandSteps {
  run: RunRecord;
  steps: { time: string; event: string }[];
}

function stepsOf(state: StateStore, run: RunRecord): CommandSteps {
  const steps = auditEvents(state.dir, run.id).map((e) => ({ time: String(e.time), event: String(e.event) }));
  return { run, steps };
}

function latestCutover(state: StateStore, run: RunRecord): ReportData['cutover'] {
  const cutover = state.runsOf(run.planHash, 'cutover').at(-1);
  return cutover && stepsOf(state, cutover);
}

/** The way back's runs: recorded under the plan backwards (reverse-plan.ts), and the finish under the plan. */
function wayBackRuns(state: StateStore, run: RunRecord): CommandSteps[] {
  const back = reverseHash(run.planHash);
  return [
    ...state.runsOf(back, FOLLOW_BACK),
    ...state.runsOf(back, ROLLBACK_AFTER_CUTOVER),
    ...state.runsOf(run.planHash, FINISH),
  ]
    .sort((a, b) => a.started.localeCompare(b.started))
    .map((r) => stepsOf(state, r));
}

function followFacts(state: StateStore, run: RunRecord): { follow?: FollowFacts } {
  const stream = state.stream(run.planHash);
  if (!stream) return {};
  const stopped = auditEvents(state.dir, run.id, 'stopped following').at(-1);
  return {
    follow: {
      stream,
      ...(stopped
        ? {
            run: {
              transactions: Number(stopped.transactions),
              changes: Number(stopped.changes),
              rejects: Number(stopped.rejects),
              position: String(stopped.position),
            },
          }
        : {}),
      // a live change's reject has no chunk (-1)
      rejects: state.rejects(run.planHash).filter((r) => r.chunk < 0).length,
      addedColumns: state.followedColumns(run.planHash).map((a) => `${a.table}.${a.column.source}`),
    },
  };
}

export function gatherReport(state: StateStore, run: RunRecord): ReportData {
  const plan = readPlan(run.planFile);
  const tables = plan ? plan.waves.flatMap((w, i) => w.tables.map((t) => ({ t, wave: i + 1 }))) : [];
  const verification = state.latestVerification(run.planHash);
  const chunks = auditEvents(state.dir, run.id, 'chunk written').map((e) => ({
    table: String(e.table),
    at: Date.parse(String(e.time)),
    rows: Number(e.rows) || 0,
  }));
  const gathered = {
    run,
    plan,
    tables,
    phases: state.phases(run.id),
    findings: state.findings(run.id),
    rejects: state.rejects(run.planHash),
    verification,
    verificationStale: !!verification && (!run.finished || verification.run.started < run.finished),
    resumed: resumedTables(state, run, tables),
    chunks: chunks.filter((c) => Number.isFinite(c.at)),
    cutover: latestCutover(state, run),
    wayBack: wayBackRuns(state, run),
    ...followFacts(state, run),
  };
  return { ...gathered, verdict: verdictOf({ ...gathered, rejectedRows: gathered.rejects.length }) };
}
