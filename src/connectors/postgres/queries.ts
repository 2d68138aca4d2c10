// An application's statements on PostgreSQL, for `ferry perf`: run read-only with their
// answers as canonical values, explained, and ranked by pg_stat_statements.
import pg from 'pg';
import type { QueryResult, RankedStatement } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { queryError } from './errors.js';
import { canonicalType } from './typemap.js';

const BOOL_OID = 16;
const BYTEA_OID = 17;

// values arrive as the server's text (the session's settings make it UTC and ISO), booleans and bytes as values
const textTypes = {
  getTypeParser: (oid: number) => {
    if (oid === BOOL_OID) return (v: string) => v === 't';
    if (oid === BYTEA_OID) return (v: string) => Buffer.from(v.slice(2), 'hex');
    return (v: string) => v;
  },
};

export async function runQuery(connect: () => Promise<pg.PoolClient>, sql: string): Promise<QueryResult> {
  const client = await connect();
  try {
    await client.query('BEGIN READ ONLY');
    try {
      const start = performance.now();
      const res = await client.query({ text: sql, rowMode: 'array', types: textTypes });
      const ms = performance.now() - start;
      const natives = await client.query<{ native: string }>(
        `SELECT format_type(t, NULLIF(m, -1)) AS native FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS u(t, m, n) ORDER BY n`,
        [res.fields.map((f) => f.dataTypeID), res.fields.map((f) => f.dataTypeModifier)],
      );
      return {
        columns: res.fields.map((f, i) => ({ name: f.name, type: canonicalType(natives.rows[i]!.native) })),
        rows: res.rows as unknown[][],
        ms,
      };
    } finally {
      await client.query('ROLLBACK');
    }
  } catch (e) {
    throw queryError(e, 'READ_FAILED', 'PostgreSQL refused the query');
  } finally {
    client.release();
  }
}

export async function explain(connect: () => Promise<pg.PoolClient>, sql: string): Promise<string> {
  const client = await connect();
  try {
    const res = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`);
    return res.rows.map((r) => r['QUERY PLAN']).join('\n');
  } catch (e) {
    throw queryError(e, 'READ_FAILED', 'PostgreSQL cannot explain the query');
  } finally {
    client.release();
  }
}

export async function rankedStatements(
  connect: () => Promise<pg.PoolClient>,
  limit: number,
): Promise<RankedStatement[]> {
  const client = await connect();
  try {
    const installed = await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'`);
    if (installed.rowCount === 0)
      throw new FerryError(
        'UNSUPPORTED',
        'pg_stat_statements is not installed in the source database',
        "add it to the server's shared_preload_libraries, restart the server, and run CREATE EXTENSION pg_stat_statements in the database",
      );
    const res = await client.query<{ query: string; calls: string; total: number }>(
      `SELECT query, calls, total_exec_time AS total FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY total_exec_time DESC LIMIT $1`,
      [limit],
    );
    return res.rows.map((r) => ({ sql: r.query, calls: Number(r.calls), totalMs: Number(r.total) }));
  } catch (e) {
    throw queryError(e, 'READ_FAILED', 'cannot read pg_stat_statements');
  } finally {
    client.release();
  }
}
