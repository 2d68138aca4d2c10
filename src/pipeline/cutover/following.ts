// What a cutover needs before it freezes anything: a plan that follows live changes, a
// `ferry run PLAN --follow` of it running now (its batches keep the state folder's beat fresh),
// a source that can freeze its writes and order its positions (and an account allowed to),
// and no cutover done already.
import type { ChangeLog, Source } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { changeLogSettings } from '../follow/follow.js';
import type { Session } from '../session/session.js';

/** The plan's change log, once the plan is followed and the source can be cut over; one line otherwise. */
export function cutoverChangeLog(session: Session): ChangeLog {
  const { state, hash, planFile } = session;
  if (!session.reader.freezeWrites || !session.reader.changeLog)
    throw new FerryError(
      'UNSUPPORTED',
      `${session.source.kind} sources cannot be cut over (ferry cannot freeze their writes)`,
      'cut over from a PostgreSQL or MySQL/MariaDB source',
    );
  const log = session.reader.changeLog(changeLogSettings(session));
  if (!log.comparePositions || !log.mark)
    throw new FerryError('UNSUPPORTED', `${session.source.kind} sources cannot be cut over`, '');
  if (state.cutover(hash)?.phase === 'cut over')
    throw new FerryError(
      'STATE_CONFLICT',
      `plan ${planFile} is cut over already (run ${state.cutover(hash)!.runId})`,
      'see `ferry status PLAN`; to copy it again, `ferry rollback` it first',
    );
  if (!state.stream(hash))
    throw new FerryError(
      'STATE_CONFLICT',
      `plan ${planFile} is not followed: a cutover switches a plan whose live changes ferry follows`,
      'start `ferry run PLAN --follow` in another shell, wait until `ferry status PLAN` says following, then run ferry cutover',
    );
  const run = state.run(undefined, session.followedBy ?? 'run');
  if (!run || run.planHash !== hash || run.status !== 'running') throw notFollowing(planFile);
  return log;
}

export function notFollowing(planFile: string): FerryError {
  return new FerryError(
    'STATE_CONFLICT',
    `no \`ferry run ${planFile} --follow\` is following the plan now: a cutover needs it running to drain the last changes`,
    'start `ferry run PLAN --follow` in another shell (it goes on from where it stopped), then run ferry cutover again',
  );
}

/**
 * One line, before anything is frozen, when ferry's account on `side` (the source; the target,
 * which a rollback after the cutover freezes) cannot freeze its writes or write while they are
 * frozen.
 */
export async function checkFreeze(reader: Source, side: 'source' | 'target'): Promise<void> {
  const blocking = ((await reader.freezeCheck?.()) ?? []).filter((f) => f.severity === 'error');
  if (blocking.length > 0)
    throw new FerryError(
      'UNSUPPORTED',
      `ferry cannot freeze the ${side}'s writes: ${blocking[0]!.message}`,
      `${blocking[0]!.action}, then run the cutover again`,
    );
}
