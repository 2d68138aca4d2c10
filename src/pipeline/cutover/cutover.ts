// `ferry cutover PLAN`: the guarded switch, while `ferry run PLAN --follow` runs. It waits until
// the follow process is under --max-lag, freezes the application's writes on the source, reads
// the frozen position, waits until the target holds it, verifies the chunks the stream touched
// since the snapshot, sets the target's counters, runs the switch hook and reports. A failed
// step, or the freeze passing --max-freeze (a timer, freeze-guard.ts), undoes the freeze, and
// following goes on. Once cut over, the follow process stops (follow/cutover-watch.ts).
import { hostname } from 'node:os';
import { join } from 'node:path';
import type {
  ChangeLog,
  CompactResult,
  FreezeOptions,
  Lease,
  LockHolder,
  ReadView,
  WriteFreeze,
} from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { boundsOf } from '../copy/bounds.js';
import { takeLockFile } from '../../core/lock-file.js';
import { compactSession } from '../follow/compact.js';
import { announcePhase } from '../follow/cutover-watch.js';
import type { VerifyRecord } from '../session/checkpoints.js';
import { asCommand, type CommandRun } from '../session/command.js';
import { OTHER_STATE_FOLDER } from '../session/private-files.js';
import { openSession, type Session, type SessionOptions } from '../session/session.js';
import { verifyTouched } from './verify-touched.js';
import { waitApplied, waitForLag } from './drain.js';
import { FreezeGuard } from './freeze-guard.js';
import { freezeOf, recordedFreeze, thawRecord } from './freeze-record.js';
import { checkFreeze, cutoverChangeLog } from './following.js';
import { setSequences } from './sequences.js';
import { runSwitchHook } from './switch-hook.js';
import { openWayBack } from '../reverse/reverse.js';

export interface CutoverOptions extends SessionOptions {
  /** the follow process's lag to wait for before freezing (default 2 s) */
  maxLagMs?: number;
  /** the longest the source may stay frozen; the freeze is undone past it (default 5 s) */
  maxFreezeMs?: number;
  /** how long to wait for the lag before giving up, nothing frozen (default 60 s) */
  lagTimeoutMs?: number;
  /** the shell command that moves the application */
  switchHook?: string;
  /** whose writes to freeze (FreezeOptions) */
  accounts?: string[];
  endUnstoppable?: boolean;
  /** each step as it is done, in one line */
  onStep?: (line: string) => void;
}

export interface CutoverResult {
  runId: string;
  plan: string;
  /** the copy's snapshot position, the source's position when frozen, and the position the target held then */
  positions: { start: string; frozen: string; applied: string };
  /** from the freeze to the target ready (drained, verified, counters set) */
  frozenMs: number;
  /** from the freeze begun to the source frozen (settings changed, sessions ended) */
  freezeMs: number;
  /** reading the frozen position */
  markMs: number;
  /** from the frozen position read to the target holding it */
  drainMs: number;
  verifyMs: number;
  /** setting the target's counters */
  sequencesMs: number;
  /** the follow process's lag when the freeze began, in seconds */
  lagSeconds: number;
  /** what the freeze did, and the accounts it could not stop */
  freeze: { steps: string[]; unstoppable: WriteFreeze['unstoppable'] };
  verified: { table: string; chunks: number; status: VerifyRecord['status'] }[];
  /** tables whose counters were set, and those the target could not set */
  sequences: { set: string[]; notSet: string[] };
  switchHook?: string;
  /** a target that keeps live changes beside its tables (object storage): the tables compacted once cut over */
  compacted?: CompactResult[];
}

const DEFAULTS = { maxLagMs: 2000, maxFreezeMs: 5000, lagTimeoutMs: 60_000 };

export async function cutoverPlan(planFile: string, opts: CutoverOptions = {}): Promise<CutoverResult> {
  const session = await openSession(planFile, opts);
  try {
    const result = await cutoverSession(session, opts);
    if (!session.writer.compact) return result;
    // the source is frozen and every change is in: the tables are written anew without their change files
    try {
      return { ...result, compacted: (await compactSession(session)).tables };
    } catch (e) {
      opts.onWarning?.(
        `the cutover is done, but compacting the target failed (${e instanceof FerryError ? e.message : (e as Error).message}): run \`ferry compact ${planFile}\``,
      );
      return result;
    }
  } finally {
    await session.close();
  }
}

/**
 * The way back a cutover opens (pipeline/reverse/): the plan's session backwards, whose change
 * log is opened on the target in the frozen window; the freeze of the source is handed over
 * once cut over, for the way back to undo if the move is rolled back.
 */
export interface WayBackOpening {
  back: Session;
  freeze?: WriteFreeze;
}

/**
 * The cutover of a session's plan (or, for `ferry rollback --after-cutover`, of the plan's session
 * backwards), recorded as `command`.
 */
export async function cutoverSession(
  session: Session,
  opts: CutoverOptions,
  wayBack?: WayBackOpening,
  command = 'cutover',
): Promise<CutoverResult> {
  const { state, hash, planFile } = session;
  const log = cutoverChangeLog(session);
  const lease = takeCutoverLock(session, command);
  try {
    const details = { source: session.plan.source.url, target: session.plan.target.url };
    return await asCommand({ state, plan: { hash, file: planFile }, command, log: session.log, details }, (run) =>
      cutOver(session, log, run, opts, wayBack).then((result) => ({
        result,
        status: 'cut over',
        details: timings(result),
      })),
    );
  } finally {
    await lease.release();
  }
}

/** The lock of a plan's cutovers: the follow process holds the plan's lock, so a cutover takes one of its own. */
export function takeCutoverLock(session: Session, command: string): Lease {
  const me: LockHolder = { host: hostname(), pid: process.pid, since: new Date().toISOString(), command };
  const lock = takeLockFile(join(session.state.folder('locks'), `${session.hash}.cutover.lock`), me, {
    what: `the cutover of plan ${session.planFile}`,
    elsewhere: OTHER_STATE_FOLDER,
  });
  if (!('lease' in lock))
    throw new FerryError(
      'LOCKED',
      `another ferry cutover of plan ${session.planFile} is running${lock.heldBy?.pid ? ` (process ${lock.heldBy.pid})` : ''}`,
      'wait for it to end',
    );
  return lock.lease;
}

function timings(r: CutoverResult): Record<string, unknown> {
  const { frozenMs, freezeMs, markMs, drainMs, verifyMs, sequencesMs, positions } = r;
  return { frozenMs, freezeMs, markMs, drainMs, verifyMs, sequencesMs, positions };
}

async function cutOver(
  session: Session,
  log: ChangeLog,
  run: CommandRun,
  o: CutoverOptions,
  wayBack: WayBackOpening | undefined,
): Promise<CutoverResult> {
  const opts = { ...DEFAULTS, ...o };
  const { state, hash, reader } = session;
  // while frozen, the steps' audit lines wait in memory (each durable line costs two fsyncs, tens
  // of milliseconds on a busy disk) and are written, with the time of each, once the application
  // has moved or the freeze is undone; what undoes the freeze is durable before it is made
  let held: { event: string; details: Record<string, unknown> }[] | undefined;
  const step = (event: string, details: Record<string, unknown> = {}) => {
    if (held) held.push({ event, details: { ...details, at: new Date().toISOString() } });
    else run.audit.record(event, details);
    opts.onStep?.(event);
  };
  const release = () => {
    for (const h of held ?? []) run.audit.record(h.event, h.details);
    held = undefined;
  };
  // a freeze left by a cutover killed while frozen is undone first: this one records the settings as they should be
  const stale = freezeOf(state, hash);
  if (stale?.standing === 'stale') {
    await thawRecord(state, hash, reader);
    if (state.cutover(hash)?.phase === 'frozen') announcePhase(session, { runId: stale.runId, phase: 'aborted' });
    step(`undid the freeze left since ${stale.since} by run ${stale.runId}`, {
      since: stale.since,
      runId: stale.runId,
    });
  } else if (stale)
    throw new FerryError(
      'LOCKED',
      `plan ${session.planFile} is frozen by run ${stale.runId} (process ${stale.pid} on ${stale.host}) since ${stale.since}`,
      'wait for it to end',
    );
  // the plan backwards (a rollback after the cutover) freezes the old target
  await checkFreeze(reader, session.followedBy ? 'target' : 'source');
  // what verify needs that does not change with the freeze is measured before it
  const bounds = await boundsOf(session, () => {});
  const lagSeconds = await waitForLag(session, opts.maxLagMs, opts.lagTimeoutMs);
  step(`the follow process is ${lagSeconds.toFixed(2)} s behind the source`, { lagSeconds });

  const accounts: FreezeOptions = {
    ...(opts.accounts?.length ? { accounts: opts.accounts } : {}),
    ...(opts.endUnstoppable ? { endUnstoppable: true } : {}),
  };
  held = [];
  const guard = new FreezeGuard(recordedFreeze(session, run.id, accounts), opts.maxFreezeMs);
  let at = 'freezing the writes';
  let view: Promise<ReadView> | undefined;
  try {
    const freeze = await guard.step(guard.frozen);
    const freezeMs = guard.elapsed();
    step('writes frozen on the source', { steps: freeze.steps, unstoppable: freeze.unstoppable, freezeMs });
    at = 'reading the frozen position';
    const frozen = await guard.step(log.mark!());
    const markMs = guard.elapsed() - freezeMs;
    announcePhase(session, { runId: run.id, phase: 'frozen', position: frozen });
    step(`the source is frozen at ${frozen}`, { position: frozen });

    at = 'draining';
    const drainFrom = Date.now();
    // the frozen source's view opens while the target drains: nothing can change it any more
    view = session.reader.snapshot(bounds.workers);
    view.catch(() => {});
    const applied = await guard.step(waitApplied(session, log, frozen, guard.signal));
    const drainMs = Date.now() - drainFrom;
    step(`the target holds ${applied}`, { position: applied, drainMs });

    at = 'verifying';
    const verifyFrom = Date.now();
    const ready = { bounds, view: await guard.step(view) };
    const records = await guard.step(verifyTouched(session, run, ready.bounds, ready.view));
    const verifyMs = Date.now() - verifyFrom;
    const differ = records.filter((r) => r.status !== 'match');
    if (differ.length)
      throw new FerryError(
        'CUTOVER_ABORTED',
        `the target differs from the frozen source in ${differ.map((r) => `${r.table} (${r.sample[0] ?? r.message ?? r.status})`).join(', ')}`,
        '`ferry verify PLAN` shows every difference',
      );
    step(`verified the keys the stream touched (${records.reduce((n, r) => n + r.chunks, 0)} spans)`, { verifyMs });

    at = 'setting the sequences';
    const sequencesFrom = Date.now();
    const sequences = await guard.step(setSequences(session));
    const sequencesMs = Date.now() - sequencesFrom;
    const frozenMs = guard.elapsed();
    step('the target is ready', { sequences, frozenMs });

    // the way back starts here: the forward stream drained, the application not yet on the target
    if (wayBack) {
      at = 'opening the way back';
      const start = await guard.step(openWayBack(wayBack.back));
      step(`the way back starts at the target's ${start}`, { position: start });
    }

    const positions = { start: state.streamStart(hash)!, frozen, applied };
    if (opts.switchHook) {
      at = 'running the switch hook';
      await guard.step(
        runSwitchHook(
          opts.switchHook,
          {
            FERRY_PLAN: session.planFile,
            FERRY_PLAN_HASH: hash,
            FERRY_SOURCE_KIND: session.source.kind,
            FERRY_TARGET_KIND: session.target.kind,
            FERRY_FROZEN_POSITION: frozen,
            FERRY_APPLIED_POSITION: applied,
          },
          guard.signal,
        ),
      );
      step('the switch hook succeeded');
    }
    guard.keep();
    release();
    if (wayBack) wayBack.freeze = freeze;
    await releaseView(view);
    announcePhase(session, { runId: run.id, phase: 'cut over', position: frozen });
    step('cut over: the source stays frozen, the application writes to the target', { position: frozen });
    return {
      runId: run.id,
      plan: session.planFile,
      positions,
      frozenMs,
      freezeMs,
      markMs,
      drainMs,
      verifyMs,
      sequencesMs,
      lagSeconds,
      freeze: { steps: freeze.steps, unstoppable: freeze.unstoppable },
      verified: records.map((r) => ({ table: r.table, chunks: r.chunks, status: r.status })),
      sequences,
      ...(opts.switchHook ? { switchHook: opts.switchHook } : {}),
    };
  } catch (e) {
    await releaseView(view);
    const reason = e instanceof FerryError ? e.message : (e as Error).message;
    let undone = 'the source is writable again';
    try {
      await guard.undo();
    } catch (u) {
      undone = `THE SOURCE IS STILL FROZEN (${(u as Error).message}): \`ferry cutover ${session.planFile} --unfreeze\` undoes it`;
    }
    announcePhase(session, { runId: run.id, phase: 'aborted' });
    release();
    step('cutover aborted', { step: at, reason, undone, frozenMs: guard.elapsed() });
    throw new FerryError(
      'CUTOVER_ABORTED',
      `cutover aborted while ${at}: ${reason}; ${undone} and following goes on`,
      e instanceof FerryError && e.action ? e.action : 'fix the cause, then run ferry cutover again',
      { cause: e },
    );
  }
}

async function releaseView(view: Promise<ReadView> | undefined): Promise<void> {
  await view?.then((v) => v.release()).catch(() => {});
}
