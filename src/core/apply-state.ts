// Live changes worked out per row, for targets that write each row's final state whole rather
// than run statements in order (DynamoDB's items; object storage, where a table's snapshot and
// its change files are merged): the changes of a stretch of the stream, applied in order over
// what the rows were before it, leave each row they touch whole or gone. The cases of an update
// are those of core/apply.ts (RowUpdate).
import { rowUpdate, tableKeys, type TableKeys } from './apply.js';
import { UNCHANGED } from './changes.js';
import type { AppliedChange, TargetTable } from './contracts.js';

/** A row as the changes leave it. */
export interface RowState {
  table: TargetTable;
  /** the row's primary key values */
  key: unknown[];
  /** the row now; null when there is none */
  row: unknown[] | null;
  /** a change set it (else it is what the row was before the changes) */
  changed: boolean;
}

export class RowStates {
  private readonly keysOf = new Map<TargetTable, TableKeys>();
  private readonly states = new Map<string, RowState>();

  /** The table's key (refuses a table without a primary key, saying what to do). */
  keys(table: TargetTable): TableKeys {
    let k = this.keysOf.get(table);
    if (!k) this.keysOf.set(table, (k = tableKeys(table)));
    return k;
  }

  id(table: TargetTable, key: unknown[]): string {
    return `${table.name}\u0000${this.keys(table).id(key)}`;
  }

  keyOf(table: TargetTable, row: unknown[]): unknown[] {
    return this.keys(table).indexes.map((i) => row[i]);
  }

  /**
   * The rows whose values the changes need before they can be applied, each once: the rows of
   * the updates that carry UNCHANGED columns (the row of the new key, and of the old one when
   * the key changed). The others replace or remove rows whole.
   */
  needed(changes: AppliedChange[]): { table: TargetTable; key: unknown[] }[] {
    const out = new Map<string, { table: TargetTable; key: unknown[] }>();
    for (const { table, change } of changes) {
      if (change.op !== 'update' || !change.row.includes(UNCHANGED)) continue;
      const u = rowUpdate(this.keys(table), change.key, change.row);
      for (const key of u.moved ? [u.newKey, u.key] : [u.newKey]) out.set(this.id(table, key), { table, key });
    }
    return [...out.values()];
  }

  /** What a needed row was before the changes (null: there was none). */
  know(table: TargetTable, key: unknown[], row: unknown[] | null): void {
    const id = this.id(table, key);
    if (!this.states.has(id)) this.states.set(id, { table, key, row, changed: false });
  }

  private state(table: TargetTable, key: unknown[]): RowState {
    const id = this.id(table, key);
    let s = this.states.get(id);
    if (!s) this.states.set(id, (s = { table, key, row: null, changed: false }));
    return s;
  }

  private set(table: TargetTable, key: unknown[], row: unknown[] | null): void {
    Object.assign(this.state(table, key), { row, changed: true });
  }

  /** Applies the changes, in order, over what is known (every needed row must be). */
  apply(changes: AppliedChange[]): void {
    for (const { table, change } of changes)
      switch (change.op) {
        case 'upsert':
          this.set(table, this.keyOf(table, change.row), change.row);
          break;
        case 'delete':
          this.set(table, change.key, null);
          break;
        case 'update': {
          const u = rowUpdate(this.keys(table), change.key, change.row);
          if (u.whole) {
            if (u.moved) this.set(table, u.key, null);
            this.set(table, u.newKey, change.row);
            break;
          }
          const merged = (base: unknown[]) => base.map((v, i) => (change.row[i] === UNCHANGED ? v : change.row[i]));
          // the row of the new key when there is one, else the row of the old key moved; else nothing
          const now = this.state(table, u.newKey).row;
          const was = u.moved ? this.state(table, u.key).row : null;
          if (u.moved && (now || was)) this.set(table, u.key, null);
          if (now) this.set(table, u.newKey, merged(now));
          else if (was) this.set(table, u.newKey, merged(was));
          break;
        }
      }
  }

  /** The rows the changes set, whole or gone. */
  changed(): RowState[] {
    return [...this.states.values()].filter((s) => s.changed);
  }

  /** The state the changes left for the row of this key, when they set it. */
  changedAt(table: TargetTable, key: unknown[]): RowState | undefined {
    const s = this.states.get(this.id(table, key));
    return s?.changed ? s : undefined;
  }
}
