// One command at a time on a plan and its target. A command that acts on a plan (run, test,
// verify, rollback, restore, backup) takes the plan's lock in its state folder (a lock file: commands
// of this machine and this folder) and then on the target, where every runner of the plan
// sees it, from any machine (Target.lock). A second command stops at once with one line that
// names the holder. Taken before the command's run is recorded or anything is written.
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { LockHolder, LockOutcome, Lease, Target } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { takeLockFile } from '../../core/lock-file.js';
import type { StateStore } from './checkpoints.js';
import { OTHER_STATE_FOLDER } from './private-files.js';

export interface PlanLockRequest {
  state: StateStore;
  /** the plan's hash: the lock's name */
  hash: string;
  /** the plan as the user names it, for the refusal */
  planFile: string;
  /** the command taking the lock */
  command: string;
  /**
   * A lock of its own beside the plan's (compact: two compactions exclude each other, while the
   * run that follows the plan goes on); absent: the plan's lock.
   */
  scope?: string;
  /** the target side, when the command has one */
  target?: Target;
  /**
   * The command only reads the target (verify): where its account may not take the lock there
   * (a read-only S3 key or folder), it goes on with the lock in the state folder, saying so.
   */
  readsOnly?: { log: Logger };
}

/** Takes the plan's lock in the state folder and on the target; throws LOCKED, naming the holder, when either is held. */
export async function lockPlan(req: PlanLockRequest): Promise<Lease> {
  const me: LockHolder = { host: hostname(), pid: process.pid, since: new Date().toISOString(), command: req.command };
  const id = req.scope ? `${req.hash}-${req.scope}` : req.hash;
  const name = `ferry-${id}`;
  const local = takeLockFile(join(req.state.folder('locks'), `${id}.lock`), me, {
    what: `plan ${req.planFile}`,
    elsewhere: OTHER_STATE_FOLDER,
  });
  const state = leaseOf(local, req, 'its lock in the state folder');
  let remote: Lease | undefined;
  try {
    if (req.target?.lock) remote = leaseOf(await targetLock(req, name, me), req, 'its lock on the target');
  } catch (e) {
    await state.release();
    throw e;
  }
  return {
    async release() {
      await Promise.allSettled([remote?.release(), state.release()]);
    },
  };
}

async function targetLock(req: PlanLockRequest, name: string, me: LockHolder): Promise<LockOutcome> {
  try {
    return await req.target!.lock!(name, me);
  } catch (e) {
    if (!req.readsOnly || !(e instanceof FerryError) || e.code === 'LOCKED') throw e;
    req.readsOnly.log.warn(
      { error: e.oneLine() },
      `cannot take the lock of plan ${req.planFile} on the target; ${req.command} goes on with its lock in the state folder only`,
    );
    return { lease: { release: async () => {} } };
  }
}

function leaseOf(outcome: LockOutcome, req: PlanLockRequest, where: string): Lease {
  if ('lease' in outcome) return outcome.lease;
  throw new FerryError(
    'LOCKED',
    `another ferry command holds plan ${req.planFile} (${where}): ${holderText(outcome.heldBy)}`,
    'wait for that command to end (or stop it), then run this one again; a lock whose process is gone is taken over',
  );
}

/** "ferry run, process 4242 on host db-1, since 2026-12-07 11:58:35 UTC" */
export function holderText(h: LockHolder | undefined): string {
  if (!h) return 'its holder does not say who it is';
  const since = h.since.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
  const who = h.pid !== undefined ? `process ${h.pid} on host ${h.host}` : `host ${h.host}`;
  return `${h.command ? `ferry ${h.command}` : 'ferry'}, ${who}, since ${since}`;
}

/** Runs `fn` holding the plan's lock. */
export async function holdingPlan<T>(req: PlanLockRequest, fn: () => Promise<T>): Promise<T> {
  const lease = await lockPlan(req);
  try {
    return await fn();
  } finally {
    await lease.release();
  }
}
