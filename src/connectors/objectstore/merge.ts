// A table as it is now: the rows of its snapshot (the copy's files, or a compaction's) with its
// change files applied in order. The changes are worked out once into each changed row's final
// state (held in memory until a compaction folds them into the snapshot): that reads the
// snapshot once when an update that carries UNCHANGED columns needs a row of it as its base,
// keeping only those rows. A key range is then its snapshot rows that no change touched, and
// the changed rows that fall in it.
import { RowStates } from '../../core/apply-state.js';
import type { AppliedChange, TargetTable } from '../../core/contracts.js';

/** The final state of every row the changes touched, over the snapshot. */
export async function changedRows(
  table: TargetTable,
  changes: AppliedChange[],
  snapshot: () => AsyncIterable<unknown[][]>,
): Promise<RowStates> {
  const states = new RowStates();
  const needed = states.needed(changes);
  if (needed.length > 0) {
    const wanted = new Set(needed.map((n) => states.id(table, n.key)));
    for await (const rows of snapshot())
      for (const row of rows) {
        const key = states.keyOf(table, row);
        if (wanted.has(states.id(table, key))) states.know(table, key, row);
      }
    for (const n of needed) states.know(n.table, n.key, null);
  }
  states.apply(changes);
  return states;
}

/** The rows as they are now: `snapshot`'s rows (of a key range) that no change touched, then the changed rows `keep` takes. */
export async function* currentRows(
  table: TargetTable,
  states: RowStates,
  snapshot: AsyncIterable<unknown[][]>,
  keep: (row: unknown[]) => boolean,
  batchRows: number,
): AsyncIterable<unknown[][]> {
  let out: unknown[][] = [];
  for await (const rows of snapshot) {
    for (const row of rows) if (!states.changedAt(table, states.keyOf(table, row))) out.push(row);
    if (out.length >= batchRows) {
      yield out;
      out = [];
    }
  }
  for (const s of states.changed())
    if (s.row && keep(s.row)) {
      out.push(s.row);
      if (out.length >= batchRows) {
        yield out;
        out = [];
      }
    }
  if (out.length > 0) yield out;
}
