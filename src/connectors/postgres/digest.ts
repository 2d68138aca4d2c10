// Range digests computed by PostgreSQL (core/range-digest.ts): the canonical text of each value
// rendered in SQL, the MD5 of the row text and the sum of its first 64 bits, for source and
// target alike. Only the column types whose text PostgreSQL prints exactly as canonicalText
// does are taken; floats (shortest round-trip text), time zones, JSON, arrays and the
// engine's own types are left to ferry.
import type { Digest } from '../../core/digest.js';
import { rangeDigestOf, VALUE_END, type DigestColumn, type DigestHash } from '../../core/range-digest.js';
import type pg from 'pg';
import type { CanonicalType, Column } from '../../core/types.js';
import { quoteIdent } from './sql.js';

/** Native types (as introspect names them) whose ::text is the canonical text of their kind. */
const NATIVE: Partial<Record<CanonicalType['kind'], RegExp>> = {
  int: /^(smallint|integer|bigint|int[248]?|serial|bigserial|smallserial)$/i,
  decimal: /^(numeric|decimal)\b/i,
  bool: /^bool(ean)?$/i,
  string: /^(text|character varying|varchar|character|char|bpchar)\b/i,
  date: /^date$/i,
  timestamp: /^timestamp(\s*\(\d+\))?( without time zone)?$/i,
  bytes: /^bytea$/i,
  uuid: /^uuid$/i,
};

export function digestsColumn(column: Column, as: CanonicalType): boolean {
  if (column.type.kind !== as.kind) return false;
  if (as.kind === 'timestamp' && as.tz) return false;
  return NATIVE[as.kind]?.test(column.nativeType.trim()) ?? false;
}

/** The canonical text of a column's values under `type`, NULL for NULL; `own`: the column as the table has it. */
function render(c: DigestColumn, own: Column | undefined): string {
  const id = quoteIdent(c.name);
  switch (c.type.kind) {
    case 'decimal': {
      // numeric's text keeps the scale's zeros ("1.50"): canonical decimals have none; a declared
      // scale gives every value that many digits (no test for the point)
      const scale = own?.type.kind === 'decimal' ? own.type.scale : undefined;
      if (scale === 0) return `${id}::text`;
      const trimmed = `rtrim(rtrim(${id}::text, '0'), '.')`;
      return scale === undefined
        ? `CASE WHEN strpos(${id}::text, '.') > 0 THEN ${trimmed} ELSE ${id}::text END`
        : trimmed;
    }
    case 'bool':
      return `CASE ${id} WHEN true THEN 't' WHEN false THEN 'f' END`;
    case 'string':
      return c.type.fixed ? `rtrim(${id}::text, ' ')` : `${id}::text`;
    case 'bytes':
      return `encode(${id}, 'hex')`;
    default:
      // int, date, timestamp (ISO DateStyle: fraction without trailing zeros), uuid (lower case)
      return `${id}::text`;
  }
}

/**
 * Values PostgreSQL prints otherwise than canonical text: dates before year 1 ("0044-03-15 BC"
 * against "-0043-03-15") and after 9999. A range holding any is digested by ferry instead.
 */
function unrendered(c: DigestColumn): string | undefined {
  if (c.type.kind !== 'date' && c.type.kind !== 'timestamp') return undefined;
  const id = quoteIdent(c.name);
  return `(isfinite(${id}) AND (${id} < '0001-01-01' OR ${id} >= '10000-01-01'))`;
}

/**
 * Each row's hash of `columns` under the hash `canonical` (the MD5 of its row text, in hex) and
 * the test for a value not rendered (undefined when no column can hold one), as SQL over the rows.
 */
function rowHash(table: Column[], columns: DigestColumn[]): { md5: string; odd?: string } {
  const own = new Map(table.map((c) => [c.name, c]));
  // a column that holds no NULL needs neither coalesce nor a test for its mask
  const nullable = (c: DigestColumn) => own.get(c.name)?.nullable ?? true;
  const text = [
    ...columns.map((c) => {
      const value = render(c, own.get(c.name));
      return `${nullable(c) ? `coalesce(${value}, '')` : value} || chr(${VALUE_END.charCodeAt(0)})`;
    }),
    ...columns.map((c) => (nullable(c) ? `CASE WHEN ${quoteIdent(c.name)} IS NULL THEN 'n' ELSE 'v' END` : `'v'`)),
  ].join(' || ');
  const odd = columns.map(unrendered).filter((x): x is string => x !== undefined);
  return { md5: `md5(convert_to(${text}, 'UTF8'))`, odd: odd.length > 0 ? odd.join(' OR ') : undefined };
}

/** The SELECT of a range's digest: the row count, the sum, and how many rows hold a value not rendered. */
export function digestSelect(
  from: string,
  where: string,
  table: Column[],
  columns: DigestColumn[],
  hash: DigestHash,
): string {
  if (hash === 'engine') return engineDigestSelect(from, where, columns);
  const { md5, odd } = rowHash(table, columns);
  // text into bit(64) takes the first 16 hex digits
  return (
    `SELECT count(*)::text, coalesce(sum(('x' || h)::bit(64)::int8), 0)::text, ` +
    `${odd ? `count(*) FILTER (WHERE odd)` : '0'}::text ` +
    `FROM (SELECT ${md5} AS h${odd ? `, ${odd} AS odd` : ''} ${from}${where}) q`
  );
}

/**
 * The select list of a range read once (core/range-digest.ts, hashedRows): `rest` (a select list
 * of the columns as read), then each row's hash of `columns` as 16 hex digits (two's complement
 * under the hash `engine`), NULL for a row holding a value not rendered.
 */
export function digestReadList(rest: string, table: Column[], columns: DigestColumn[], hash: DigestHash): string {
  if (hash === 'engine') return `${rest}, lpad(to_hex(${engineRowHash(columns)}), 16, '0')`;
  const { md5, odd } = rowHash(table, columns);
  return `${rest}, ${odd ? `CASE WHEN ${odd} THEN NULL ELSE left(${md5}, 16) END` : `left(${md5}, 16)`}`;
}

/**
 * Types whose own hash function gives two values the same hash only when their canonical texts
 * are the same (numeric 1.5 and 1.50, jsonb's equal numbers: canonical text makes them the same
 * too), hashed as they are by the engine hash; text by its bytes (COLLATE "C": a nondeterministic
 * collation's hash would match 'A' to 'a'). Any other type (floats, whose 0 and -0 hash alike;
 * enums, whose hash is of an OID each database gives otherwise; interval, whose '1 day' equals
 * '24 hours'; arrays, json, own types) is hashed by its text, which both sessions print alike
 * (config.ts: extra_float_digits 3 prints floats exactly).
 */
const HASHED = /^(smallint|integer|bigint|boolean|bytea|uuid|date|timestamp|jsonb|numeric)\b/i;
const TEXT = /^(text|character varying|character)\b/i;

const FORM = 'postgres:';

/**
 * The forms of a table's columns under the engine hash (hash_record_extended, PostgreSQL 14 and
 * later): each live column's type as the catalog names it without its modifier (a value of
 * timestamp(6) hashes and prints as one of timestamp), `enum` for any enum (hashed by its text);
 * undefined for a column not there.
 */
export async function engineForms(
  client: pg.ClientBase,
  ref: string,
  columns: string[],
): Promise<(string | undefined)[]> {
  const { rows } = await client.query<{ v: number; name: string; type: string }>(
    `SELECT current_setting('server_version_num')::int AS v, a.attname AS name, ` +
      `CASE t.typtype WHEN 'e' THEN 'enum' ELSE format_type(a.atttypid, NULL) END AS type ` +
      `FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid ` +
      `WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [ref],
  );
  if (rows.length === 0 || rows[0]!.v < 140000) return columns.map(() => undefined);
  const types = new Map(rows.map((r) => [r.name, r.type]));
  return columns.map((c) => (types.has(c) ? FORM + types.get(c)! : undefined));
}

function engineValue(c: DigestColumn): string {
  const id = quoteIdent(c.name);
  const type = (c.form ?? '').slice(FORM.length);
  if (type.endsWith(']')) return `${id}::text COLLATE "C"`;
  if (TEXT.test(type)) return `${id} COLLATE "C"`;
  return HASHED.test(type) ? id : `${id}::text COLLATE "C"`;
}

/** digestSelect under the engine hash (nothing is left unrendered). */
function engineDigestSelect(from: string, where: string, columns: DigestColumn[]): string {
  return `SELECT count(*)::text, coalesce(sum(${engineRowHash(columns)}), 0)::text, '0' ${from}${where}`;
}

const engineRowHash = (columns: DigestColumn[]) =>
  `hash_record_extended(ROW(${columns.map(engineValue).join(', ')}), 0)`;

/** The digest from digestSelect's row; undefined when a row holds a value not rendered. */
export function digestOfRow(row: (string | null)[]): Digest | undefined {
  if (Number(row[2]) > 0) return undefined;
  return rangeDigestOf(row[0]!, row[1]!);
}
