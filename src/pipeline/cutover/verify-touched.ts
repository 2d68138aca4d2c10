// The verify of a cutover's frozen window: the key spans live changes touched since the snapshot,
// with verify's own code, on the view of the frozen source the drain opened. The touched tables
// are verified at once, each with its share of the view's connections (a share of one at least,
// as many tables at a time as the view has connections): the shares never add up to more than
// the view holds, so no table waits on another's connection. A plan that leaves orphans out
// (reject-rows) reads its parents for each verify pass: it is verified in one pass.
import type { KeyRange } from '../../core/types.js';
import type { ReadView } from '../../core/contracts.js';
import type { Bounds } from '../copy/bounds.js';
import { spanRange, WHOLE_TABLE } from '../follow/touched.js';
import { orphanKeys } from '../plan/orphans.js';
import type { VerifyRecord } from '../session/checkpoints.js';
import type { CommandRun } from '../session/command.js';
import type { Session } from '../session/session.js';
import { verifyTables } from '../verify/verify.js';

/** The key ranges of a table live changes touched since the snapshot: undefined for every chunk, [] for none. */
function touched(session: Session, table: string): KeyRange[] | undefined {
  const spans = session.state.touchedChunks(session.hash, table);
  return spans.some((s) => s.idx === WHOLE_TABLE) ? undefined : spans.map(spanRange);
}

export async function verifyTouched(
  session: Session,
  run: CommandRun,
  bounds: Bounds,
  view: ReadView,
): Promise<VerifyRecord[]> {
  const all = session.waves.flat();
  const ranges = new Map(all.map((m) => [m.target.name, touched(session, m.target.name)]));
  const tables = all.filter((m) => ranges.get(m.target.name)?.length !== 0).map((m) => m.target.name);
  const connections = Math.max(1, Math.min(bounds.workers, view.parallelism));
  if (tables.length < 2 || connections < 2 || orphanKeys(all).length > 0)
    return verifyTables(session, run, {}, (m) => ranges.get(m.target.name), { bounds, view });
  const atOnce = Math.min(tables.length, connections);
  const share = { ...bounds, workers: Math.floor(connections / atOnce) };
  const records = new Map<string, VerifyRecord[]>();
  const queue = [...tables];
  const worker = async () => {
    for (let table = queue.shift(); table !== undefined; table = queue.shift()) {
      const only = table;
      records.set(
        only,
        await verifyTables(session, run, {}, (m) => (m.target.name === only ? ranges.get(only) : []), {
          bounds: share,
          view,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: atOnce }, worker));
  // in the plan's order, as one pass gives them
  return tables.flatMap((t) => records.get(t) ?? []);
}
