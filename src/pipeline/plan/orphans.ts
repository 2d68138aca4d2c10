// onOrphans: reject-rows. A row whose foreign key finds no row of the parent (in a source that
// does not enforce the key) is rejected with the reason as it is read, so the key can be added
// after the data. So is a row whose parent row is itself rejected so (a chain of such keys, a tree
// by a self-reference): the target would lack that parent too. The columns these keys use are
// read once, in the command's view, and held: memory grows with the rows of the tables involved.
import type { ReadView, Source } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { TablePlan } from '../../core/plan.js';
import type { Column } from '../../core/types.js';
import { canonicalText } from '../../core/values.js';
import type { TableMapping } from './mapping.js';

type PlanKey = TablePlan['foreignKeys'][number];

const keyText = (values: unknown[], columns: Column[]) =>
  JSON.stringify(values.map((v, i) => canonicalText(v, columns[i]!.type)));

/** The positions and source columns of a mapped table's columns, by their target names. */
function sourceColumns(m: TableMapping, targetNames: string[], what: string): { at: number; column: Column }[] {
  return targetNames.map((name) => {
    const at = m.target.columns.findIndex((c) => c.name === name);
    if (at < 0)
      throw new FerryError(
        'PLAN_INVALID',
        `${what}: "${name}" is not a column of ${m.target.name} in the plan`,
        'name a copied column of the table, or remove the foreign key from the plan',
      );
    return { at, column: m.source.columns[at]! };
  });
}

/** A reject-rows key between two mapped tables, with where its columns are in each table's rows. */
interface OrphanKey {
  fk: PlanKey;
  child: TableMapping;
  parent: TableMapping;
  /** positions of the key's columns in the child's rows, and their source columns */
  own: { at: number; column: Column }[];
  /** positions of the referenced columns in the parent's rows */
  refs: { at: number; column: Column }[];
}

export function orphanKeys(mappings: TableMapping[]): OrphanKey[] {
  const byTarget = new Map(mappings.map((m) => [m.target.name, m]));
  return mappings.flatMap((child) =>
    child.plan.foreignKeys
      .filter((fk) => fk.onOrphans === 'reject-rows')
      .map((fk): OrphanKey => {
        const what = `foreign key ${fk.name} of ${child.target.name}`;
        const parent = byTarget.get(fk.refTable);
        if (!parent)
          throw new FerryError(
            'PLAN_INVALID',
            `${what} refers to ${fk.refTable}, which is not in the plan`,
            'add the table to the plan, or remove the foreign key',
          );
        return {
          fk,
          child,
          parent,
          own: sourceColumns(child, fk.columns, what),
          refs: sourceColumns(parent, fk.refColumns, what),
        };
      }),
  );
}

/** Reads the given columns of a table's rows (its where filter applied: a row the plan leaves out is no parent in the target). */
async function readColumns(
  m: TableMapping,
  positions: number[],
  source: Source,
  view: ReadView,
  batchRows: number,
): Promise<Map<number, unknown>[]> {
  const columns = positions.map((at) => m.source.columns[at]!);
  const rows: Map<number, unknown>[] = [];
  for await (const batch of source.read(
    { name: m.source.name, columns, key: [], where: m.source.where },
    {},
    view,
    batchRows,
  ))
    for (const row of batch.rows) rows.push(new Map(positions.map((at, i) => [at, row[i]])));
  return rows;
}

/**
 * Makes every mapping with a reject-rows foreign key refuse the rows whose key is set (no column
 * NULL, as MATCH SIMPLE) and matches no row of the parent that is copied: rows of the parent as
 * the view holds them, less those its own reject-rows keys refuse, until no more are refused.
 */
export async function refuseOrphans(
  mappings: TableMapping[],
  source: Source,
  view: ReadView,
  batchRows: number,
): Promise<void> {
  const keys = orphanKeys(mappings);
  if (keys.length === 0) return;
  // the columns each table involved is read for: its keys' own columns and the columns referred to
  const used = new Map<TableMapping, Set<number>>();
  const use = (m: TableMapping, at: { at: number }[]) => {
    const set = used.get(m) ?? new Set<number>();
    for (const a of at) set.add(a.at);
    used.set(m, set);
  };
  for (const k of keys) {
    use(k.child, k.own);
    use(k.parent, k.refs);
  }
  const rows = new Map<TableMapping, Map<number, unknown>[]>();
  for (const [m, positions] of used) rows.set(m, await readColumns(m, [...positions], source, view, batchRows));
  const kept = new Map([...rows].map(([m, r]) => [m, r.map(() => true)]));
  const textOf = (row: Map<number, unknown>, at: { at: number; column: Column }[]) => {
    const values = at.map((a) => row.get(a.at));
    return values.some((v) => v === null)
      ? undefined
      : keyText(
          values,
          at.map((a) => a.column),
        );
  };
  // per key: how many parent rows each key value has (kept ones), and the child rows that refer to it
  const parents = keys.map((k) => {
    const count = new Map<string, number>();
    for (const row of rows.get(k.parent)!) {
      const text = textOf(row, k.refs);
      if (text !== undefined) count.set(text, (count.get(text) ?? 0) + 1);
    }
    return count;
  });
  const read = parents.map((count) => new Set(count.keys()));
  const children = keys.map((k) => {
    const of = new Map<string, number[]>();
    rows.get(k.child)!.forEach((row, i) => {
      const text = textOf(row, k.own);
      if (text === undefined) return;
      const at = of.get(text);
      if (at) at.push(i);
      else of.set(text, [i]);
    });
    return of;
  });
  // refusing a row takes it out as a parent: the rows that referred only to it are refused in turn
  const refused: [TableMapping, number][] = [];
  const refuse = (m: TableMapping, i: number) => {
    if (!kept.get(m)![i]) return;
    kept.get(m)![i] = false;
    refused.push([m, i]);
  };
  keys.forEach((k, n) => {
    for (const [text, at] of children[n]!) if (!parents[n]!.get(text)) for (const i of at) refuse(k.child, i);
  });
  while (refused.length > 0) {
    const [m, i] = refused.pop()!;
    keys.forEach((k, n) => {
      if (k.parent !== m) return;
      const text = textOf(rows.get(m)![i]!, k.refs);
      if (text === undefined) return;
      const left = parents[n]!.get(text)! - 1;
      parents[n]!.set(text, left);
      if (left === 0) for (const j of children[n]!.get(text) ?? []) refuse(k.child, j);
    });
  }
  keys.forEach((k, n) => {
    k.child.refuseRows((row) => {
      const values = k.own.map((o) => row[o.at]);
      if (values.some((v) => v === null)) return undefined;
      const key = keyText(
        values,
        k.own.map((o) => o.column),
      );
      if (parents[n]!.get(key)) return undefined;
      const text = values.map((v, i) => canonicalText(v, k.own[i]!.column.type)).join(', ');
      return read[n]!.has(key)
        ? `foreign key ${k.fk.name}: the row of ${k.fk.refTable} (${k.fk.refColumns.join(', ')}) = (${text}) is rejected itself (the plan's onOrphans is reject-rows)`
        : `foreign key ${k.fk.name}: no row of ${k.fk.refTable} has (${k.fk.refColumns.join(', ')}) = (${text}) (the plan's onOrphans is reject-rows)`;
    });
  });
}
