// The plan seen backwards, for the way back after a cutover: the old target's tables are read
// and the old source's are written, each table and column under its source name again, each
// column in the source's own native type. What cannot be turned back is refused in one line,
// before a cutover freezes anything: a transformed column (hash, mask, value: the source's
// values are not in the target), a target type holding values the source's type cannot, a
// column left out of the copy that the source cannot fill by itself.
import { FerryError } from '../../core/errors.js';
import type { ColumnPlan, Plan, TablePlan } from '../../core/plan.js';
import { formatType, type CanonicalType, type TableInfo } from '../../core/types.js';
import { alwaysFits } from '../../core/values.js';
import type { TableMapping } from '../plan/mapping.js';

/** The hash the reverse stream of a plan is known by in the state store (and its slot and publication by). */
export function reverseHash(hash: string): string {
  return `${hash}_back`;
}

/** The plan's cdc section for the way back: the slot and the publication named after the forward stream's. */
export function reverseCdc(cdc: Plan['cdc']): Plan['cdc'] {
  return cdc && { ...cdc, slot: reverseHash(cdc.slot), publication: reverseHash(cdc.publication) };
}

/** Whether every value of the target's column goes back into the source's as it is. */
function goesBack(from: CanonicalType, to: CanonicalType): boolean {
  if (formatType(from) === formatType(to)) return true;
  // alwaysFits refuses booleans for the loose engines' sake: a boolean column of either side holds only true and false
  return from.kind === 'bool' ? to.kind === 'bool' : alwaysFits(from, to);
}

function refuse(table: string, why: string): never {
  throw new FerryError(
    'UNSUPPORTED',
    `the way back cannot follow ${table}: ${why}`,
    'cut over without --reverse (the old database then stays as it was at the freeze), or change the plan so that the table goes back as it came (and copy it again)',
  );
}

/** One table of the plan backwards, against the old target's live definition of it. */
function reverseTable(m: TableMapping, live: TableInfo | undefined): TablePlan {
  const tp = m.plan;
  const columns: ColumnPlan[] = [];
  for (const c of tp.columns) {
    const source = m.source.columns.find((s) => s.name === c.source)!;
    if (c.exclude) {
      if (!source.nullable && source.default === undefined && !source.autoIncrement)
        refuse(
          tp.target,
          `column ${tp.source}.${c.source} is left out of the copy, and a row inserted on the target cannot give the source its value (NOT NULL, no default)`,
        );
      continue;
    }
    if (c.transform)
      refuse(
        tp.target,
        `column ${c.target} is ${'hash' in c.transform ? 'hashed' : 'mask' in c.transform ? 'masked' : 'given a fixed value'} on the way: its values cannot be turned back into the source's`,
      );
    if (!live) refuse(tp.target, 'the target has no such table');
    const now = live.columns.find((x) => x.name === c.target);
    if (!now) refuse(tp.target, `the target has no column ${c.target}`);
    if (!goesBack(now.type, source.type))
      refuse(
        tp.target,
        `column ${c.target} is ${formatType(now.type)} in the target and ${formatType(source.type)} in the source, which cannot hold every value of it`,
      );
    columns.push({
      source: c.target,
      target: c.source,
      sourceType: formatType(now.type),
      type: source.nativeType,
      nullable: source.nullable,
      autoIncrement: source.autoIncrement,
    });
  }
  const sourceName = (target: string) => tp.columns.find((c) => c.target === target)!.source;
  return {
    source: tp.target,
    target: tp.source,
    chunking: { key: [], rowsPerChunk: tp.chunking.rowsPerChunk },
    columns,
    primaryKey: tp.primaryKey.map(sourceName),
    uniqueKeys: [],
    indexes: [],
    foreignKeys: [],
  };
}

/**
 * The plan backwards: source and target swapped, every table mapped back (`live`: the old
 * target's tables, by name). The reverse stream keeps its slot and publication under names of
 * its own, beside the forward stream's.
 */
export function reversePlan(plan: Plan, waves: TableMapping[][], live: Map<string, TableInfo>): Plan {
  return {
    ...plan,
    source: { url: plan.target.url, zeroDates: 'reject' },
    target: { url: plan.source.url, ifExists: 'fail' },
    cdc: reverseCdc(plan.cdc),
    waves: waves.map((w) => ({ tables: w.map((m) => reverseTable(m, live.get(m.target.name))) })),
  };
}
