// Waiting on the follow process (another process, or this one): until its lag is under
// --max-lag before the freeze, and after it, until the target holds the frozen position.
import type { ChangeLog } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { streamName } from '../follow/follow.js';
import type { Session } from '../session/session.js';
import { notFollowing } from './following.js';

const POLL_MS = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the follow loop's last batch was within `maxLagMs` of the source and recent; its lag in seconds. */
export async function waitForLag(session: Session, maxLagMs: number, timeoutMs: number): Promise<number> {
  const { state, hash } = session;
  // a follow loop writes a beat at least every heartbeat (and every batch): older means none runs
  const freshMs = 2 * (session.plan.cdc?.heartbeatSeconds ?? 10) * 1000 + 2000;
  const deadline = Date.now() + timeoutMs;
  let lag: number | undefined;
  for (;;) {
    const beat = state.streamBeat(hash);
    const run = state.run(undefined, session.followedBy ?? 'run');
    if (!run || run.planHash !== hash || run.status !== 'running') throw notFollowing(session.planFile);
    if (beat && Date.now() - Date.parse(beat.seenAt) <= freshMs) {
      lag = beat.lagSeconds;
      if (lag * 1000 < maxLagMs) return lag;
    }
    if (Date.now() > deadline)
      throw new FerryError(
        'CUTOVER_ABORTED',
        lag === undefined
          ? `the follow process of ${session.planFile} applied nothing for ${Math.round(timeoutMs / 1000)} s`
          : `the target stayed ${lag.toFixed(1)} s behind the source, more than --max-lag, for ${Math.round(timeoutMs / 1000)} s`,
        'nothing was frozen: let the follow process catch up (ferry status PLAN), then run ferry cutover again',
      );
    await sleep(POLL_MS);
  }
}

/** Waits until the target holds `position` (or past it) of the plan's stream; the position it holds. */
export async function waitApplied(
  session: Session,
  log: ChangeLog,
  position: string,
  signal: AbortSignal,
): Promise<string> {
  const start = session.state.streamStart(session.hash)!;
  const name = streamName(session.hash, start);
  for (;;) {
    const applied = (await session.writer.appliedPosition!(name)) ?? start;
    if (log.comparePositions!(applied, position) >= 0) return applied;
    if (signal.aborted) return applied;
    await sleep(POLL_MS);
  }
}
