// SQL text: quoted names, schema-qualified tables, key-range conditions with literal bounds
// (COPY takes no parameters, so bounds are written as literals of the key columns' text).
import { FerryError } from '../../core/errors.js';
import type { NameRule } from '../../core/names.js';
import type { CanonicalType, Column, KeyRange } from '../../core/types.js';
import { sqlLiteral, textForm } from './text-write.js';
import { readExpression } from './wire.js';

/** PostgreSQL cuts longer identifiers short (to 63 bytes), and none holds NUL. */
export const IDENTIFIER: NameRule = { max: 63, unit: 'bytes', invalid: /\u0000/g };

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface TableRef {
  schema: string;
  table: string;
  /** "schema"."table" */
  sql: string;
}

/** A table name as ferry reports it: "table" in the default schema, "schema.table" elsewhere. */
export function tableRef(name: string, defaultSchema: string): TableRef {
  const dot = name.indexOf('.');
  const schema = dot > 0 ? name.slice(0, dot) : defaultSchema;
  const table = dot > 0 ? name.slice(dot + 1) : name;
  return { schema, table, sql: `${quoteIdent(schema)}.${quoteIdent(table)}` };
}

export function reportedName(schema: string, table: string, defaultSchema: string): string {
  return schema === defaultSchema ? table : `${schema}.${table}`;
}

/** The select list that reads columns in the wire family of their canonical types. */
export function selectList(columns: Pick<Column, 'name' | 'type' | 'nativeType'>[]): string {
  return columns.map((c) => readExpression(quoteIdent(c.name), c.nativeType, c.type)).join(', ');
}

function tupleSide(names: string[], values: unknown[], types: CanonicalType[]): [string, string] {
  const lits = values.map((v, i) => {
    if (v === null || v === undefined)
      throw new FerryError('INTERNAL', `a key range bound of ${names[i]} is NULL`, 'report this');
    return sqlLiteral(textForm(types[i]!)(v));
  });
  return names.length === 1
    ? [quoteIdent(names[0]!), lits[0]!]
    : [`(${names.map(quoteIdent).join(', ')})`, `(${lits.join(', ')})`];
}

/** Conditions for [lower, upper) over the key columns (tuple comparison for composite keys). */
export function rangeConditions(key: string[], keyTypes: CanonicalType[], range: KeyRange): string[] {
  const out: string[] = [];
  if (range.lower) {
    const [l, r] = tupleSide(key, range.lower, keyTypes);
    out.push(`${l} >= ${r}`);
  }
  if (range.upper) {
    const [l, r] = tupleSide(key, range.upper, keyTypes);
    out.push(`${l} < ${r}`);
  }
  return out;
}

export function whereClause(conditions: (string | undefined)[]): string {
  const present = conditions.filter((c): c is string => !!c && c.trim().length > 0);
  return present.length === 0 ? '' : ` WHERE ${present.map((c) => `(${c})`).join(' AND ')}`;
}

/** The key columns, looked up among the table's columns. */
export function keyColumns<C extends Pick<Column, 'name' | 'type'>>(table: string, key: string[], columns: C[]): C[] {
  return key.map((k) => {
    const c = columns.find((x) => x.name === k);
    if (!c)
      throw new FerryError(
        'PLAN_INVALID',
        `the chunk key column ${k} is not among the columns of ${table}`,
        'check chunking.key in the plan',
      );
    return c;
  });
}

/** Conditions selecting a key range of a table (none without a key). */
export function keyRangeConditions(
  table: { name: string; key: string[]; columns: Pick<Column, 'name' | 'type'>[] },
  range: KeyRange,
): string[] {
  if (table.key.length === 0) return [];
  return rangeConditions(
    table.key,
    keyColumns(table.name, table.key, table.columns).map((c) => c.type),
    range,
  );
}
