// The checkpoint store: durable state of every table and chunk of a plan, runs, rejects,
// timings and verification results, in an embedded SQLite file under .ferry/.
import { chmodSync, closeSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FreezeUndo, TableFingerprint, TargetTable } from '../../core/contracts.js';
import type { Digest } from '../../core/digest.js';
import type { ColumnPlan } from '../../core/plan.js';
import type { Finding, KeyRange } from '../../core/types.js';
import { stateParse, stateStringify } from '../../core/values.js';
import { redact } from '../../core/secrets.js';
import { FerryError } from '../../core/errors.js';
import { fileError } from '../../core/files.js';
import { inStateFolder, openPrivateFile, OTHER_STATE_FOLDER, PRIVATE_FILE, privateFolder } from './private-files.js';
import { openStateDb, type StateDb } from './state-db.js';

export type ChunkStatus = 'pending' | 'running' | 'done' | 'failed';
export type TableStatus = 'prepared' | 'copied' | 'finished' | 'linked';

export interface ChunkState {
  table: string;
  idx: number;
  range: KeyRange;
  status: ChunkStatus;
  attempts: number;
  rows: number;
  rejects: number;
  /** the run that finished the chunk (undefined: not done, or done before runs were recorded per chunk) */
  runId?: string;
}

export interface RunRecord {
  id: string;
  planHash: string;
  planFile: string;
  command: string;
  started: string;
  finished: string | null;
  status: string;
  error: string | null;
}

/**
 * Who refused a row: the mapping (the row as read, its transformed columns transformed; source
 * column names) or the target (the row as the target received it; target column names).
 */
export type RefusedBy = 'mapping' | 'target';

export interface RejectRecord {
  table: string;
  chunk: number;
  row: unknown[];
  reason: string;
  refusedBy: RefusedBy;
}

/** Rejected rows of a table that share a reason: how many, never their values. */
export interface RejectReason {
  table: string;
  reason: string;
  refusedBy: RefusedBy;
  rows: number;
}

export interface PhaseRecord {
  table: string;
  phase: string;
  started: number;
  finished: number;
  rows: number;
}

export interface VerifyRecord {
  table: string;
  status: 'match' | 'mismatch' | 'error';
  sourceRows: number;
  targetRows: number;
  chunks: number;
  mismatchedChunks: number;
  rejected: number;
  sample: string[];
  message?: string;
}

/**
 * What copying a chunk records of it (copy/chunk.ts `copyRecordedChunk`): the SQLite store of a
 * local run, or the shared store every worker of a queued run reaches (queue/shared-state.ts).
 */
export interface ChunkCheckpoints {
  /** an attempt starts: the chunk is running, one attempt more */
  startChunk(planHash: string, table: string, idx: number): void | Promise<void>;
  /** the target holds the chunk: its rows, its rejects (replacing an earlier attempt's) and its digest */
  finishChunk(
    planHash: string,
    table: string,
    idx: number,
    runId: string,
    rows: number,
    rejects: { row: unknown[]; reason: string; refusedBy: RefusedBy }[],
    digest?: Digest,
  ): void | Promise<void>;
  failChunk(planHash: string, table: string, idx: number, error: string): void | Promise<void>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs(id TEXT PRIMARY KEY, plan_hash TEXT NOT NULL, plan_file TEXT NOT NULL, command TEXT NOT NULL,
  started TEXT NOT NULL, finished TEXT, status TEXT NOT NULL, error TEXT);
CREATE TABLE IF NOT EXISTS tables(plan_hash TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, PRIMARY KEY(plan_hash, name));
CREATE TABLE IF NOT EXISTS chunks(plan_hash TEXT NOT NULL, table_name TEXT NOT NULL, idx INTEGER NOT NULL, range TEXT NOT NULL,
  status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, rows INTEGER NOT NULL DEFAULT 0, rejects INTEGER NOT NULL DEFAULT 0,
  error TEXT, digest TEXT, run_id TEXT, PRIMARY KEY(plan_hash, table_name, idx));
CREATE TABLE IF NOT EXISTS rejects(plan_hash TEXT NOT NULL, table_name TEXT NOT NULL, chunk INTEGER NOT NULL, row TEXT NOT NULL, reason TEXT NOT NULL,
  refused_by TEXT NOT NULL DEFAULT 'mapping');
CREATE INDEX IF NOT EXISTS rejects_chunk ON rejects(plan_hash, table_name, chunk);
CREATE TABLE IF NOT EXISTS phases(run_id TEXT NOT NULL, table_name TEXT NOT NULL, phase TEXT NOT NULL, started REAL NOT NULL, finished REAL NOT NULL, rows INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS findings(run_id TEXT NOT NULL, finding TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verifications(run_id TEXT NOT NULL, table_name TEXT NOT NULL, result TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS table_writes(plan_hash TEXT NOT NULL, name TEXT NOT NULL, run_id TEXT NOT NULL, action TEXT NOT NULL,
  definition TEXT NOT NULL, fingerprint TEXT, PRIMARY KEY(plan_hash, name));
CREATE TABLE IF NOT EXISTS plan_targets(plan_hash TEXT PRIMARY KEY, url TEXT NOT NULL, options TEXT);
CREATE TABLE IF NOT EXISTS backups(id TEXT PRIMARY KEY, plan_hash TEXT NOT NULL, run_id TEXT NOT NULL, location TEXT NOT NULL,
  purpose TEXT NOT NULL, created TEXT NOT NULL, key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_heads(run_id TEXT PRIMARY KEY, lines INTEGER NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS streams(plan_hash TEXT PRIMARY KEY, start TEXT NOT NULL, applied TEXT, committed TEXT,
  applied_at TEXT, changes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS stream_beats(plan_hash TEXT PRIMARY KEY, seen_at TEXT NOT NULL, lag REAL NOT NULL, position TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS touched_chunks(plan_hash TEXT NOT NULL, table_name TEXT NOT NULL, idx INTEGER NOT NULL,
  lowest TEXT, highest TEXT, PRIMARY KEY(plan_hash, table_name, idx));
CREATE TABLE IF NOT EXISTS cutovers(plan_hash TEXT PRIMARY KEY, run_id TEXT NOT NULL, phase TEXT NOT NULL, position TEXT,
  updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS freezes(plan_hash TEXT PRIMARY KEY, run_id TEXT NOT NULL, engine TEXT NOT NULL, since TEXT NOT NULL,
  host TEXT NOT NULL, pid INTEGER NOT NULL, undo TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scratch_tables(id INTEGER PRIMARY KEY, target TEXT NOT NULL, run_id TEXT NOT NULL, definition TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stream_changes(plan_hash TEXT NOT NULL, table_name TEXT NOT NULL, op TEXT NOT NULL,
  changes INTEGER NOT NULL, PRIMARY KEY(plan_hash, table_name, op));
CREATE TABLE IF NOT EXISTS followed_columns(plan_hash TEXT NOT NULL, table_name TEXT NOT NULL, column TEXT NOT NULL, added_at TEXT NOT NULL);
`;

/** What a run did to a target table when it prepared it. */
export type TableAction = 'created' | 'replaced' | 'truncated';

export interface TableWrite {
  name: string;
  runId: string;
  action: TableAction;
  /** the table as prepared */
  definition: TargetTable;
  /** the table's content when the run left it (after its indexes) */
  fingerprint?: TableFingerprint;
}

/** The follow loop's last batch, heartbeats included (a cutover waits for the lag by it). */
export interface StreamBeat {
  seenAt: string;
  lagSeconds: number;
  position: string;
}

/** The keys live changes touched in one chunk of the copy: its lowest and highest (none for the whole table, chunk -1). */
export interface TouchedSpan {
  idx: number;
  lowest?: unknown[];
  highest?: unknown[];
}

/**
 * A cutover's phase as the follow loop sees it: frozen (the source's writes are stopped at
 * `position`: store positions even without changes), cut over (stop following), aborted, rolled
 * back (`ferry rollback --after-cutover`: the source takes the application's writes again).
 */
export type CutoverPhase = 'frozen' | 'cut over' | 'aborted' | 'rolled back';

export interface CutoverRecord {
  runId: string;
  phase: CutoverPhase;
  /** the source's position when its writes were frozen */
  position?: string;
}

/**
 * A freeze of the writes a cutover made on the side it reads (the source; the target for the
 * way back's rollback), kept before it is made and until it is undone: the process that made it
 * and what undoes it (Source.thawWrites).
 */
export interface FreezeRecord {
  runId: string;
  /** the connector kind of the frozen side */
  engine: string;
  since: string;
  host: string;
  pid: number;
  undo: FreezeUndo;
}

/** A plan's stream of live changes, as the checkpoint store keeps it. */
export interface StreamRecord {
  /** the copy's snapshot position: the stream starts after it */
  start: string;
  /** the position applied last, when it was applied, and the source's commit time of its transaction */
  applied?: string;
  committed?: string;
  appliedAt?: string;
  /** row changes applied in all */
  changes: number;
  /** row changes applied, per target table and the source's operation (insert, update, delete) */
  counts: StreamCount[];
}

export interface StreamCount {
  table: string;
  op: string;
  changes: number;
}

/** A dry run's scratch table, recorded before it is made, until it is dropped. */
export interface ScratchRecord {
  id: number;
  /** the dry run that made it */
  runId: string;
  table: TargetTable;
}

export interface BackupRecord {
  id: string;
  planHash: string;
  runId: string;
  location: string;
  /** before-run: taken by `ferry run` before its first write; manual: `ferry backup` */
  purpose: 'before-run' | 'manual';
  created: string;
  /** where the key comes from (an environment variable's name or a file's path, never the key) */
  key: { env?: string; file?: string };
}

/** Whether a state folder holds a state (commands that only look, like status, make none). */
export function stateExists(dir: string): boolean {
  return stateFileExists(join(dir, 'state.db'));
}

/** Whether a state file is there; one in a folder this user may not look into is one line naming it, not "no state". */
function stateFileExists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fileError(e, `cannot read ${file}`, OTHER_STATE_FOLDER);
  }
}

export class StateStore implements ChunkCheckpoints {
  private readonly db: StateDb;

  /** `existing`: only a state that is there already will do (commands that read it, like report, make none) */
  constructor(
    readonly dir: string,
    opts: { existing?: boolean } = {},
  ) {
    const file = join(dir, 'state.db');
    if (opts.existing && !stateFileExists(file))
      throw new FerryError(
        'RUN_NOT_FOUND',
        `no ferry state in ${dir}`,
        'run `ferry run PLAN` first, or pass --state-dir with the folder a run used',
      );
    privateFolder(dir);
    closeSync(openPrivateFile(file, 'a'));
    // SQLite gives the -wal and -shm files it makes the mode of the database file; an earlier version's keep theirs
    for (const f of [`${file}-wal`, `${file}-shm`])
      if (existsSync(f)) inStateFolder(f, () => chmodSync(f, PRIVATE_FILE));
    this.db = openStateDb(file);
    this.db.exec(SCHEMA);
    // state written before chunks kept their target's digest, or the run that finished them
    const chunkColumns = this.db.prepare('PRAGMA table_info(chunks)').all() as { name: string }[];
    for (const column of ['digest', 'run_id'])
      if (!chunkColumns.some((c) => c.name === column)) this.db.exec(`ALTER TABLE chunks ADD COLUMN ${column} TEXT`);
    const rejectColumns = this.db.prepare('PRAGMA table_info(rejects)').all() as { name: string }[];
    if (!rejectColumns.some((c) => c.name === 'refused_by'))
      this.db.exec("ALTER TABLE rejects ADD COLUMN refused_by TEXT NOT NULL DEFAULT 'mapping'");
  }

  /** A folder of the state folder (rejects, reports, audit), readable by its owner only. */
  folder(name: string): string {
    return privateFolder(join(this.dir, name));
  }

  close(): void {
    this.db.close();
  }

  /** A consistent copy of the whole store in `file` (queue/run-records.ts keeps one plan's records of it). */
  copyTo(file: string): void {
    this.db.prepare('VACUUM INTO ?').run(file);
  }

  startRun(planHash: string, planFile: string, command: string): string {
    const id = `${new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
    this.db
      .prepare('INSERT INTO runs VALUES (?,?,?,?,?,NULL,?,NULL)')
      .run(id, planHash, planFile, command, new Date().toISOString(), 'running');
    return id;
  }

  finishRun(id: string, status: string, error?: string): void {
    this.db
      .prepare('UPDATE runs SET finished = ?, status = ?, error = ? WHERE id = ?')
      .run(new Date().toISOString(), status, error === undefined ? null : redact(error), id);
  }

  run(id?: string, command = 'run'): RunRecord | undefined {
    const row = (
      id
        ? this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id)
        : this.db.prepare('SELECT * FROM runs WHERE command = ? ORDER BY started DESC, rowid DESC LIMIT 1').get(command)
    ) as Record<string, string | null> | undefined;
    if (!row) return undefined;
    return {
      id: row.id!,
      planHash: row.plan_hash!,
      planFile: row.plan_file!,
      command: row.command!,
      started: row.started!,
      finished: row.finished,
      status: row.status!,
      error: row.error,
    };
  }

  tableStatus(planHash: string, name: string): TableStatus | undefined {
    const r = this.db.prepare('SELECT status FROM tables WHERE plan_hash = ? AND name = ?').get(planHash, name) as
      { status: TableStatus } | undefined;
    return r?.status;
  }

  setTableStatus(planHash: string, name: string, status: TableStatus): void {
    this.db
      .prepare('INSERT INTO tables VALUES (?,?,?) ON CONFLICT(plan_hash, name) DO UPDATE SET status = excluded.status')
      .run(planHash, name, status);
  }

  chunks(planHash: string, table: string): ChunkState[] {
    const rows = this.db
      .prepare('SELECT * FROM chunks WHERE plan_hash = ? AND table_name = ? ORDER BY idx')
      .all(planHash, table) as Record<string, string | number>[];
    return rows.map((r) => ({
      table,
      idx: r.idx as number,
      range: stateParse<KeyRange>(r.range as string),
      status: r.status as ChunkStatus,
      attempts: r.attempts as number,
      rows: r.rows as number,
      rejects: r.rejects as number,
      ...(r.run_id ? { runId: r.run_id as string } : {}),
    }));
  }

  addChunks(planHash: string, table: string, ranges: KeyRange[]): void {
    const ins = this.db.prepare(
      "INSERT INTO chunks(plan_hash, table_name, idx, range, status) VALUES (?,?,?,?,'pending')",
    );
    this.db.transaction(() => ranges.forEach((r, i) => ins.run(planHash, table, i, stateStringify(r))))();
  }

  startChunk(planHash: string, table: string, idx: number): void {
    this.db
      .prepare(
        "UPDATE chunks SET status = 'running', attempts = attempts + 1, error = NULL WHERE plan_hash = ? AND table_name = ? AND idx = ?",
      )
      .run(planHash, table, idx);
  }

  /** Marks a chunk done and records its rejects, replacing those of earlier attempts, atomically. */
  finishChunk(
    planHash: string,
    table: string,
    idx: number,
    runId: string,
    rows: number,
    rejects: { row: unknown[]; reason: string; refusedBy: RefusedBy }[],
    digest?: Digest,
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare('DELETE FROM rejects WHERE plan_hash = ? AND table_name = ? AND chunk = ?')
        .run(planHash, table, idx);
      const ins = this.db.prepare('INSERT INTO rejects VALUES (?,?,?,?,?,?)');
      for (const r of rejects) ins.run(planHash, table, idx, stateStringify(r.row), redact(r.reason), r.refusedBy);
      this.db
        .prepare(
          "UPDATE chunks SET status = 'done', rows = ?, rejects = ?, digest = ?, run_id = ? WHERE plan_hash = ? AND table_name = ? AND idx = ?",
        )
        .run(rows, rejects.length, digest ? JSON.stringify(digest) : null, runId, planHash, table, idx);
    })();
  }

  /** The target's digests of a table's chunks, when the target gave one for every chunk. */
  chunkDigests(planHash: string, table: string): Digest[] | undefined {
    const rows = this.db
      .prepare('SELECT digest FROM chunks WHERE plan_hash = ? AND table_name = ?')
      .all(planHash, table) as { digest: string | null }[];
    if (rows.length === 0 || rows.some((r) => r.digest === null)) return undefined;
    return rows.map((r) => JSON.parse(r.digest!) as Digest);
  }

  /** Records live changes the mapping refused (chunk -1: no chunk of the copy). */
  addChangeRejects(planHash: string, rejects: Omit<RejectRecord, 'chunk'>[]): void {
    const ins = this.db.prepare('INSERT INTO rejects VALUES (?,?,-1,?,?,?)');
    this.db.transaction(() => {
      for (const r of rejects) ins.run(planHash, r.table, stateStringify(r.row), redact(r.reason), r.refusedBy);
    })();
  }

  failChunk(planHash: string, table: string, idx: number, error: string): void {
    this.db
      .prepare("UPDATE chunks SET status = 'failed', error = ? WHERE plan_hash = ? AND table_name = ? AND idx = ?")
      .run(redact(error), planHash, table, idx);
  }

  rejectCount(planHash: string): number {
    return (this.db.prepare('SELECT count(*) n FROM rejects WHERE plan_hash = ?').get(planHash) as { n: number }).n;
  }

  rejects(planHash: string, table?: string): RejectRecord[] {
    const rows = (
      table
        ? this.db
            .prepare('SELECT * FROM rejects WHERE plan_hash = ? AND table_name = ? ORDER BY chunk, rowid')
            .all(planHash, table)
        : this.db.prepare('SELECT * FROM rejects WHERE plan_hash = ? ORDER BY table_name, chunk, rowid').all(planHash)
    ) as Record<string, string | number>[];
    return rows.map((r) => ({
      table: r.table_name as string,
      chunk: r.chunk as number,
      row: stateParse<unknown[]>(r.row as string),
      reason: r.reason as string,
      refusedBy: r.refused_by as RefusedBy,
    }));
  }

  /** A plan's chunks counted by table and state, with their rows (one query: the dashboard asks every second). */
  chunkCounts(planHash: string): { table: string; status: ChunkStatus; chunks: number; rows: number }[] {
    return (
      this.db
        .prepare(
          'SELECT table_name, status, count(*) n, sum(rows) r FROM chunks WHERE plan_hash = ? GROUP BY table_name, status',
        )
        .all(planHash) as Record<string, string | number>[]
    ).map((c) => ({
      table: c.table_name as string,
      status: c.status as ChunkStatus,
      chunks: c.n as number,
      rows: c.r as number,
    }));
  }

  /** A plan's rejects by table, reason and who refused them, with how many rows each: no row values. */
  rejectReasons(planHash: string): RejectReason[] {
    return (
      this.db
        .prepare(
          'SELECT table_name, reason, refused_by, count(*) n FROM rejects WHERE plan_hash = ? GROUP BY table_name, reason, refused_by ORDER BY table_name, n DESC',
        )
        .all(planHash) as Record<string, string | number>[]
    ).map((r) => ({
      table: r.table_name as string,
      reason: r.reason as string,
      refusedBy: r.refused_by as RefusedBy,
      rows: r.n as number,
    }));
  }

  addPhase(runId: string, p: PhaseRecord): void {
    this.db
      .prepare('INSERT INTO phases VALUES (?,?,?,?,?,?)')
      .run(runId, p.table, p.phase, p.started, p.finished, p.rows);
  }

  phases(runId: string): PhaseRecord[] {
    return (
      this.db.prepare('SELECT * FROM phases WHERE run_id = ? ORDER BY started').all(runId) as Record<
        string,
        string | number
      >[]
    ).map((r) => ({
      table: r.table_name as string,
      phase: r.phase as string,
      started: r.started as number,
      finished: r.finished as number,
      rows: r.rows as number,
    }));
  }

  addFindings(runId: string, findings: Finding[]): void {
    const ins = this.db.prepare('INSERT INTO findings VALUES (?,?)');
    this.db.transaction(() => findings.forEach((f) => ins.run(runId, redact(JSON.stringify(f)))))();
  }

  findings(runId: string): Finding[] {
    return (this.db.prepare('SELECT finding FROM findings WHERE run_id = ?').all(runId) as { finding: string }[]).map(
      (r) => JSON.parse(r.finding) as Finding,
    );
  }

  addVerification(runId: string, v: VerifyRecord): void {
    this.db.prepare('INSERT INTO verifications VALUES (?,?,?)').run(runId, v.table, redact(JSON.stringify(v)));
  }

  /**
   * Records what a run is about to do to a table, before it does it. The first record stays:
   * a run that prepares the table again after a crash finds the table it created itself.
   */
  recordTableWrite(planHash: string, w: Omit<TableWrite, 'fingerprint'>): void {
    this.db
      .prepare('INSERT INTO table_writes VALUES (?,?,?,?,?,NULL) ON CONFLICT(plan_hash, name) DO NOTHING')
      .run(planHash, w.name, w.runId, w.action, stateStringify(w.definition));
  }

  setFingerprint(planHash: string, name: string, fingerprint: TableFingerprint | undefined): void {
    this.db
      .prepare('UPDATE table_writes SET fingerprint = ? WHERE plan_hash = ? AND name = ?')
      .run(fingerprint ? JSON.stringify(fingerprint) : null, planHash, name);
  }

  tableWrites(planHash: string): TableWrite[] {
    return (
      this.db.prepare('SELECT * FROM table_writes WHERE plan_hash = ? ORDER BY rowid').all(planHash) as Record<
        string,
        string | null
      >[]
    ).map((r) => ({
      name: r.name!,
      runId: r.run_id!,
      action: r.action as TableAction,
      definition: stateParse<TargetTable>(r.definition!),
      ...(r.fingerprint ? { fingerprint: JSON.parse(r.fingerprint) as TableFingerprint } : {}),
    }));
  }

  /** The target of a plan as written in it (secret references, never resolved secrets). */
  setPlanTarget(planHash: string, url: string, options: Record<string, unknown> | undefined): void {
    this.db
      .prepare(
        'INSERT INTO plan_targets VALUES (?,?,?) ON CONFLICT(plan_hash) DO UPDATE SET url = excluded.url, options = excluded.options',
      )
      .run(planHash, redact(url), options ? JSON.stringify(options) : null);
  }

  planTarget(planHash: string): { url: string; options?: Record<string, unknown> } | undefined {
    const r = this.db.prepare('SELECT url, options FROM plan_targets WHERE plan_hash = ?').get(planHash) as
      { url: string; options: string | null } | undefined;
    return r && { url: r.url, ...(r.options ? { options: JSON.parse(r.options) as Record<string, unknown> } : {}) };
  }

  addBackup(b: BackupRecord): void {
    this.db
      .prepare('INSERT INTO backups VALUES (?,?,?,?,?,?,?)')
      .run(b.id, b.planHash, b.runId, redact(b.location), b.purpose, b.created, JSON.stringify(b.key));
  }

  backups(planHash: string, purpose?: BackupRecord['purpose']): BackupRecord[] {
    const rows = (
      purpose
        ? this.db
            .prepare('SELECT * FROM backups WHERE plan_hash = ? AND purpose = ? ORDER BY created, rowid')
            .all(planHash, purpose)
        : this.db.prepare('SELECT * FROM backups WHERE plan_hash = ? ORDER BY created, rowid').all(planHash)
    ) as Record<string, string>[];
    return rows.map((r) => ({
      id: r.id!,
      planHash: r.plan_hash!,
      runId: r.run_id!,
      location: r.location!,
      purpose: r.purpose as BackupRecord['purpose'],
      created: r.created!,
      key: JSON.parse(r.key!) as BackupRecord['key'],
    }));
  }

  /** Every run of every command and plan this state holds, newest first. */
  allRuns(): RunRecord[] {
    const ids = this.db.prepare('SELECT id FROM runs ORDER BY started DESC, rowid DESC').pluck().all() as string[];
    return ids.map((id) => this.run(id)!);
  }

  /** Runs of a plan (by hash) of one command, oldest first. */
  runsOf(planHash: string, command: string): RunRecord[] {
    const ids = this.db
      .prepare('SELECT id FROM runs WHERE plan_hash = ? AND command = ? ORDER BY started, rowid')
      .pluck()
      .all(planHash, command) as string[];
    return ids.map((id) => this.run(id)!);
  }

  /**
   * Forgets the copy state of a plan (tables, chunks, rejects, what its runs wrote, the stream of
   * live changes that began at its snapshot): the next run starts afresh.
   */
  resetPlan(planHash: string, runStatus: string): void {
    this.db.transaction(() => {
      for (const t of [
        'tables',
        'chunks',
        'rejects',
        'table_writes',
        'streams',
        'stream_beats',
        'touched_chunks',
        'cutovers',
        'stream_changes',
        'followed_columns',
      ])
        this.db.prepare(`DELETE FROM ${t} WHERE plan_hash = ?`).run(planHash);
      this.db.prepare("UPDATE runs SET status = ? WHERE plan_hash = ? AND command = 'run'").run(runStatus, planHash);
    })();
  }

  /**
   * Records a scratch table a dry run is about to make, before it makes it (a dry run killed at
   * any instant leaves a record the next one finds); `target` names the target as the plan writes it.
   */
  recordScratch(target: string, runId: string, table: TargetTable): number {
    return Number(
      this.db
        .prepare('INSERT INTO scratch_tables(target, run_id, definition) VALUES (?,?,?)')
        .run(target, runId, stateStringify(table)).lastInsertRowid,
    );
  }

  /** The scratch tables recorded in a target and not dropped yet, in the order they were made. */
  scratchTables(target: string): ScratchRecord[] {
    return (
      this.db.prepare('SELECT * FROM scratch_tables WHERE target = ? ORDER BY id').all(target) as {
        id: number;
        run_id: string;
        definition: string;
      }[]
    ).map((r) => ({ id: r.id, runId: r.run_id, table: stateParse<TargetTable>(r.definition) }));
  }

  /** Forgets scratch tables that were dropped (or are kept on purpose). */
  forgetScratch(ids: number[]): void {
    const del = this.db.prepare('DELETE FROM scratch_tables WHERE id = ?');
    this.db.transaction(() => ids.forEach((id) => del.run(id)))();
  }

  setAuditHead(runId: string, lines: number, hash: string): void {
    this.db
      .prepare(
        'INSERT INTO audit_heads VALUES (?,?,?) ON CONFLICT(run_id) DO UPDATE SET lines = excluded.lines, hash = excluded.hash',
      )
      .run(runId, lines, hash);
  }

  auditHead(runId: string): { lines: number; hash: string } | undefined {
    return this.db.prepare('SELECT lines, hash FROM audit_heads WHERE run_id = ?').get(runId) as
      { lines: number; hash: string } | undefined;
  }

  /**
   * Where a plan's live changes start: the position of the copy's snapshot, kept from the first
   * run that took one (a resumed run replays the stream from it over what it copies later).
   */
  streamStart(planHash: string): string | undefined {
    const r = this.db.prepare('SELECT start FROM streams WHERE plan_hash = ?').get(planHash) as
      { start: string } | undefined;
    return r?.start;
  }

  /** Keeps the snapshot's position as the stream's start, unless an earlier run kept one. */
  setStreamStart(planHash: string, position: string): void {
    this.db
      .prepare('INSERT INTO streams(plan_hash, start) VALUES (?,?) ON CONFLICT(plan_hash) DO NOTHING')
      .run(planHash, position);
  }

  /** Forgets a plan's stream (its slot and publication are dropped): a stream opened again starts where it is opened. */
  forgetStream(planHash: string): void {
    this.db.prepare('DELETE FROM streams WHERE plan_hash = ?').run(planHash);
  }

  /** What the follow loop applied last (the target holds the truth; this is for `ferry status`). */
  setStreamApplied(
    planHash: string,
    applied: { position: string; committed?: string; changes: number; counts: StreamCount[] },
  ): void {
    const count = this.db.prepare(
      'INSERT INTO stream_changes VALUES (?,?,?,?) ON CONFLICT(plan_hash, table_name, op) DO UPDATE SET changes = changes + excluded.changes',
    );
    this.db.transaction(() => {
      this.db
        .prepare(
          'UPDATE streams SET applied = ?, committed = ?, applied_at = ?, changes = changes + ? WHERE plan_hash = ?',
        )
        .run(applied.position, applied.committed ?? null, new Date().toISOString(), applied.changes, planHash);
      for (const c of applied.counts) count.run(planHash, c.table, c.op, c.changes);
    })();
  }

  /**
   * A column added to a followed source table while it was followed, as the run planned it and
   * added it to the target: the plan file is left as it is, a resumed run maps it from here.
   */
  addFollowedColumn(planHash: string, table: string, column: ColumnPlan): void {
    this.db
      .prepare('INSERT INTO followed_columns VALUES (?,?,?,?)')
      .run(planHash, table, JSON.stringify(column), new Date().toISOString());
  }

  /** The columns addFollowedColumn kept for a plan, in the order they were added. */
  followedColumns(planHash: string): { table: string; column: ColumnPlan }[] {
    return (
      this.db
        .prepare('SELECT table_name, column FROM followed_columns WHERE plan_hash = ? ORDER BY rowid')
        .all(planHash) as { table_name: string; column: string }[]
    ).map((r) => ({ table: r.table_name, column: JSON.parse(r.column) as ColumnPlan }));
  }

  stream(planHash: string): StreamRecord | undefined {
    const r = this.db.prepare('SELECT * FROM streams WHERE plan_hash = ?').get(planHash) as
      Record<string, string | number | null> | undefined;
    return (
      r && {
        start: r.start as string,
        applied: (r.applied as string | null) ?? undefined,
        committed: (r.committed as string | null) ?? undefined,
        appliedAt: (r.applied_at as string | null) ?? undefined,
        changes: r.changes as number,
        counts: (
          this.db
            .prepare('SELECT table_name, op, changes FROM stream_changes WHERE plan_hash = ? ORDER BY table_name, op')
            .all(planHash) as { table_name: string; op: string; changes: number }[]
        ).map((c) => ({ table: c.table_name, op: c.op, changes: c.changes })),
      }
    );
  }

  /** The follow loop's last batch (heartbeats too): when, how far behind the source, and its position. */
  setStreamBeat(planHash: string, beat: { lagSeconds: number; position: string }): void {
    this.db
      .prepare(
        'INSERT INTO stream_beats(plan_hash, seen_at, lag, position) VALUES (?,?,?,?) ' +
          'ON CONFLICT(plan_hash) DO UPDATE SET seen_at = excluded.seen_at, lag = excluded.lag, position = excluded.position',
      )
      .run(planHash, new Date().toISOString(), beat.lagSeconds, beat.position);
  }

  streamBeat(planHash: string): StreamBeat | undefined {
    const r = this.db.prepare('SELECT seen_at, lag, position FROM stream_beats WHERE plan_hash = ?').get(planHash) as
      { seen_at: string; lag: number; position: string } | undefined;
    return r && { seenAt: r.seen_at, lagSeconds: r.lag, position: r.position };
  }

  /** Keeps the spans of keys live changes touched in chunks of a table (follow/touched.ts), replacing those kept. */
  saveTouched(planHash: string, table: string, spans: TouchedSpan[]): void {
    const upsert = this.db.prepare(
      'INSERT INTO touched_chunks(plan_hash, table_name, idx, lowest, highest) VALUES (?,?,?,?,?) ' +
        'ON CONFLICT(plan_hash, table_name, idx) DO UPDATE SET lowest = excluded.lowest, highest = excluded.highest',
    );
    this.db.transaction(() => {
      for (const s of spans)
        upsert.run(
          planHash,
          table,
          s.idx,
          s.lowest ? stateStringify(s.lowest) : null,
          s.highest ? stateStringify(s.highest) : null,
        );
    })();
  }

  touchedChunks(planHash: string, table: string): TouchedSpan[] {
    const rows = this.db
      .prepare('SELECT idx, lowest, highest FROM touched_chunks WHERE plan_hash = ? AND table_name = ? ORDER BY idx')
      .all(planHash, table) as { idx: number; lowest: string | null; highest: string | null }[];
    return rows.map((r) => ({
      idx: r.idx,
      ...(r.lowest !== null && r.highest !== null
        ? { lowest: stateParse<unknown[]>(r.lowest), highest: stateParse<unknown[]>(r.highest) }
        : {}),
    }));
  }

  /** Where a plan's cutover stands: the follow loop reads it (frozen: drain; cut over: stop). */
  setCutover(planHash: string, c: CutoverRecord): void {
    this.db
      .prepare(
        'INSERT INTO cutovers(plan_hash, run_id, phase, position, updated) VALUES (?,?,?,?,?) ' +
          'ON CONFLICT(plan_hash) DO UPDATE SET run_id = excluded.run_id, phase = excluded.phase, position = excluded.position, updated = excluded.updated',
      )
      .run(planHash, c.runId, c.phase, c.position ?? null, new Date().toISOString());
  }

  /** Keeps what a freeze changes, before it changes it (and each time it changes more). */
  setFreeze(planHash: string, f: FreezeRecord): void {
    this.db
      .prepare(
        'INSERT INTO freezes(plan_hash, run_id, engine, since, host, pid, undo) VALUES (?,?,?,?,?,?,?) ' +
          'ON CONFLICT(plan_hash) DO UPDATE SET run_id = excluded.run_id, engine = excluded.engine, since = excluded.since, ' +
          'host = excluded.host, pid = excluded.pid, undo = excluded.undo',
      )
      .run(planHash, f.runId, f.engine, f.since, f.host, f.pid, stateStringify(f.undo));
  }

  /** The freeze in force for a plan's cutover, if one is. */
  freeze(planHash: string): FreezeRecord | undefined {
    const r = this.db
      .prepare('SELECT run_id, engine, since, host, pid, undo FROM freezes WHERE plan_hash = ?')
      .get(planHash) as
      { run_id: string; engine: string; since: string; host: string; pid: number; undo: string } | undefined;
    return (
      r && {
        runId: r.run_id,
        engine: r.engine,
        since: r.since,
        host: r.host,
        pid: r.pid,
        undo: stateParse<FreezeUndo>(r.undo),
      }
    );
  }

  /** The freeze is undone. */
  forgetFreeze(planHash: string): void {
    this.db.prepare('DELETE FROM freezes WHERE plan_hash = ?').run(planHash);
  }

  /** Forgets a plan's cutover (the way back's, once rolled back along: a later cutover opens a new one). */
  forgetCutover(planHash: string): void {
    this.db.prepare('DELETE FROM cutovers WHERE plan_hash = ?').run(planHash);
  }

  cutover(planHash: string): CutoverRecord | undefined {
    const r = this.db.prepare('SELECT run_id, phase, position FROM cutovers WHERE plan_hash = ?').get(planHash) as
      { run_id: string; phase: CutoverPhase; position: string | null } | undefined;
    return r && { runId: r.run_id, phase: r.phase, ...(r.position !== null ? { position: r.position } : {}) };
  }

  auditRuns(): string[] {
    return this.db.prepare('SELECT run_id FROM audit_heads ORDER BY run_id').pluck().all() as string[];
  }

  /** The latest verification of a plan (by hash). */
  latestVerification(planHash: string): { run: RunRecord; results: VerifyRecord[] } | undefined {
    const r = this.db
      .prepare(
        "SELECT id FROM runs WHERE plan_hash = ? AND command = 'verify' AND finished IS NOT NULL ORDER BY started DESC, rowid DESC LIMIT 1",
      )
      .get(planHash) as { id: string } | undefined;
    if (!r) return undefined;
    const results = (
      this.db.prepare('SELECT result FROM verifications WHERE run_id = ? ORDER BY rowid').all(r.id) as {
        result: string;
      }[]
    ).map((x) => JSON.parse(x.result) as VerifyRecord);
    return { run: this.run(r.id)!, results };
  }
}

export function requireRun(state: StateStore, id?: string): RunRecord {
  const run = state.run(id);
  if (!run)
    throw new FerryError(
      'RUN_NOT_FOUND',
      id ? `no run ${id} in ${state.dir}` : `no run recorded in ${state.dir}`,
      'run `ferry run PLAN` first, or pass --state-dir',
    );
  return run;
}
