// An application's statements on MySQL/MariaDB, for `ferry perf`: run read-only with their
// answers as canonical values, explained, and ranked by performance_schema's digests.
import type { FieldPacket } from 'mysql2';
import type { QueryResult, RankedStatement } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { sqlTokens } from '../../core/sql-tokens.js';
import type { CanonicalType } from '../../core/types.js';
import { toFerryError } from './errors.js';
import { run, type SessionPool } from './session.js';
import { canonicalTypeOf } from './typemap.js';

const UNSIGNED_FLAG = 32;
const BINARY_CHARSET = 63;

/** The native type of a result column, from the protocol's type code (mysql2's FieldPacket). */
function nativeOf(f: FieldPacket): string {
  const unsigned = ((f.flags as number) & UNSIGNED_FLAG) !== 0 ? ' unsigned' : '';
  const ints: Record<number, string> = { 1: 'tinyint', 2: 'smallint', 3: 'int', 8: 'bigint', 9: 'mediumint' };
  const type = f.columnType ?? -1;
  if (type === 1 && f.columnLength === 1) return 'tinyint(1)';
  if (ints[type]) return ints[type] + unsigned;
  const others: Record<number, string> = {
    0: 'decimal',
    246: 'decimal',
    4: 'float',
    5: 'double',
    7: 'timestamp',
    10: 'date',
    11: 'time',
    12: 'datetime',
    13: 'year',
    16: `bit(${f.columnLength ?? 1})`,
    245: 'json',
    255: 'geometry',
  };
  if (others[type]) return others[type];
  return f.characterSet === BINARY_CHARSET ? 'longblob' : 'longtext';
}

function canonicalOf(f: FieldPacket): CanonicalType {
  try {
    return canonicalTypeOf(nativeOf(f));
  } catch {
    return { kind: 'string' };
  }
}

export function runQuery(pool: SessionPool, sql: string): Promise<QueryResult> {
  return pool
    .use(async (conn) => {
      await run(conn, 'START TRANSACTION READ ONLY');
      try {
        const start = performance.now();
        const [rows, fields] = await new Promise<[unknown[][], FieldPacket[]]>((resolve, reject) =>
          conn.query({ sql, rowsAsArray: true }, (err, res, f) =>
            err ? reject(err) : resolve([res as unknown[][], f as FieldPacket[]]),
          ),
        );
        const ms = performance.now() - start;
        if (!Array.isArray(fields))
          throw new FerryError('UNSUPPORTED', 'the statement gives no rows', 'give SELECT statements only');
        return { columns: fields.map((f) => ({ name: f.name, type: canonicalOf(f) })), rows, ms };
      } finally {
        await run(conn, 'ROLLBACK');
      }
    })
    .catch((err: unknown) => {
      throw toFerryError(err, pool.ep, 'read');
    });
}

export function explain(pool: SessionPool, sql: string): Promise<string> {
  return pool
    .use(async (conn) => {
      const rows = await run<Record<string, unknown>[]>(conn, `EXPLAIN ${sql}`);
      return rows
        .map((r) =>
          Object.entries(r)
            .filter(([, v]) => v !== null)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(' '),
        )
        .join('\n');
    })
    .catch((err: unknown) => {
      throw toFerryError(err, pool.ep, 'read');
    });
}

/**
 * A digest's text as a statement: the digest puts a space between a function's name and its
 * "(", which MySQL reads as a column name followed by a parenthesis (without IGNORE_SPACE).
 */
function digestSql(digest: string): string {
  let tokens;
  try {
    tokens = sqlTokens(digest, 'mysql');
  } catch {
    return digest;
  }
  return tokens
    .filter((t, i) => !(t.kind === 'space' && tokens[i - 1]?.kind === 'word' && tokens[i + 1]?.text === '('))
    .map((t) => t.text)
    .join('')
    .trim();
}

export function rankedStatements(pool: SessionPool, limit: number): Promise<RankedStatement[]> {
  return pool
    .use(async (conn) => {
      const [on] = await run<{ on: number | string }[]>(conn, 'SELECT @@performance_schema AS `on`');
      if (Number(on?.on) !== 1)
        throw new FerryError(
          'UNSUPPORTED',
          'performance_schema is off on the source server',
          "set performance_schema=ON in the server's configuration and restart it",
        );
      // SUM_TIMER_WAIT is in picoseconds
      const rows = await run<{ sql: string; calls: number | string; total: number | string }[]>(
        conn,
        `SELECT DIGEST_TEXT AS \`sql\`, COUNT_STAR AS calls, SUM_TIMER_WAIT / 1000000000 AS total
           FROM performance_schema.events_statements_summary_by_digest
          WHERE SCHEMA_NAME = DATABASE() AND DIGEST_TEXT IS NOT NULL
          ORDER BY SUM_TIMER_WAIT DESC LIMIT ?`,
        [limit],
      );
      return rows.map((r) => ({ sql: digestSql(r.sql), calls: Number(r.calls), totalMs: Number(r.total) }));
    })
    .catch((err: unknown) => {
      throw toFerryError(err, pool.ep, 'read');
    });
}
