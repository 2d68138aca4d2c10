// The audit log: one append-only JSON-lines file per run (<stateDir>/audit/<run>.jsonl), one
// line per step, each carrying the SHA-256 of the line before it and its own, so that an
// edited, reordered or removed line breaks the chain. The state store keeps the last hash and
// the line count of every log, so lines cut off the end are found too. Lines are redacted.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { FerryError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { redact } from '../../core/secrets.js';
import type { StateStore } from '../session/checkpoints.js';
import { appendDurably, openPrivateFile } from '../session/private-files.js';

const HASH_FIELD = /,"hash":"([0-9a-f]{64})"\}$/;

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function auditFile(stateDir: string, runId: string): string {
  return join(stateDir, 'audit', `${runId}.jsonl`);
}

export class AuditLog {
  private readonly file: string;
  private readonly fd: number;
  private prev = '';
  private seq = 0;
  private readonly user = currentUser();
  private readonly host = hostname();

  private constructor(
    private readonly state: StateStore,
    readonly runId: string,
    private readonly command: string,
    private readonly planHash: string,
    private readonly log: Logger,
  ) {
    state.folder('audit');
    this.file = auditFile(state.dir, runId);
    this.fd = openPrivateFile(this.file, 'a');
  }

  /** Opens the log of a run that was just started in the state store; every step is logged to `log` too. */
  static open(
    state: StateStore,
    runId: string,
    command: string,
    planHash: string,
    log: Logger = silentLogger,
  ): AuditLog {
    return new AuditLog(state, runId, command, planHash, log);
  }

  /** Appends one step and makes it durable before the run goes on. */
  record(event: string, details: Record<string, unknown> = {}): void {
    this.log.info({ run: this.runId, ...details }, `${this.command}: ${event}`);
    const entry = {
      seq: ++this.seq,
      time: new Date().toISOString(),
      user: this.user,
      host: this.host,
      run: this.runId,
      command: this.command,
      plan: this.planHash,
      event,
      ...details,
      prev: this.prev,
    };
    const body = redact(JSON.stringify(entry, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    const hash = sha256(body);
    appendDurably(this.fd, this.file, `${body.slice(0, -1)},"hash":"${hash}"}\n`);
    this.prev = hash;
    this.state.setAuditHead(this.runId, this.seq, hash);
  }

  close(): void {
    closeSync(this.fd);
  }
}

export interface AuditCheck {
  run: string;
  file: string;
  lines: number;
  ok: boolean;
  /** what is wrong, naming the line */
  problem?: string;
}

/** Checks one run's log: the chain of hashes, and its end against the state store. */
export function verifyAuditLog(state: StateStore, runId: string): AuditCheck {
  const file = auditFile(state.dir, runId);
  const head = state.auditHead(runId);
  const fail = (lines: number, problem: string): AuditCheck => ({ run: runId, file, lines, ok: false, problem });
  if (!existsSync(file))
    return fail(0, head ? `the log is missing (the state recorded ${head.lines} lines)` : 'the log is missing');
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  let prev = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = HASH_FIELD.exec(line);
    if (!m) return fail(lines.length, `line ${i + 1} is not an audit entry (no hash at its end)`);
    const body = line.slice(0, m.index) + '}';
    let entry: { seq?: unknown; prev?: unknown };
    try {
      entry = JSON.parse(body) as { seq?: unknown; prev?: unknown };
    } catch {
      return fail(lines.length, `line ${i + 1} is not valid JSON`);
    }
    if (sha256(body) !== m[1])
      return fail(lines.length, `line ${i + 1} was changed (its content does not match its hash)`);
    if (entry.prev !== prev)
      return fail(
        lines.length,
        `line ${i + 1} does not follow line ${i} (a line was removed, inserted or moved before it)`,
      );
    if (entry.seq !== i + 1) return fail(lines.length, `line ${i + 1} carries sequence number ${String(entry.seq)}`);
    prev = m[1]!;
  }
  if (head && (head.lines !== lines.length || head.hash !== prev))
    return fail(
      lines.length,
      head.lines > lines.length
        ? `the log ends at line ${lines.length} but the state recorded ${head.lines} lines (lines were cut off its end)`
        : `the log does not end where the state recorded (line ${head.lines})`,
    );
  if (!head) return fail(lines.length, 'the state store has no record of this log');
  return { run: runId, file, lines: lines.length, ok: true };
}

/**
 * The entries of one run's log (those that record `event`, when given), in order, for a reader
 * such as the report; a line that is not an entry is left out (`ferry audit verify` is what says
 * a log is damaged).
 */
export function auditEvents(stateDir: string, runId: string, event?: string): Record<string, unknown>[] {
  const file = auditFile(stateDir, runId);
  if (!existsSync(file)) return [];
  const entries: Record<string, unknown>[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || (event !== undefined && !line.includes(`"event":${JSON.stringify(event)}`))) continue;
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (event === undefined || entry.event === event) entries.push(entry);
    } catch {
      // a damaged line: left out
    }
  }
  return entries;
}

/** Checks the log of one run, or of every run that has one. */
export function verifyAudit(state: StateStore, runId?: string): AuditCheck[] {
  if (runId && !state.auditHead(runId) && !existsSync(auditFile(state.dir, runId)))
    throw new FerryError(
      'RUN_NOT_FOUND',
      `no audit log of run ${runId} in ${state.dir}`,
      'give the id of a run (the names of the audit folder), or no id to check every log',
    );
  if (runId) return [verifyAuditLog(state, runId)];
  const dir = join(state.dir, 'audit');
  const onDisk = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => f.slice(0, -'.jsonl'.length))
    : [];
  const runs = new Set([...state.auditRuns(), ...onDisk]);
  return [...runs].sort().map((r) => verifyAuditLog(state, r));
}
