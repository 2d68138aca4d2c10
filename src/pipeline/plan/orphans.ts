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

function orphanKeys(mappings: TableMapping[]): OrphanKey[] {
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
  const valuesOf = (row: Map<number, unknown>, at: { at: number }[]) => at.map((a) => row.get(a.at));
  const parentKeys = (k: OrphanKey, onlyKept: boolean) => {
    const out = new Set<string>();
    rows.get(k.parent)!.forEach((row, i) => {
      if (!onlyKept || kept.get(k.parent)![i])
        out.add(
          keyText(
            valuesOf(row, k.refs),
            k.refs.map((r) => r.column),
          ),
        );
    });
    return out;
  };
  const orphan = (values: unknown[], k: OrphanKey, parents: Set<string>) =>
    !values.some((v) => v === null) &&
    !parents.has(
      keyText(
        values,
        k.own.map((o) => o.column),
      ),
    );
  // a parent row refused makes its children orphans in the target: until nothing more is refused
  for (let changed = true; changed;) {
    changed = false;
    for (const k of keys) {
      const parents = parentKeys(k, true);
      const keep = kept.get(k.child)!;
      rows.get(k.child)!.forEach((row, i) => {
        if (keep[i] && orphan(valuesOf(row, k.own), k, parents)) {
          keep[i] = false;
          changed = true;
        }
      });
    }
  }
  for (const k of keys) {
    const copied = parentKeys(k, true);
    const read = parentKeys(k, false);
    k.child.refuseRows((row) => {
      const values = k.own.map((o) => row[o.at]);
      if (!orphan(values, k, copied)) return undefined;
      const text = values.map((v, i) => canonicalText(v, k.own[i]!.column.type)).join(', ');
      const where = `${k.fk.refTable} (${k.fk.refColumns.join(', ')}) = (${text})`;
      return read.has(
        keyText(
          values,
          k.own.map((o) => o.column),
        ),
      )
        ? `foreign key ${k.fk.name}: the row of ${where} is rejected itself (the plan's onOrphans is reject-rows)`
        : `foreign key ${k.fk.name}: no row of ${k.fk.refTable} has (${k.fk.refColumns.join(', ')}) = (${text}) (the plan's onOrphans is reject-rows)`;
    });
  }
}
