// SQL text shared by the source and the target: key-range conditions and row filters.
import { FerryError } from '../../core/errors.js';
import type { NameRule } from '../../core/names.js';
import type { KeyRange } from '../../core/types.js';
import { boundLiterals, quoteIdent, type CodecColumn } from './codec.js';

/**
 * MySQL names: 64 characters, no NUL and no character past the Basic Multilingual Plane
 * (identifiers are utf8mb3), no trailing space; column and index names ignore case.
 */
export const IDENTIFIER: NameRule = {
  max: 64,
  unit: 'chars',
  invalid: /[\u0000\u{10000}-\u{10FFFF}]/gu,
  noTrailingSpace: true,
  foldCase: true,
};

/**
 * (c1,c2,…) op (v1,v2,…) expanded column by column, led by a plain condition on the first
 * column so the optimizer can use a range scan of the key's index.
 */
export function tupleCompare(cols: string[], vals: string[], op: '>' | '>=' | '<'): string {
  const strict = op === '<' ? '<' : '>';
  const last = cols.length - 1;
  let sql = `${cols[last]} ${op} ${vals[last]}`;
  for (let i = last - 1; i >= 0; i--) sql = `${cols[i]} ${strict} ${vals[i]} OR (${cols[i]} = ${vals[i]} AND ${sql})`;
  return cols.length === 1 ? sql : `${cols[0]} ${op === '<' ? '<=' : '>='} ${vals[0]} AND (${sql})`;
}

/** The key columns of a table, in key order, as the codec sees them. */
export function keyColumns<C extends CodecColumn>(table: string, columns: C[], key: string[]): C[] {
  return key.map((k) => {
    const c = columns.find((x) => x.name === k);
    if (!c)
      throw new FerryError(
        'PLAN_INVALID',
        `key column ${k} is not a column of table ${table}`,
        'list the key column among the columns of the table in the plan',
      );
    return c;
  });
}

/** Conditions selecting a half-open key range (none for an open range). */
export function rangeConditions(keys: CodecColumn[], range: KeyRange): string[] {
  const names = keys.map((k) => quoteIdent(k.name));
  const out: string[] = [];
  if (range.lower) out.push(tupleCompare(names, boundLiterals(keys, range.lower), '>='));
  if (range.upper) out.push(tupleCompare(names, boundLiterals(keys, range.upper), '<'));
  return out;
}

/** " WHERE a AND b", or "" without conditions. */
export function whereClause(conditions: (string | undefined)[]): string {
  const parts = conditions.filter((c): c is string => !!c);
  return parts.length ? ` WHERE ${parts.map((p) => `(${p})`).join(' AND ')}` : '';
}
