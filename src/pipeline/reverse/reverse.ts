// The way back after a cutover: the plan's session seen backwards (the old target is read, the
// old source written), its change log opened on the target while the source is frozen, and the
// target's changes followed into the source by the same follow loop as the forward stream
// (follow.ts). The reverse stream's positions are kept in the old source, with its changes.
import { FerryError } from '../../core/errors.js';
import type { ChangeLog } from '../../core/contracts.js';
import { changeLogSettings, followChanges, type FollowOptions, type FollowSummary } from '../follow/follow.js';
import { mapTable } from '../plan/mapping.js';
import type { CommandRun } from '../session/command.js';
import type { Session } from '../session/session.js';
import { sourceSide, targetSide } from '../session/sides.js';
import { reverseHash, reversePlan } from './reverse-plan.js';

/** The command that follows the way back, as the state store and the audit log name it. */
export const FOLLOW_BACK = 'follow back';

/** The engines whose changes ferry can follow back, as the old target of a plan. */
const FOLLOWED_BACK = new Set(['postgres', 'mysql']);

/**
 * The plan's session backwards, on the forward session's own connections (closing it closes
 * the forward session): a one-line refusal when the target's changes cannot go back.
 */
export async function reverseSession(forward: Session): Promise<Session> {
  const { plan, target, source } = forward;
  if (!FOLLOWED_BACK.has(target.kind) || !target.source)
    throw new FerryError(
      'UNSUPPORTED',
      `${target.kind} targets cannot be followed back into the source: the way back (--reverse) needs a PostgreSQL or MySQL/MariaDB target`,
      'cut over without --reverse',
    );
  const writer = targetSide(source);
  if (!writer.applyChanges || !writer.appliedPosition)
    throw new FerryError(
      'UNSUPPORTED',
      `${source.kind} sources cannot take the target's changes back`,
      'cut over without --reverse',
    );
  const live = await target.introspect({ tables: forward.waves.flat().map((m) => m.target.name) });
  const byName = new Map(live.tables.map((t) => [t.name, t]));
  const back = reversePlan(plan, forward.waves, byName);
  const waves = back.waves.map((w, wi) =>
    w.tables.map((tp, ti) =>
      mapTable(
        back,
        tp,
        byName.get(tp.source),
        target,
        source,
        `${forward.planFile} backwards: waves[${wi}].tables[${ti}]`,
      ),
    ),
  );
  return {
    ...forward,
    plan: back,
    hash: reverseHash(forward.hash),
    source: target,
    target: source,
    reader: sourceSide(target),
    writer,
    waves,
    followedBy: FOLLOW_BACK,
  };
}

/** The old target's change log for the way back (a slot and a publication of its own, on PostgreSQL). */
export function reverseChangeLog(back: Session): ChangeLog {
  return back.reader.changeLog!(changeLogSettings(back));
}

/**
 * What the way back needs of the target (logical replication or a row binlog, privileges),
 * checked before a cutover freezes anything: a one-line refusal with what to do.
 */
export async function checkWayBack(back: Session): Promise<void> {
  const findings = await reverseChangeLog(back).check(back.waves.flat().map((m) => m.source));
  const blocking = findings.filter((f) => f.severity === 'error');
  if (blocking.length > 0)
    throw new FerryError(
      'UNSUPPORTED',
      `the target's changes cannot be followed back: ${blocking[0]!.message}${blocking.length > 1 ? ` (and ${blocking.length - 1} more)` : ''}`,
      blocking[0]!.action ?? 'cut over without --reverse',
    );
}

/**
 * Opens the target's change log where the target stands now, and keeps that position as the
 * start of the way back. A cutover calls it while the source is frozen and the forward stream
 * drained, before the switch lets the application write to the target: every write of the
 * application to the target comes after it, every write of the forward stream before it.
 * Called again (a cutover resumed), it keeps the first start.
 */
export async function openWayBack(back: Session): Promise<string> {
  const { view, position } = await reverseChangeLog(back).snapshot(
    back.waves.flat().map((m) => m.source),
    1,
  );
  await view.release();
  back.state.setStreamStart(back.hash, position);
  return back.state.streamStart(back.hash)!;
}

/** Follows the target's changes back into the source until `opts.signal` stops it. */
export function followBack(back: Session, run: CommandRun, opts: FollowOptions): Promise<FollowSummary> {
  return followChanges(back, run, reverseChangeLog(back), opts);
}
