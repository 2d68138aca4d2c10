// SQL text: quoting, the row filter of a key range, and the CREATE TABLE of a target table.
import type { TargetTable } from '../../core/contracts.js';
import type { CanonicalType, Column, ForeignKey, KeyRange } from '../../core/types.js';
import { encoder } from './codec.js';

export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export const identList = (names: string[]): string => names.map(ident).join(', ');

// a declared type SQLite parses as written; anything else (value lists, "<", quotes) is quoted
const PLAIN_TYPE = /^[A-Za-z_]\w*( [A-Za-z_]\w*)*(\(\d+(,\d+)?\))?( [A-Za-z_]\w*)*$/;

export function typeSql(native: string): string {
  if (native.trim() === '') return '';
  return PLAIN_TYPE.test(native) ? native : ident(native);
}

export interface TableSpec {
  name: string;
  columns: { name: string; type: CanonicalType }[];
  /** the columns a KeyRange is over */
  key: string[];
  /** row filter in SQLite's dialect */
  where?: string;
}

/**
 * WHERE clause for the row filter and a half-open key range (row values for composite keys).
 * Bounds are canonical values, bound the way the write path stores them so they compare alike.
 */
export function rangeFilter(spec: TableSpec, range: KeyRange): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (spec.where) parts.push(`(${spec.where})`);
  if (spec.key.length > 0) {
    const encoders = spec.key.map((k) => {
      const column = spec.columns.find((c) => c.name === k);
      return column && encoder(column.type);
    });
    const single = spec.key.length === 1;
    const lhs = single ? ident(spec.key[0]!) : `(${identList(spec.key)})`;
    const rhs = single ? '?' : `(${spec.key.map(() => '?').join(', ')})`;
    const bound = (values: unknown[] | undefined, op: string) => {
      if (!values) return;
      parts.push(`${lhs} ${op} ${rhs}`);
      values.forEach((v, i) => params.push(v === null || v === undefined ? null : encoders[i] ? encoders[i](v) : v));
    };
    bound(range.lower, '>=');
    bound(range.upper, '<');
  }
  return { sql: parts.length > 0 ? ` WHERE ${parts.join(' AND ')}` : '', params };
}

const FK_ACTION = /^(CASCADE|SET NULL|SET DEFAULT|RESTRICT|NO ACTION)$/i;
// defaults SQLite can take as they are; other engines' expressions (nextval(), now()::text) are not carried
const LITERAL_DEFAULT =
  /^(NULL|TRUE|FALSE|CURRENT_TIMESTAMP|CURRENT_DATE|CURRENT_TIME|[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|'(?:[^']|'')*')$/i;

// the other engines' spellings of "now" and "today"
const NOW_DEFAULT = /^(current_timestamp|now|localtimestamp)(\(\d*\))?$/i;
const TODAY_DEFAULT = /^(current_date|curdate)(\(\))?$/i;

/** A column default as SQLite can take it: a literal (a PostgreSQL ::cast stripped), now or today, or undefined. */
export function defaultSql(expression: string): string | undefined {
  let d = expression.trim();
  while (/^\(.*\)$/s.test(d) && LITERAL_DEFAULT.test(d.slice(1, -1).trim())) d = d.slice(1, -1).trim();
  d = d.replace(/^('(?:[^']|'')*')::[\w ."]+(\[\])?$/, '$1');
  if (NOW_DEFAULT.test(d)) return 'CURRENT_TIMESTAMP';
  if (TODAY_DEFAULT.test(d)) return 'CURRENT_DATE';
  return LITERAL_DEFAULT.test(d) ? d : undefined;
}

/** The column a sole integer auto-increment key becomes: SQLite assigns only INTEGER PRIMARY KEY. */
export function rowidKeyColumn(table: TargetTable): Column | undefined {
  if (table.primaryKey.length !== 1) return undefined;
  const column = table.columns.find((c) => c.name === table.primaryKey[0]);
  return column?.autoIncrement && column.type.kind === 'int' ? column : undefined;
}

function foreignKeySql(fk: ForeignKey): string {
  let sql = `CONSTRAINT ${ident(fk.name)} FOREIGN KEY (${identList(fk.columns)}) REFERENCES ${ident(fk.refTable)} (${identList(fk.refColumns)})`;
  if (fk.onDelete && FK_ACTION.test(fk.onDelete)) sql += ` ON DELETE ${fk.onDelete.toUpperCase()}`;
  if (fk.onUpdate && FK_ACTION.test(fk.onUpdate)) sql += ` ON UPDATE ${fk.onUpdate.toUpperCase()}`;
  return sql;
}

/** A column's definition in CREATE TABLE or ADD COLUMN: `skippedDefault` hears of a default left out. */
export function columnSql(c: Column, skippedDefault: (column: Column) => void): string {
  let line = `${ident(c.name)} ${typeSql(c.nativeType)}`.trimEnd();
  if (!c.nullable) line += ' NOT NULL';
  if (c.default !== undefined) {
    const d = defaultSql(c.default);
    if (d === undefined) skippedDefault(c);
    else line += ` DEFAULT ${d}`;
  }
  return line;
}

/**
 * CREATE TABLE with columns, primary key and foreign keys. The foreign keys are declared here
 * because SQLite cannot add them later without rebuilding the table; ferry's connection does
 * not enforce them, so the data may arrive in any order (addForeignKeys checks it afterwards).
 */
export function createTableSql(table: TargetTable, name: string, skippedDefault: (column: Column) => void): string {
  const rowidKey = rowidKeyColumn(table);
  const lines = table.columns.map((c) =>
    c === rowidKey ? `${ident(c.name)} INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT` : columnSql(c, skippedDefault),
  );
  if (table.primaryKey.length > 0 && !rowidKey) lines.push(`PRIMARY KEY (${identList(table.primaryKey)})`);
  for (const fk of table.foreignKeys) lines.push(foreignKeySql(fk));
  return `CREATE TABLE ${ident(name)} (\n  ${lines.join(',\n  ')}\n)`;
}
