// Range digests computed by MySQL/MariaDB (core/range-digest.ts): the canonical text of each
// value rendered in SQL as UTF-8 (utf8mb4), the MD5 of the row text and the sum of its first 64
// bits, for source and target alike. Only columns read as they are (readsAsIs) of the types
// whose text the server prints as canonicalText does are taken; floats, TIMESTAMP (a time
// zone), JSON, sets, bits and geometry are left to ferry.
import type { Connection } from 'mysql2';
import type { Digest } from '../../core/digest.js';
import { rangeDigestOf, VALUE_END, type DigestColumn } from '../../core/range-digest.js';
import type { CanonicalType, Column } from '../../core/types.js';
import { quoteIdent, readsAsIs, selectExpr, type CodecColumn } from './codec.js';
import { run } from './session.js';
import { whereClause } from './sql.js';

/** Native types whose canonical text this file renders, by the kind of the column's type. */
const NATIVE: Partial<Record<CanonicalType['kind'], RegExp>> = {
  int: /^(tinyint|smallint|mediumint|int|integer|bigint)\b/i,
  decimal: /^(decimal|numeric)\b/i,
  bool: /^(tinyint\s*\(\s*1\s*\)|bool\b|boolean\b)/i,
  string: /^(char|varchar|tinytext|text|mediumtext|longtext)\b/i,
  date: /^date$/i,
  timestamp: /^datetime\b/i,
  bytes: /^(binary|varbinary|tinyblob|blob|mediumblob|longblob)\b/i,
  uuid: /^uuid$/i,
};

export function digestsColumn(column: Column, as: CanonicalType): boolean {
  if (column.type.kind !== as.kind) return false;
  // a boolean is read as the integer it is stored as (0 and 1; any other is odd: unrendered)
  if (as.kind !== 'bool' && !readsAsIs(column)) return false;
  if (as.kind === 'timestamp' && as.tz) return false;
  return NATIVE[as.kind]?.test(column.nativeType.trim()) ?? false;
}

/**
 * Without the zeros a DECIMAL's or DATETIME's fraction ends with (and its point, when nothing is
 * left of it). `digits`: the column's scale or fractional seconds, when its type declares them
 * (then every value has that many digits, or none: no test for the point, one CAST).
 */
function trimFraction(s: string, digits: number | undefined): string {
  if (digits === 0) return s;
  const trimmed = (x: string) => `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${x}))`;
  return digits === undefined ? `CASE WHEN LOCATE('.', ${s}) > 0 THEN ${trimmed(s)} ELSE ${s} END` : trimmed(s);
}

/** The canonical text of a column's values under `type`, NULL for NULL; `own`: the column as the table has it. */
function render(c: DigestColumn, own: Column | undefined): string {
  const id = quoteIdent(c.name);
  switch (c.type.kind) {
    case 'decimal':
      return trimFraction(`CAST(${id} AS CHAR)`, own?.type.kind === 'decimal' ? own.type.scale : undefined);
    case 'timestamp':
      return trimFraction(`CAST(${id} AS CHAR)`, own?.type.kind === 'timestamp' ? own.type.precision : undefined);
    case 'bool':
      return `CASE ${id} WHEN 1 THEN 't' WHEN 0 THEN 'f' END`;
    case 'string':
      return c.type.fixed ? `TRIM(TRAILING ' ' FROM CONVERT(${id} USING utf8mb4))` : `CONVERT(${id} USING utf8mb4)`;
    case 'bytes':
      return `LOWER(HEX(${id}))`;
    case 'uuid':
      return `LOWER(CAST(${id} AS CHAR))`;
    default:
      // int, date
      return `CAST(${id} AS CHAR)`;
  }
}

/**
 * The odd values the mapping acts on (pipeline/plan/mapping.ts, valueSteps): zero dates and
 * dates with zero parts (the plan's zeroDates), booleans other than 0 and 1 (refused).
 */
function unrendered(c: DigestColumn): string | undefined {
  const id = quoteIdent(c.name);
  if (c.type.kind === 'bool') return `${id} NOT IN (0, 1)`;
  if (c.type.kind === 'date' || c.type.kind === 'timestamp') return `(MONTH(${id}) = 0 OR DAYOFMONTH(${id}) = 0)`;
  return undefined;
}

/**
 * Each row's hash of `columns` (the MD5 of its row text, in hex) and the test for a value not
 * rendered (undefined when no column can hold one), as SQL over the table's rows.
 */
function rowHash(table: { columns: Column[] }, columns: DigestColumn[]): { md5: string; odd?: string } {
  const own = new Map(table.columns.map((c) => [c.name, c]));
  // a column that holds no NULL needs neither COALESCE nor a test for its mask
  const nullable = (c: DigestColumn) => own.get(c.name)?.nullable ?? true;
  // every piece in utf8mb4 (CAST … AS CHAR gives the session's: SET NAMES utf8mb4), so that MD5 hashes UTF-8
  const text = [
    ...columns.map((c) => {
      const value = render(c, own.get(c.name));
      return `${nullable(c) ? `COALESCE(${value}, '')` : value}, CHAR(${VALUE_END.charCodeAt(0)} USING utf8mb4)`;
    }),
    ...columns.map((c) => (nullable(c) ? `IF(${quoteIdent(c.name)} IS NULL, 'n', 'v')` : `'v'`)),
  ].join(', ');
  const odd = columns.map(unrendered).filter((x): x is string => x !== undefined);
  return { md5: `MD5(CONCAT(${text}))`, odd: odd.length > 0 ? odd.join(' OR ') : undefined };
}

/**
 * A range's digest: the row count, the sum, and how many rows hold a value not
 * rendered (then undefined: ferry digests the range).
 */
export async function rangeDigest(
  conn: Connection,
  table: { name: string; columns: Column[] },
  conditions: (string | undefined)[],
  columns: DigestColumn[],
): Promise<Digest | undefined> {
  const { md5, odd } = rowHash(table, columns);
  const sql =
    `SELECT COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(h, 16), 16, 10) AS UNSIGNED)), 0), ${odd ? 'COALESCE(SUM(odd), 0)' : '0'} ` +
    `FROM (SELECT ${md5} AS h${odd ? `, (${odd}) AS odd` : ''} ` +
    `FROM ${quoteIdent(table.name)}${whereClause(conditions)}) q`;
  const row = (await run<unknown[][]>(conn, sql, [], 'arrays'))[0]!;
  if (Number(row[2]) > 0) return undefined;
  return rangeDigestOf(row[0] as number, row[1] as string);
}

/**
 * The SELECT of a range read once (core/range-digest.ts, hashedRows): the columns of `rest` as
 * read, then each row's hash of `columns` (16 hex digits, NULL for a row holding a value not
 * rendered).
 */
export function digestReadSql(
  table: { name: string; columns: Column[] },
  conditions: (string | undefined)[],
  columns: DigestColumn[],
  rest: CodecColumn[],
): string {
  const { md5, odd } = rowHash(table, columns);
  const hash = odd ? `IF(${odd}, NULL, LEFT(${md5}, 16))` : `LEFT(${md5}, 16)`;
  return `SELECT ${[...rest.map(selectExpr), hash].join(', ')} FROM ${quoteIdent(table.name)}${whereClause(conditions)}`;
}
