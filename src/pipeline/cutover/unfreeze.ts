// `ferry cutover PLAN --unfreeze`: undoes a freeze a cutover left behind when its process was
// killed while frozen (freeze-record.ts): the source's, or the target's left by a
// `ferry rollback --after-cutover`. The settings go back exactly as the record says they were. A
// freeze kept on purpose (the plan cut over) or held by a live process is refused in one line.
import { FerryError } from '../../core/errors.js';
import type { Source } from '../../core/contracts.js';
import { reverseHash } from '../reverse/reverse-plan.js';
import { asCommand } from '../session/command.js';
import { openSession, type Session, type SessionOptions } from '../session/session.js';
import { sourceSide } from '../session/sides.js';
import { takeCutoverLock } from './cutover.js';
import { freezeOf, thawRecord } from './freeze-record.js';

export interface UnfreezeSummary {
  /** the freezes undone: which side, since when, by which run */
  undone: { side: 'source' | 'target'; since: string; runId: string }[];
}

/** The command that undoes a stale freeze, as the state store and the audit log name it. */
export const UNFREEZE = 'unfreeze';

export async function unfreezePlan(planFile: string, opts: SessionOptions = {}): Promise<UnfreezeSummary> {
  const session = await openSession(planFile, opts);
  try {
    const lease = takeCutoverLock(session, `cutover --${UNFREEZE}`);
    try {
      return await unfreeze(session);
    } finally {
      await lease.release();
    }
  } finally {
    await session.close();
  }
}

async function unfreeze(session: Session): Promise<UnfreezeSummary> {
  const { state, hash, planFile } = session;
  const sides: { side: 'source' | 'target'; hash: string; reader: () => Source }[] = [
    { side: 'source', hash, reader: () => session.reader },
    { side: 'target', hash: reverseHash(hash), reader: () => sourceSide(session.target) },
  ];
  const found = sides.flatMap((s) => {
    const f = freezeOf(state, s.hash);
    return f ? [{ ...s, f }] : [];
  });
  if (found.length === 0) return { undone: [] };
  const stale = found.filter((x) => x.f.standing === 'stale');
  // a freeze that stands for a reason is left alone; with no stale one, the reason is the answer
  if (stale.length === 0) {
    const { side, f } = found[0]!;
    if (f.standing === 'held')
      throw new FerryError(
        'STATE_CONFLICT',
        `the ${side} of plan ${planFile} is frozen by run ${f.runId}, whose process ${f.pid} on ${f.host} may still run: it undoes the freeze itself (at --max-freeze at the latest)`,
        'wait for it to end',
      );
    throw new FerryError(
      'STATE_CONFLICT',
      `the ${side} of plan ${planFile} is frozen on purpose since the cutover of run ${f.runId}: the application writes to the ${side === 'source' ? 'target' : 'source'} now, and writing to both would split the data`,
      'to switch back, `ferry rollback --after-cutover PLAN` (after a cutover with --reverse); to make it writable anyway, undo it by hand (README, "Cutover")',
    );
  }
  return asCommand(
    { state, plan: { hash, file: planFile }, command: UNFREEZE, log: session.log, details: { planFile } },
    async (run) => {
      const undone: UnfreezeSummary['undone'] = [];
      for (const { side, hash: h, reader } of stale) {
        const f = await thawRecord(state, h, reader());
        if (!f) continue;
        if (state.cutover(h)?.phase === 'frozen') state.setCutover(h, { runId: f.runId, phase: 'aborted' });
        run.audit.record(`the ${side} is writable again`, { since: f.since, runId: f.runId, undo: f.undo });
        undone.push({ side, since: f.since, runId: f.runId });
      }
      return { result: { undone }, status: 'done', details: { undone: undone.length } };
    },
  );
}
