// The plan's row filters, checked before anything is written: each must be one boolean
// expression the source's engine takes (Source.checkWhere), or the command stops with one line.
import type { Source } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Plan } from '../../core/plan.js';
import type { TableMapping } from '../plan/mapping.js';

export async function checkFilters(
  plan: Plan,
  planFile: string,
  waves: TableMapping[][],
  reader: Source,
): Promise<void> {
  for (const [wi, wave] of waves.entries())
    for (const [ti, m] of wave.entries()) {
      const where = m.source.where;
      if (where === undefined) continue;
      const at = `${planFile}: waves[${wi}].tables[${ti}].where`;
      if (!reader.checkWhere)
        throw new FerryError(
          'PLAN_INVALID',
          `${at}: a ${plan.source.url.split(':')[0]} source takes no where filter`,
          'remove the where filter from the plan',
        );
      const problem = await reader.checkWhere(m.source);
      if (problem)
        throw new FerryError(
          'PLAN_INVALID',
          `${at}: the filter ${JSON.stringify(where)} of table ${m.source.name} cannot be used: ${problem}`,
          `write one boolean expression over the table's columns in the source's SQL, such as "country <> 'Test'"`,
        );
    }
}
