// A queued run's records where every machine reaches them: when a coordinated run ends, the
// coordinator publishes its state of the plan (the state file with the plan's records only, and
// the audit logs of the plan's runs) in the run's shared state, and `ferry report PLAN --queue
// URL` or `ferry rollback PLAN --queue URL` on a machine without the run's state folder lays them
// out in an empty state folder and works from there as on the coordinator. A rollback made so is
// published back; the coordinator's own state folder then no longer says what the target holds,
// and its next queued run refuses to start on it (`refuseRolledBackElsewhere`).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { loadPlan } from '../../core/plan.js';
import { auditFile } from '../safety/audit.js';
import { stateExists, StateStore } from '../session/checkpoints.js';
import { privateFolder, writePrivateFile } from '../session/private-files.js';
import { connectQueue, queueAddress, sharedStateUrl } from './address.js';
import { SharedCheckpoints } from './shared-state.js';

const STATE_FILE = 'state.db';
/** The rollback run made from another machine, among the records. */
const ROLLED_BACK = 'rolled-back';

async function withShared<T>(stateUrl: string, log: Logger, fn: (shared: SharedCheckpoints) => Promise<T>): Promise<T> {
  const address = queueAddress(stateUrl);
  const redis = await connectQueue(address, log, 'check that Redis runs there and that this machine may reach it');
  try {
    return await fn(new SharedCheckpoints(redis, address.prefix));
  } finally {
    redis.disconnect();
  }
}

/** The state file's copy with the plan's records only, and the audit logs of the plan's runs. */
function recordsOf(state: StateStore, planHash: string): Map<string, Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-records-'));
  try {
    const file = join(dir, STATE_FILE);
    state.copyTo(file);
    const copy = new Database(file);
    let runs: string[];
    try {
      const tables = copy.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
      const columns = (t: string) =>
        (copy.prepare(`PRAGMA table_info("${t}")`).all() as { name: string }[]).map((c) => c.name);
      // the plan's rows first, then the rows of its runs
      for (const t of tables)
        if (columns(t).includes('plan_hash')) copy.prepare(`DELETE FROM "${t}" WHERE plan_hash <> ?`).run(planHash);
      for (const t of tables)
        if (!columns(t).includes('plan_hash') && columns(t).includes('run_id'))
          copy.exec(`DELETE FROM "${t}" WHERE run_id NOT IN (SELECT id FROM runs)`);
      runs = copy.prepare('SELECT id FROM runs').pluck().all() as string[];
      copy.exec('VACUUM');
    } finally {
      copy.close();
    }
    const files = new Map<string, Buffer>([[STATE_FILE, readFileSync(file)]]);
    for (const id of runs) {
      const audit = auditFile(state.dir, id);
      try {
        files.set(`audit/${id}.jsonl`, readFileSync(audit));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return files;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Publishes the plan's records in the run's shared state (`rollback`: a rollback made on this machine, not the coordinator). */
export async function publishRunRecords(
  state: StateStore,
  planHash: string,
  stateUrl: string,
  log: Logger,
  rollback?: string,
): Promise<void> {
  const files = recordsOf(state, planHash);
  if (rollback) files.set(ROLLED_BACK, Buffer.from(rollback));
  await withShared(stateUrl, log, (shared) => shared.putRecords(planHash, files));
}

/**
 * Lays out the records of the plan's queued run in `stateDir`, which must hold no state: one
 * line when it does, or when the shared state has no records of the plan.
 */
export async function fetchRunRecords(
  planFile: string,
  queue: string,
  sharedState: string | undefined,
  stateDir: string,
  log: Logger,
): Promise<{ stateUrl: string; hash: string }> {
  const stateUrl = sharedStateUrl(queue, sharedState);
  const { hash } = loadPlan(planFile);
  if (stateExists(stateDir))
    throw new FerryError(
      'STATE_CONFLICT',
      `the state folder ${stateDir} holds a state already, and --queue lays a queued run's records out in an empty one`,
      'leave --queue out to use the state there, or give an empty folder with --state-dir',
    );
  const files = await withShared(stateUrl, log, (shared) => shared.records(hash));
  files.delete(ROLLED_BACK);
  if (!files.has(STATE_FILE))
    throw new FerryError(
      'RUN_NOT_FOUND',
      `the shared state at ${queueAddress(stateUrl).shown} holds no records of a queued run of ${planFile}`,
      'a queued run publishes them when it ends: wait for it, or run the command on the machine that ran `ferry run --queue`',
    );
  privateFolder(stateDir);
  privateFolder(join(stateDir, 'audit'));
  for (const [name, bytes] of files) writePrivateFile(join(stateDir, name), bytes);
  return { stateUrl, hash };
}

/** A coordinator whose plan was rolled back from another machine does not run on its own out-of-date state. */
export async function refuseRolledBackElsewhere(
  state: StateStore,
  planHash: string,
  stateUrl: string,
  log: Logger,
): Promise<void> {
  const rollback = (await withShared(stateUrl, log, (shared) => shared.records(planHash))).get(ROLLED_BACK)?.toString();
  const known = (command: string) => state.runsOf(planHash, command);
  // a fresh state folder (moved away as said below) knows nothing, and starts afresh
  if (rollback && known('run').length > 0 && !known('rollback').some((r) => r.id === rollback))
    throw new FerryError(
      'STATE_CONFLICT',
      `the plan's queued run was rolled back from another machine (run ${rollback}), which the state in ${state.dir} does not know`,
      'move that state folder away to start afresh (the run prepares the target tables again as target.ifExists says)',
    );
}

/** A rollback made in a state folder laid out by fetchRunRecords, published back to the shared state. */
export async function publishRollback(
  stateDir: string,
  planHash: string,
  stateUrl: string,
  rollback: string,
  log: Logger,
): Promise<void> {
  const state = new StateStore(stateDir, { existing: true });
  try {
    await publishRunRecords(state, planHash, stateUrl, log, rollback);
  } finally {
    state.close();
  }
}
