// Range digests computed by PostgreSQL (core/range-digest.ts): the canonical text of each value
// rendered in SQL, the MD5 of the row text and the sum of its first 64 bits, for source and
// target alike. Only the column types whose text PostgreSQL prints exactly as canonicalText
// does are taken; floats (shortest round-trip text), time zones, JSON, arrays and the
// engine's own types are left to ferry.
import type { Digest } from '../../core/digest.js';
import { rangeDigestOf, VALUE_END, type DigestColumn } from '../../core/range-digest.js';
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

/** The canonical text of a column's values under `type`, NULL for NULL. */
function render(c: DigestColumn): string {
  const id = quoteIdent(c.name);
  switch (c.type.kind) {
    case 'decimal':
      // numeric's text keeps the scale's zeros ("1.50"): canonical decimals have none
      return `CASE WHEN strpos(${id}::text, '.') > 0 THEN rtrim(rtrim(${id}::text, '0'), '.') ELSE ${id}::text END`;
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

/** The SELECT of a range's digest: the row count, the sum, and how many rows hold a value not rendered. */
export function digestSelect(from: string, where: string, columns: DigestColumn[]): string {
  const text = [
    ...columns.map((c) => `coalesce(${render(c)}, '') || chr(${VALUE_END.charCodeAt(0)})`),
    ...columns.map((c) => `CASE WHEN ${quoteIdent(c.name)} IS NULL THEN 'n' ELSE 'v' END`),
  ].join(' || ');
  const odd = columns.map(unrendered).filter((x): x is string => x !== undefined);
  return (
    `SELECT count(*)::text, coalesce(sum(('x' || left(h, 16))::bit(64)::int8), 0)::text, ` +
    `${odd.length > 0 ? `count(*) FILTER (WHERE odd)` : '0'}::text ` +
    `FROM (SELECT md5(convert_to(${text}, 'UTF8')) AS h${odd.length > 0 ? `, ${odd.join(' OR ')} AS odd` : ''} ${from}${where}) q`
  );
}

/** The digest from digestSelect's row; undefined when a row holds a value not rendered. */
export function digestOfRow(row: (string | null)[]): Digest | undefined {
  if (Number(row[2]) > 0) return undefined;
  return rangeDigestOf(row[0]!, row[1]!);
}
