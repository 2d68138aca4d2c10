// Live changes as the SQL targets apply them (Target.applyChanges): one call's changes become
// steps in the source's commit order, consecutive changes of one table with distinct keys
// gathered into one multi-row step, and the stream's position goes into a small table of
// ferry's own in the same transaction.
import { UNCHANGED } from './changes.js';
import type { AppliedChange, TargetTable } from './contracts.js';
import { FerryError } from './errors.js';
import { canonicalText } from './values.js';

/** The table a SQL target keeps each stream's applied position in: (stream, position, applied_at). */
export const POSITIONS_TABLE = '_ferry_positions';

export type ApplyStep =
  /** insert each row whole, or replace the row of its key (keys distinct within the step) */
  | { op: 'upsert'; table: TargetTable; rows: unknown[][] }
  /** delete the rows of these keys, where there are any (keys distinct within the step) */
  | { op: 'delete'; table: TargetTable; keys: unknown[][] }
  /** one row's update that is not an upsert: it carries UNCHANGED columns, or its key changed */
  | { op: 'update'; table: TargetTable; update: RowUpdate };

/**
 * An update of the row whose key was `key`. The target holds a row of `key`, of `newKey`,
 * both or neither, as the copy and the changes applied so far left it:
 * - neither moved: the columns in `carried` are set on the row of `key`; when there is none,
 *   nothing (a row the target lacks was gone from the copy of it, so later changes bring it);
 * - moved, and a row of `newKey` is there (copied after the change): the row of `key` is
 *   deleted and the row of `newKey` gets the carried columns (its others are as new as they);
 * - moved, and only the row of `key` is there: it is updated in place, key and carried columns
 *   (so that the target's foreign keys follow it as the source's did);
 * - moved, and neither: the row is inserted when it is whole (`carried` is every column),
 *   else nothing, as above.
 */
export interface RowUpdate {
  key: unknown[];
  /** the row's key now: its key columns in `row`, or those of `key` where `row` has UNCHANGED */
  newKey: unknown[];
  moved: boolean;
  row: unknown[];
  /** indexes of the columns whose value `row` carries (not UNCHANGED), in column order */
  carried: number[];
  whole: boolean;
}

/** The positions of a table's primary key columns among its columns; refuses a table without one. */
export function keyColumnIndexes(table: TargetTable): number[] {
  if (table.primaryKey.length === 0)
    throw new FerryError(
      'UNSUPPORTED',
      `table ${table.name} has no primary key, so its changes cannot be applied by key`,
      'give the target table a primary key in the plan (primaryKey), or leave the table out of the plan you follow',
    );
  return table.primaryKey.map((name) => {
    const i = table.columns.findIndex((c) => c.name === name);
    if (i < 0)
      throw new FerryError(
        'PLAN_INVALID',
        `primary key column ${name} is not a column of table ${table.name}`,
        'list the primary key columns among the columns of the table in the plan',
      );
    return i;
  });
}

/** What a table's changes need, worked out once per call: its key columns, and a key's identity as text. */
export interface TableKeys {
  indexes: number[];
  id(values: unknown[]): string;
}

export function tableKeys(table: TargetTable): TableKeys {
  const indexes = keyColumnIndexes(table);
  const types = indexes.map((i) => table.columns[i]!.type);
  return { indexes, id: (values) => values.map((v, i) => canonicalText(v, types[i]!)).join('\u0001') };
}

/** The update of the row of `key` to `row`, its cases worked out (see RowUpdate). */
export function rowUpdate(keys: TableKeys, key: unknown[], row: unknown[]): RowUpdate {
  const carried: number[] = [];
  row.forEach((v, i) => {
    if (v !== UNCHANGED) carried.push(i);
  });
  const newKey = keys.indexes.map((c, k) => (row[c] === UNCHANGED ? key[k] : row[c]));
  return {
    key,
    newKey,
    moved: keys.id(newKey) !== keys.id(key),
    row,
    carried,
    whole: carried.length === row.length,
  };
}

/**
 * The steps of one call, in order. An update of a whole row under the same key is an upsert;
 * a step of many rows never holds a key twice, so the rows' order within it does not matter.
 */
export function applySteps(changes: AppliedChange[]): ApplyStep[] {
  const steps: ApplyStep[] = [];
  const keysOf = new Map<string, TableKeys>();
  // the keys of the last step, when it can take more rows
  let open: { step: Extract<ApplyStep, { op: 'upsert' | 'delete' }>; ids: Set<string> } | undefined;
  const add = (table: TargetTable, op: 'upsert' | 'delete', id: string, values: unknown[]) => {
    if (!open || open.step.op !== op || open.step.table.name !== table.name || open.ids.has(id)) {
      const step: Extract<ApplyStep, { op: 'upsert' | 'delete' }> =
        op === 'upsert' ? { op, table, rows: [] } : { op, table, keys: [] };
      steps.push(step);
      open = { step, ids: new Set() };
    }
    open.ids.add(id);
    if (open.step.op === 'upsert') open.step.rows.push(values);
    else open.step.keys.push(values);
  };
  for (const { table, change } of changes) {
    let keys = keysOf.get(table.name);
    if (!keys) keysOf.set(table.name, (keys = tableKeys(table)));
    const keyOf = (row: unknown[]) => keys.indexes.map((i) => row[i]);
    switch (change.op) {
      case 'upsert':
        add(table, 'upsert', keys.id(keyOf(change.row)), change.row);
        break;
      case 'delete':
        add(table, 'delete', keys.id(change.key), change.key);
        break;
      case 'update': {
        const update = rowUpdate(keys, change.key, change.row);
        if (update.whole && !update.moved) add(table, 'upsert', keys.id(update.newKey), change.row);
        else {
          steps.push({ op: 'update', table, update });
          open = undefined;
        }
        break;
      }
    }
  }
  return steps;
}
