// onOrphans: reject-rows. A row whose foreign key finds no row of the parent (in a source that
// does not enforce the key) is rejected with the reason as it is read, so the key can be added
// after the data. The parent's referenced columns are read once, in the command's view, and held
// as a set: memory grows with the parent's rows (tens of bytes a row).
import type { ReadView, Source } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Column } from '../../core/types.js';
import { canonicalText } from '../../core/values.js';
import type { TableMapping } from './mapping.js';

const keyText = (values: unknown[], columns: Column[]) =>
  JSON.stringify(values.map((v, i) => canonicalText(v, columns[i]!.type)));

/** The source columns of a mapped table under their target names. */
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

/**
 * Makes every mapping with a reject-rows foreign key refuse the rows whose key is set (no column
 * NULL, as MATCH SIMPLE) and matches no row of the parent as the view holds it (its where filter
 * applied: a row the plan leaves out is no parent in the target).
 */
export async function refuseOrphans(
  mappings: TableMapping[],
  source: Source,
  view: ReadView,
  batchRows: number,
): Promise<void> {
  const byTarget = new Map(mappings.map((m) => [m.target.name, m]));
  for (const child of mappings)
    for (const fk of child.plan.foreignKeys) {
      if (fk.onOrphans !== 'reject-rows') continue;
      const what = `foreign key ${fk.name} of ${child.target.name}`;
      const parent = byTarget.get(fk.refTable);
      if (!parent)
        throw new FerryError('PLAN_INVALID', `${what} refers to ${fk.refTable}, which is not in the plan`, 'add it');
      const refs = sourceColumns(parent, fk.refColumns, what).map((r) => r.column);
      const keys = new Set<string>();
      const read = { name: parent.source.name, columns: refs, key: [], where: parent.source.where };
      for await (const batch of source.read(read, {}, view, batchRows))
        for (const row of batch.rows) keys.add(keyText(row, refs));
      const own = sourceColumns(child, fk.columns, what);
      const columns = own.map((o) => o.column);
      child.refuseRows((row) => {
        const values = own.map((o) => row[o.at]);
        if (values.some((v) => v === null) || keys.has(keyText(values, columns))) return undefined;
        return `foreign key ${fk.name}: no row of ${fk.refTable} has (${fk.refColumns.join(', ')}) = (${values.map((v, i) => canonicalText(v, columns[i]!.type)).join(', ')}) (the plan's onOrphans is reject-rows)`;
      });
    }
}
