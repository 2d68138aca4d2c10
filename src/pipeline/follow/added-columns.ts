// A column added to a followed source table (ALTER TABLE … ADD COLUMN, issue 14 item 6): planned
// as `ferry plan` plans a column (the target's type map, the plan's names policy), added to the
// target table and to the table's mapping without a restart, and kept in the state folder so
// that a resumed run maps it too. The plan file is left as the user wrote it: its hash names the
// run's state and stream, so the same command still resumes; the log says to make the plan again
// before a fresh copy.
import type { AddedColumn } from '../../core/changes.js';
import { FerryError } from '../../core/errors.js';
import { applyPolicy, NameScope } from '../../core/names.js';
import { transformKeys, type ColumnPlan, type TablePlan } from '../../core/plan.js';
import { formatType, type Column, type TableInfo } from '../../core/types.js';
import { plannedTypes } from '../plan/assess.js';
import { defaultPolicy } from '../plan/names.js';
import { DataProfile } from '../plan/profile.js';
import { mapTable, type TableMapping } from '../plan/mapping.js';
import type { Session } from '../session/session.js';

/** How to start a followed plan over, for what cannot be followed. */
const COPY_AGAIN =
  "make the plan again (ferry plan), then copy afresh (ferry rollback --force in the plan's folder, then ferry run PLAN --follow)";

/** The mapping of a followed table with `columns` after the plan's own. */
async function mappedWith(session: Session, m: TableMapping, columns: ColumnPlan[]): Promise<TableMapping> {
  const info = (await session.source.introspect({ tables: [m.source.name] })).tables[0];
  const tp: TablePlan = { ...m.plan, columns: [...m.plan.columns, ...columns] };
  return mapTable(
    session.plan,
    tp,
    info,
    session.source,
    session.target,
    `${session.planFile}: ${m.source.name}`,
    transformKeys(session.plan, session.planFile),
  );
}

/** The mappings of the followed tables with the columns earlier runs added to them. */
export async function withAddedColumns(session: Session, mappings: TableMapping[]): Promise<TableMapping[]> {
  const added = session.state.followedColumns(session.hash);
  return Promise.all(
    mappings.map((m) => {
      const columns = added.filter((a) => a.table === m.source.name).map((a) => a.column);
      return columns.length > 0 ? mappedWith(session, m, columns) : m;
    }),
  );
}

/**
 * A literal default (a number, a string without backslashes, true or false; a PostgreSQL ::cast
 * dropped) as a quoted string, which every SQL engine converts to the column's type as it gives
 * it to the rows it holds (PostgreSQL takes '1' for true, MySQL and SQLite hold booleans as 1).
 */
function literalDefault(expression: string): string | undefined {
  let d = expression.trim();
  while (/^\(.*\)$/s.test(d)) d = d.slice(1, -1).trim();
  d = d.replace(/^('(?:[^'\\]|'')*')::[\w ."]+$/, '$1');
  if (/^'(?:[^'\\]|'')*'$/.test(d)) return d;
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(d)) return `'${d}'`;
  if (/^(true|false)$/i.test(d)) return d.toLowerCase() === 'true' ? "'1'" : "'0'";
  return undefined;
}

/** The column as the plan would give it to the target, with the source's literal default. */
function plannedColumn(session: Session, m: TableMapping, column: Column, fill: string | undefined): ColumnPlan {
  const rules = session.target.capabilities.names?.column ?? {};
  const scope = new NameScope(rules);
  for (const c of m.plan.columns) scope.take(c.target);
  const info: TableInfo = {
    name: m.source.name,
    columns: [column],
    primaryKey: [],
    uniqueKeys: [],
    indexes: [],
    foreignKeys: [],
    rowEstimate: 0,
    bytesEstimate: 0,
  };
  const type = plannedTypes(info, session.source, session.target, new DataProfile(), new Map()).get(column.name)!;
  return {
    source: column.name,
    target: scope.claim(applyPolicy(column.name, session.plan.names ?? defaultPolicy(session.source, session.target))),
    sourceType: formatType(column.type),
    type,
    nullable: true,
    ...(fill !== undefined ? { default: fill } : {}),
  };
}

/**
 * Adds the columns to the target and to the mappings (`mappings`, by source table name);
 * returns a line for each, for the log.
 */
export async function addColumns(
  session: Session,
  mappings: Map<string, TableMapping>,
  added: AddedColumn[],
): Promise<string[]> {
  const lines: string[] = [];
  for (const { table, column } of added) {
    const m = mappings.get(table);
    if (!m) continue;
    const fill = column.default === undefined || column.autoIncrement ? undefined : literalDefault(column.default);
    if (column.default !== undefined && !column.autoIncrement && fill === undefined)
      throw new FerryError(
        'UNSUPPORTED',
        `column ${column.name} was added to ${table} on the source with a default (${column.default}) that is not a literal (a number, a string, true or false): the rows already copied hold its values on the source, and live changes do not carry them`,
        `add columns without a default, or with a literal one, while ferry follows (then UPDATE their values: the updates are followed), or ${COPY_AGAIN}`,
      );
    const writer = session.writer;
    if (!writer.addColumn)
      throw new FerryError(
        'UNSUPPORTED',
        `column ${column.name} was added to ${table} on the source: ${session.target.kind} targets cannot take a new column while following`,
        COPY_AGAIN,
      );
    const planned = plannedColumn(session, m, column, fill);
    const next = await mappedWith(session, m, [planned]);
    await writer.addColumn(next.target, next.target.columns.at(-1)!);
    session.state.addFollowedColumn(session.hash, table, planned);
    mappings.set(table, next);
    lines.push(
      `column ${column.name} (${column.nativeType}) was added to ${table} on the source: added to ${m.target.name} as ${planned.target} ${planned.type}; the plan file is unchanged: make the plan again (ferry plan) before a fresh run`,
    );
  }
  return lines;
}
