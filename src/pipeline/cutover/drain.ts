// Waiting on the follow process (another process, or this one): until its lag is under
// --max-lag before the freeze, and after it, until the target holds the frozen position.
import type { ChangeLog } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { streamName } from '../follow/follow.js';
import type { Session } from '../session/session.js';
import { notFollowing } from './following.js';

const POLL_MS = 50;
/** how often the drain reads the follow loop's beat (a local read) */
const BEAT_MS = 5;

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

/**
 * Waits until the target holds `position` (or past it) of the plan's stream; the position it
 * holds. The follow loop's beat in the state folder (written once the target has committed a
 * batch) is read every BEAT_MS, the target asked once the beat says so, and every POLL_MS besides.
 */
export async function waitApplied(
  session: Session,
  log: ChangeLog,
  position: string,
  signal: AbortSignal,
): Promise<string> {
  const { state, hash } = session;
  const start = state.streamStart(hash)!;
  const name = streamName(hash, start);
  const reached = (p: string | undefined) => p !== undefined && log.comparePositions!(p, position) >= 0;
  for (let asked = 0; ;) {
    if (reached(state.streamBeat(hash)?.position) || Date.now() - asked >= POLL_MS) {
      asked = Date.now();
      const applied = (await session.writer.appliedPosition!(name)) ?? start;
      if (reached(applied)) return applied;
    }
    if (signal.aborted) return start;
    await sleep(BEAT_MS);
  }
}
