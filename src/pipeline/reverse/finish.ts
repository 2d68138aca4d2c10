// `ferry cutover PLAN --finish`: the move is over. What ferry keeps for the streams is released
// on both sides: the forward stream's slot and publication on the source, the way back's on the
// target, each stream's position row (and the positions table once it holds no other), and the
// state store's records of both streams. The end is an audit line of its own command.
import type { Connector, Target } from '../../core/contracts.js';
import type { ChangeLogSettings } from '../../core/contracts.js';
import { changeLogSettingsOf, streamName } from '../follow/follow.js';
import { asCommand } from '../session/command.js';
import { holdingPlan } from '../session/lock.js';
import { lockRequest, openSession, type Session, type SessionOptions } from '../session/session.js';
import { targetSide } from '../session/sides.js';
import { reverseCdc, reverseHash } from './reverse-plan.js';

/** The command that ends the move, as the state store and the audit log name it. */
export const FINISH = 'finish';

export interface FinishSummary {
  /** what was released, as the audit log and the report say it */
  released: string[];
}

/** Releases what either stream of the plan holds; what is already gone is skipped. */
export async function finishCutover(forward: Session): Promise<FinishSummary> {
  const { state, hash, planFile, plan, log } = forward;
  const back = reverseHash(hash);
  return asCommand(
    { state, plan: { hash, file: planFile }, command: FINISH, log, details: { planFile } },
    async (run) => {
      const released: string[] = [];
      // the stream's position in the side it is applied to, then the state store's record of it
      const forget = async (streamHash: string, writer: Target, what: string) => {
        const start = state.streamStart(streamHash);
        if (start === undefined) return;
        await writer.forgetStream?.(streamName(streamHash, start));
        state.forgetStream(streamHash);
        released.push(what);
      };
      // a MySQL/MariaDB side keeps nothing for a stream but its binlog: drop() does nothing there
      const drop = async (conn: Connector, settings: ChangeLogSettings, what: string) => {
        await conn.source?.().changeLog?.(settings).drop();
        if (conn.kind === 'postgres')
          released.push(`${what}: slot ${settings.slot}, publication ${settings.publication}`);
      };
      await drop(forward.target, changeLogSettingsOf(back, reverseCdc(plan.cdc)), 'the way back on the target');
      await forget(back, targetSide(forward.source), "the way back's position in the source");
      await drop(forward.source, changeLogSettingsOf(hash, plan.cdc), 'the forward stream on the source');
      await forget(hash, forward.writer, "the forward stream's position in the target");
      run.audit.record('finished the move', { released });
      return { result: { released }, status: 'done', details: { released: released.length } };
    },
  );
}

/** finishCutover of a plan file, with the plan's lock held (no run of it goes on meanwhile). */
export async function finishPlan(planFile: string, opts: SessionOptions = {}): Promise<FinishSummary> {
  const session = await openSession(planFile, opts);
  try {
    return await holdingPlan(lockRequest(session, 'cutover --finish'), () => finishCutover(session));
  } finally {
    await session.close();
  }
}
