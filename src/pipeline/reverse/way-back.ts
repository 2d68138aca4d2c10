// The way back as commands: `ferry cutover PLAN --reverse` cuts over (pipeline/cutover/) with the
// way back opened in the frozen window, then follows the target back into the source in the
// foreground, holding the source's freeze; `ferry rollback --after-cutover PLAN` is the same
// guarded cutover of the plan backwards (freeze the target, drain the way back, counters, switch
// hook), after which the process following back makes the source writable again (with the freeze
// it holds, or the one the state folder records when it was started again) and closes the way
// back (its slot and publication, its position), so that a later cutover opens a new one.
import type { WriteFreeze } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { cutoverSession, type CutoverOptions, type CutoverResult, type WayBackOpening } from '../cutover/cutover.js';
import { streamName, type FollowOptions, type FollowSummary } from '../follow/follow.js';
import { asCommand, type CommandRun } from '../session/command.js';
import { holdingPlan } from '../session/lock.js';
import { lockRequest, openSession, type Session } from '../session/session.js';
import { thawRecord } from '../cutover/freeze-record.js';
import { checkFreeze } from '../cutover/following.js';
import { checkWayBack, FOLLOW_BACK, followBack, reverseChangeLog, reverseSession } from './reverse.js';

export interface WayBackOptions extends CutoverOptions, FollowOptions {
  /** the cutover's result, as soon as the plan is cut over (following back goes on after it) */
  onCutOver?: (r: CutoverResult) => void;
}

export interface WayBackSummary {
  /** the cutover this command made; undefined when it went on following back after a restart */
  cutover?: CutoverResult;
  follow: FollowSummary;
  /** the move was rolled back (`ferry rollback --after-cutover`): the source takes the application's writes again */
  rolledBack?: { sourceWritable: boolean };
}

/** The command that switches back, as the state store and the audit log name it (under the plan backwards). */
export const ROLLBACK_AFTER_CUTOVER = 'rollback --after-cutover';

/** How long `ferry rollback --after-cutover` waits for the process following back to make the source writable. */
const THAW_WAIT_MS = 60_000;

/**
 * `ferry cutover PLAN --reverse`: the cutover with the way back, then following back until
 * stopped or rolled back. A plan cut over with a way back already goes on following back (after
 * a restart: the position is in the source, nothing is lost or applied twice).
 */
export async function cutoverWithWayBack(planFile: string, opts: WayBackOptions = {}): Promise<WayBackSummary> {
  const forward = await openSession(planFile, opts);
  try {
    // what cannot go back is refused before anything is frozen
    const back = await reverseSession(forward);
    const cut = forward.state.cutover(forward.hash);
    if (cut?.phase === 'cut over') {
      if (forward.state.streamStart(back.hash) === undefined)
        throw new FerryError(
          'STATE_CONFLICT',
          `plan ${planFile} was cut over without a way back (run ${cut.runId})`,
          'the source stays as it was at the freeze; a way back needs a cutover with --reverse (copy the plan again to cut over anew)',
        );
      return await followBackHeld(forward, back, opts, undefined);
    }
    await checkWayBack(back);
    // a rollback freezes the target: what it needs is checked now, before the source is frozen
    await checkFreeze(back.reader, 'target');
    const opening: WayBackOpening = { back };
    // an aborted cutover closes the way back it opened: the next one opens it where the target stands then
    const cutover = await cutoverSession(forward, opts, opening).catch(async (e: unknown) => {
      await dropWayBack(back).catch(() => {});
      throw e;
    });
    opts.onCutOver?.(cutover);
    return { cutover, ...(await followBackHeld(forward, back, opts, opening.freeze)) };
  } finally {
    await forward.close();
  }
}

/**
 * `ferry cutover PLAN --reverse` once the plan is cut over: follows back under a lock of the way
 * back's own (one such process at a time). Stopped by a rollback, it makes the source writable
 * again with `freeze` (the cutover's, when this process made it; else the state folder's record
 * of it) and closes the way back.
 */
async function followBackHeld(
  forward: Session,
  back: Session,
  opts: FollowOptions,
  freeze: WriteFreeze | undefined,
): Promise<Omit<WayBackSummary, 'cutover'>> {
  return holdingPlan(lockRequest(back, 'cutover --reverse'), () =>
    asCommand(
      {
        state: back.state,
        plan: { hash: back.hash, file: back.planFile },
        command: FOLLOW_BACK,
        log: back.log,
        details: { planFile: back.planFile, from: back.plan.source.url, to: back.plan.target.url },
      },
      async (run) => {
        const follow = await followBack(back, run, opts);
        const out: Omit<WayBackSummary, 'cutover'> = { follow };
        if (follow.cutOver) out.rolledBack = await closeWayBack(forward, back, run, freeze);
        return { result: out, status: out.rolledBack ? 'rolled back' : 'done', details: { ...follow } };
      },
    ),
  );
}

/** After a rollback along the way back: the source writable again, the way back's slot, publication and position gone. */
async function closeWayBack(
  forward: Session,
  back: Session,
  run: CommandRun,
  freeze: WriteFreeze | undefined,
): Promise<{ sourceWritable: boolean }> {
  // the freeze this process made, or (started again since the cutover) the one the state folder keeps
  const thawed = freeze
    ? await freeze.undo().then(() => true)
    : (await thawRecord(forward.state, forward.hash, forward.reader)) !== undefined;
  if (thawed) run.audit.record('the source is writable again', {});
  else run.audit.record('the source stays frozen', { reason: 'no freeze of it is recorded' });
  await dropWayBack(back);
  forward.state.setCutover(forward.hash, { runId: run.id, phase: 'rolled back' });
  run.audit.record('the way back is closed', {});
  return { sourceWritable: thawed };
}

/** Drops what the way back keeps: its change log on the target, its position in the source, its records in the state folder. */
async function dropWayBack(back: Session): Promise<void> {
  await reverseChangeLog(back).drop();
  const start = back.state.streamStart(back.hash);
  if (start !== undefined) await back.writer.forgetStream?.(streamName(back.hash, start));
  back.state.forgetStream(back.hash);
  back.state.forgetCutover(back.hash);
}

/**
 * `ferry rollback --after-cutover PLAN`: the cutover of the plan backwards while `ferry cutover
 * PLAN --reverse` follows back: the target frozen, the way back drained and verified, the
 * source's counters set, the switch hook run; then the source made writable again by the
 * process that froze it.
 */
export async function rollbackAfterCutover(planFile: string, opts: CutoverOptions = {}): Promise<CutoverResult> {
  const forward = await openSession(planFile, opts);
  try {
    const { state, hash } = forward;
    if (state.cutover(hash)?.phase !== 'cut over')
      throw new FerryError(
        'STATE_CONFLICT',
        `plan ${planFile} is not cut over: there is nothing to roll back after a cutover`,
        "see `ferry status PLAN`; before a cutover the source is still the application's database",
      );
    const back = await reverseSession(forward);
    if (state.streamStart(back.hash) === undefined)
      throw new FerryError(
        'STATE_CONFLICT',
        `plan ${planFile} was cut over without a way back: the source has not followed the target since`,
        'the source stays as it was at the freeze; a way back needs a cutover with --reverse',
      );
    const result = await cutoverSession(back, opts, undefined, ROLLBACK_AFTER_CUTOVER);
    for (const until = Date.now() + THAW_WAIT_MS; state.cutover(hash)?.phase !== 'rolled back';) {
      if (Date.now() > until)
        throw new FerryError(
          'STATE_CONFLICT',
          `the target is frozen and the way back drained, but the process following back did not make the source writable within ${THAW_WAIT_MS / 1000} s`,
          `see its output (\`ferry cutover ${planFile} --reverse\`) and the audit log; the README ("The way back") says how to undo the freeze by hand`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return result;
  } finally {
    await forward.close();
  }
}
