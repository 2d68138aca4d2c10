// Live changes into PostgreSQL (Target.applyChanges): the statements of core/apply-sql.ts with
// the values as literals in the text forms COPY's text format uses, sent as simple queries of
// up to about a megabyte: "BEGIN; …; the position; COMMIT" is one round trip for most calls.
// (Measured: EXECUTE of prepared statements in such a query is slower than the statements.)
import type pg from 'pg';
import { POSITIONS_TABLE } from '../../core/apply.js';
import { ChangeQueries, type ChangeDialect } from '../../core/apply-sql.js';
import type { AppliedChange } from '../../core/contracts.js';
import { queryError } from './errors.js';
import { quoteIdent, tableRef } from './sql.js';
import { sqlLiteral, textForm } from './text-write.js';

/** SQL text per simple query, in UTF-16 units */
const QUERY_CHARS = 1 << 20;

interface Connections {
  /** a pooled connection with ferry's session settings, given back broken when `fn` throws */
  withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  schema: string;
}

function dialect(schema: string): ChangeDialect {
  return {
    ident: quoteIdent,
    tableName: (table) => tableRef(table.name, schema).sql,
    literals: (table) =>
      table.columns.map((c) => {
        const form = textForm(c.type);
        return (v) => sqlLiteral(form(v));
      }),
    replacing: (keys, others) =>
      ` ON CONFLICT (${keys.join(', ')}) ` +
      (others.length ? `DO UPDATE SET ${others.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}` : 'DO NOTHING'),
    keeping: (keys) => ` ON CONFLICT (${keys.join(', ')}) DO NOTHING`,
    deleteWhenBoth: (table, old, now) =>
      `DELETE FROM ${table} o WHERE ${old('o.')} AND EXISTS (SELECT 1 FROM ${table} n WHERE ${now('n.')})`,
  };
}

export class PgApply {
  private readonly queries: ChangeQueries;
  private readonly positions: string;
  private positionsMade?: Promise<unknown>;

  constructor(private readonly db: Connections) {
    this.queries = new ChangeQueries(dialect(db.schema), QUERY_CHARS);
    this.positions = tableRef(POSITIONS_TABLE, db.schema).sql;
  }

  async applyChanges(changes: AppliedChange[], stream: string, position: string): Promise<void> {
    const queries = this.queries.of(
      changes,
      'BEGIN',
      `INSERT INTO ${this.positions} (stream, position, applied_at) VALUES (${sqlLiteral(stream)}, ${sqlLiteral(position)}, now()) ` +
        'ON CONFLICT (stream) DO UPDATE SET position = EXCLUDED.position, applied_at = EXCLUDED.applied_at',
    );
    await this.db.withClient(async (client) => {
      try {
        this.positionsMade ??= client
          .query(
            `CREATE TABLE IF NOT EXISTS ${this.positions} (stream text PRIMARY KEY, position text NOT NULL, applied_at timestamptz NOT NULL)`,
          )
          .catch((e: unknown) => {
            this.positionsMade = undefined;
            throw e;
          });
        await this.positionsMade;
        for (const q of queries) await client.query(q);
      } catch (e) {
        // a failed statement ends its query, and leaves the transaction open and aborted
        await client.query('ROLLBACK').catch(() => {});
        const table = (e as { table?: string }).table;
        throw queryError(e, 'WRITE_FAILED', `cannot apply changes${table ? ` to ${table}` : ''}`);
      }
    });
  }

  async forgetStream(stream: string): Promise<void> {
    await this.db.withClient(async (client) => {
      try {
        await client.query(`DELETE FROM ${this.positions} WHERE stream = $1`, [stream]);
        const { rows } = await client.query(`SELECT 1 FROM ${this.positions} LIMIT 1`);
        if (rows.length === 0) await client.query(`DROP TABLE IF EXISTS ${this.positions}`);
        this.positionsMade = undefined;
      } catch (e) {
        if ((e as { code?: string }).code === '42P01') return;
        throw queryError(e, 'WRITE_FAILED', `cannot forget the position of stream ${stream}`);
      }
    });
  }

  async appliedPosition(stream: string): Promise<string | undefined> {
    return this.db.withClient(async (client) => {
      try {
        const { rows } = await client.query<{ position: string }>(
          `SELECT position FROM ${this.positions} WHERE stream = $1`,
          [stream],
        );
        return rows[0]?.position;
      } catch (e) {
        if ((e as { code?: string }).code === '42P01') return undefined;
        throw queryError(e, 'READ_FAILED', `cannot read the applied position of stream ${stream}`);
      }
    });
  }
}
