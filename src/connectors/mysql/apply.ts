// Live changes into MySQL/MariaDB (Target.applyChanges): the statements of core/apply-sql.ts
// with the values as the literals a chunk's INSERT writes, sent many to a query on a connection
// of their own: "START TRANSACTION; …; the position; COMMIT" is one round trip for most calls.
// An upsert's ON DUPLICATE KEY UPDATE first makes sure that the row it updates is the row of
// the key: a row matched by another unique key would be written over silently, so the
// statement fails instead (NULL into the key).
import { POSITIONS_TABLE } from '../../core/apply.js';
import { ChangeQueries, type ChangeDialect } from '../../core/apply-sql.js';
import type { AppliedChange } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { literalEncoder, quoteIdent, quoteString } from './codec.js';
import { isFatal, toFerryError } from './errors.js';
import { run, type SessionPool } from './session.js';

const POSITIONS = quoteIdent(POSITIONS_TABLE);
const NOT_NULL = /^Column '(.+)' cannot be null$/;

/** ON DUPLICATE KEY UPDATE that refuses a row found by another unique key than the primary key */
function guarded(keys: string[]): string {
  const same = keys.map((k) => `${k} <=> VALUES(${k})`).join(' AND ');
  return ` ON DUPLICATE KEY UPDATE ${keys[0]} = IF(${same}, ${keys[0]}, NULL)`;
}

const DIALECT: ChangeDialect = {
  ident: quoteIdent,
  tableName: (table) => quoteIdent(table.name),
  literals: (table) => table.columns.map(literalEncoder),
  replacing: (keys, others) => guarded(keys) + others.map((c) => `, ${c} = VALUES(${c})`).join(''),
  keeping: guarded,
  // MySQL refuses a subquery on the table a DELETE deletes from; a join of it with itself it takes
  deleteWhenBoth: (table, old, now) =>
    `DELETE o FROM ${table} AS o JOIN ${table} AS n ON ${now('n.')} WHERE ${old('o.')}`,
};

export class MysqlApply {
  private readonly queries: ChangeQueries;
  private positionsMade?: Promise<unknown>;

  constructor(
    /** connections that take several statements in one query */
    private readonly pool: SessionPool,
    /** query size in UTF-16 units */
    queryChars: number,
  ) {
    this.queries = new ChangeQueries(DIALECT, queryChars);
  }

  async applyChanges(changes: AppliedChange[], stream: string, position: string): Promise<void> {
    const queries = this.queries.of(
      changes,
      'START TRANSACTION',
      `INSERT INTO ${POSITIONS} (stream, position, applied_at) VALUES (${quoteString(stream)}, ${quoteString(position)}, UTC_TIMESTAMP(6)) ` +
        'ON DUPLICATE KEY UPDATE position = VALUES(position), applied_at = VALUES(applied_at)',
    );
    const conn = await this.pool.acquire();
    let failure: unknown;
    try {
      // CREATE TABLE ends a transaction: it comes first
      this.positionsMade ??= run(
        conn,
        `CREATE TABLE IF NOT EXISTS ${POSITIONS} (stream varchar(255) NOT NULL PRIMARY KEY, position text NOT NULL, applied_at datetime(6) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      ).catch((err: unknown) => {
        this.positionsMade = undefined;
        throw err;
      });
      await this.positionsMade;
      for (const q of queries) await run(conn, q);
    } catch (err) {
      failure = err;
      // a failed statement ends its query, and leaves the transaction open
      if (!isFatal(err)) await run(conn, 'ROLLBACK').catch(() => undefined);
      throw applyError(err, changes, this.pool);
    } finally {
      this.pool.release(conn, failure);
    }
  }

  async forgetStream(stream: string): Promise<void> {
    try {
      await this.pool.use(async (conn) => {
        await run(conn, `DELETE FROM ${POSITIONS} WHERE stream = ?`, [stream]);
        const rows = await run<unknown[]>(conn, `SELECT 1 FROM ${POSITIONS} LIMIT 1`);
        if (rows.length === 0) await run(conn, `DROP TABLE IF EXISTS ${POSITIONS}`);
      });
      this.positionsMade = undefined;
    } catch (err) {
      if ((err as { errno?: number }).errno === 1146) return;
      throw toFerryError(err, this.pool.ep, 'write');
    }
  }

  async appliedPosition(stream: string): Promise<string | undefined> {
    try {
      const rows = await this.pool.use((conn) =>
        run<{ position: string }[]>(conn, `SELECT position FROM ${POSITIONS} WHERE stream = ?`, [stream]),
      );
      return rows[0]?.position;
    } catch (err) {
      if ((err as { errno?: number }).errno === 1146) return undefined;
      throw toFerryError(err, this.pool.ep, 'read');
    }
  }
}

/** The guard's refusal says what it is; other errors as every write's. */
function applyError(err: unknown, changes: AppliedChange[], pool: SessionPool): FerryError {
  const e = err as { errno?: number; sqlMessage?: string };
  const column = e?.errno === 1048 ? NOT_NULL.exec(e.sqlMessage ?? '')?.[1] : undefined;
  const tables = new Set(changes.filter((c) => column && c.table.primaryKey.includes(column)).map((c) => c.table.name));
  if (tables.size > 0)
    return new FerryError(
      'WRITE_FAILED',
      `MySQL write ${[...tables].join(', ')} failed: a changed row has the value of a unique key that another row of the table holds`,
      'look for rows of the target table written outside ferry; remove them and run again',
      { cause: err },
    );
  return toFerryError(err, pool.ep, 'write');
}
