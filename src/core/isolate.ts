// Splitting out the rows a target refuses (pgloader's way): write in groups; a group that
// fails is halved until single rows remain, and each refused row becomes a reject.
import type { Reject } from './contracts.js';

/**
 * `attempt` writes a group and must leave the target unchanged when it throws (a savepoint).
 * `reason` turns the error into a one-line reason.
 */
export async function writeIsolated(
  rows: unknown[][],
  groupSize: number,
  attempt: (group: unknown[][]) => Promise<void>,
  reason: (err: unknown) => string,
): Promise<Reject[]> {
  const rejects: Reject[] = [];
  const tryGroup = async (group: unknown[][]): Promise<void> => {
    try {
      await attempt(group);
    } catch (err) {
      if (group.length === 1) {
        rejects.push({ row: group[0]!, reason: reason(err) });
        return;
      }
      const mid = group.length >> 1;
      await tryGroup(group.slice(0, mid));
      await tryGroup(group.slice(mid));
    }
  };
  for (let i = 0; i < rows.length; i += groupSize) await tryGroup(rows.slice(i, i + groupSize));
  return rejects;
}
