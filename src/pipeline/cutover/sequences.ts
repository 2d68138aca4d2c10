// The target's counters after the freeze: each auto-increment column gives at least what the
// source's would give next and more than the largest key the target holds, so the application's
// first insert without a key succeeds on the target.
import type { Session } from '../session/session.js';

/** Sets the counters of every table that has one, all tables at once; the tables whose counters could not be set (the target cannot). */
export async function setSequences(session: Session): Promise<{ set: string[]; notSet: string[] }> {
  const counted = session.waves.flat().filter((m) => m.target.columns.some((c) => c.autoIncrement));
  const setHere = session.writer.setSequences?.bind(session.writer);
  if (!setHere) return { set: [], notSet: counted.map((m) => m.target.name) };
  await Promise.all(
    counted.map(async (m) => {
      const bySource = (await session.reader.sequenceValues?.(m.source)) ?? {};
      // the mapping keeps the source's column order: the target column at the same place
      const next: Record<string, bigint> = {};
      m.source.columns.forEach((c, i) => {
        const value = bySource[c.name];
        const target = m.target.columns[i];
        if (value !== undefined && target) next[target.name] = value;
      });
      await setHere(m.target, next);
    }),
  );
  return { set: counted.map((m) => m.target.name), notSet: [] };
}
