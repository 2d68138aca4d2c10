// An application's statements on SQLite, for `ferry perf`: run on the read-only connection
// with their answers as canonical values, and explained (EXPLAIN QUERY PLAN).
import type { QueryResult } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { CanonicalType } from '../../core/types.js';
import { toFerryError, type Db } from './db.js';
import { canonicalType } from './typemap.js';

/** A computed column has no declared type: its values say what they are. */
function typeOfValues(rows: unknown[][], i: number): CanonicalType {
  const v = rows.find((r) => r[i] !== null)?.[i];
  if (typeof v === 'bigint') return { kind: 'int', bits: 64, unsigned: false };
  if (typeof v === 'number') return { kind: 'float', bits: 64 };
  if (v instanceof Uint8Array) return { kind: 'bytes' };
  return { kind: 'string' };
}

export function runQuery(db: Db, sql: string): QueryResult {
  try {
    const stmt = db.prepare(sql);
    if (!stmt.reader || !stmt.readonly)
      throw new FerryError('UNSUPPORTED', 'the statement does not only read rows', 'give SELECT statements only');
    const start = performance.now();
    const rows = stmt.raw(true).safeIntegers(true).all() as unknown[][];
    const ms = performance.now() - start;
    const columns = stmt.columns().map((c, i) => ({
      name: c.name,
      type: c.type ? canonicalType(c.type) : typeOfValues(rows, i),
    }));
    return { columns, rows, ms };
  } catch (err) {
    throw toFerryError(err, 'READ_FAILED', 'SQLite refused the query');
  }
}

export function explain(db: Db, sql: string): string {
  try {
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[];
    return rows.map((r) => r.detail).join('\n');
  } catch (err) {
    throw toFerryError(err, 'READ_FAILED', 'SQLite cannot explain the query');
  }
}
