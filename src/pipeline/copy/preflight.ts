// The checks a run makes before its first write, and a dry run before its sample: the target's
// compatibility findings and both accounts' privileges.
import type { Finding } from '../../core/types.js';
import type { Session } from '../session/session.js';

export async function preflight(session: Session): Promise<Finding[]> {
  const all = session.waves.flat();
  const ifExists = session.plan.target.ifExists;
  return [
    ...(await session.writer.check(all.map((m) => m.target))),
    ...((await session.source.privileges?.({ role: 'source', tables: all.map((m) => m.source.name) })) ?? []),
    ...((await session.target.privileges?.({ role: 'target', tables: all.map((m) => m.target), ifExists })) ?? []),
  ];
}
