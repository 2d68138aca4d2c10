// A cutover's freeze kept in the state folder (FreezeRecord): what the freeze changes is recorded
// before it changes it, and forgotten once undone. A process killed while the side it froze is
// frozen (its --max-freeze timer dies with it) leaves the record behind: `ferry status` shows it,
// the follow process warns of it, and the next `ferry cutover` or `ferry cutover PLAN --unfreeze`
// undoes it exactly (Source.thawWrites). A freeze a cutover kept on purpose (the run that made
// it cut over) is no stale one.
import { hostname } from 'node:os';
import type { FreezeOptions, Source, WriteFreeze } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { processGone } from '../../core/lock-file.js';
import type { FreezeRecord, StateStore } from '../session/checkpoints.js';
import type { Session } from '../session/session.js';

/** The status of the run that keeps its freeze on purpose. */
export const CUT_OVER = 'cut over';

/** A freeze of `session`'s source side, recorded under its hash before anything changes; undone, it is forgotten. */
export async function recordedFreeze(session: Session, runId: string, opts: FreezeOptions): Promise<WriteFreeze> {
  const { state, hash, reader } = session;
  const held = {
    runId,
    engine: session.source.kind,
    since: new Date().toISOString(),
    host: hostname(),
    pid: process.pid,
  };
  let recorded = false;
  const forget = () => state.forgetFreeze(hash);
  try {
    const freeze = await reader.freezeWrites!(opts, (undo) => {
      state.setFreeze(hash, { ...held, undo });
      recorded = true;
    });
    return { ...freeze, undo: () => freeze.undo().then(forget) };
  } catch (e) {
    // a failed freeze undoes what it did itself; the record goes once that is sure
    if (recorded) await thawRecord(state, hash, reader).catch(() => {});
    throw e;
  }
}

/**
 * Why a recorded freeze stands: kept (the run that made it cut over: on purpose), held (its
 * process runs, or runs on another host: it undoes it itself), stale (its process is gone).
 */
export type FreezeStanding = 'kept' | 'held' | 'stale';

/** A plan's recorded freeze, and why it stands. */
export function freezeOf(state: StateStore, hash: string): (FreezeRecord & { standing: FreezeStanding }) | undefined {
  const f = state.freeze(hash);
  if (!f) return undefined;
  // a cutover killed between its switch and its run's end is cut over all the same
  const cut = state.cutover(hash);
  const kept = state.run(f.runId)?.status === CUT_OVER || (cut?.phase === CUT_OVER && cut.runId === f.runId);
  const gone = processGone({ host: f.host, pid: f.pid, since: f.since });
  return { ...f, standing: kept ? 'kept' : gone ? 'stale' : 'held' };
}

/** Undoes the freeze recorded under `hash` with `side` (the side it froze), then forgets it. */
export async function thawRecord(state: StateStore, hash: string, side: Source): Promise<FreezeRecord | undefined> {
  const f = state.freeze(hash);
  if (!f) return undefined;
  if (!side.thawWrites)
    throw new FerryError('UNSUPPORTED', `a freeze of a ${f.engine} database cannot be undone by ferry`, '');
  await side.thawWrites(f.undo);
  state.forgetFreeze(hash);
  return f;
}

/** One line on a stale freeze: what is frozen since when, and what undoes it. */
export function staleFreezeLine(f: FreezeRecord, what: string, planFile: string): string {
  return `${what} has been frozen since ${f.since} by a cutover that is gone (run ${f.runId}, process ${f.pid}): \`ferry cutover ${planFile} --unfreeze\` makes it writable again`;
}
