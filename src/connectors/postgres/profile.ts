// PostgreSQL's SQL for the questions of core/profile.ts.
import type pg from 'pg';
import { orphanCountSql, type ProfileDialect, type ProfileTable } from '../../core/profile.js';
import type { ForeignKey } from '../../core/types.js';
import { quoteIdent, tableRef } from './sql.js';

export function profileDialect(table: ProfileTable, schema: string): ProfileDialect {
  const bytes = (name: string) => table.columns.find((c) => c.name === name)?.type.kind === 'bytes';
  return {
    maxLength: {
      aggregate: true,
      fields: ({ column }) => ({
        length: `max(length(${quoteIdent(column)}${bytes(column) ? '' : '::text'}))`,
      }),
    },
    // length() of text (char ignoring its padding) and of bytea
    emptyValues: {
      aggregate: true,
      fields: ({ column }) => ({ rows: `count(*) FILTER (WHERE length(${quoteIdent(column)}) = 0)` }),
    },
    // PostgreSQL's values are what their types say
    storageClasses: undefined,
    notBoolean: undefined,
    durations: undefined,
    orphans: {
      aggregate: false,
      fields: ({ foreignKey }) => ({
        rows: orphanCountSql(
          foreignKey,
          tableRef(table.name, schema).sql,
          tableRef(foreignKey.refTable, schema).sql,
          quoteIdent,
        ),
      }),
    },
  };
}

// A foreign key PostgreSQL enforces: validated (no row broke it when it was added or validated)
// and its triggers enabled for ordinary sessions ('O' or 'A': a disabled or replica-only trigger
// lets rows in unchecked), between plain tables (a partitioned table's key lives on its
// partitions' constraints and triggers). Only a superuser's session in replica mode, as logical
// replication's apply and pg_restore --disable-triggers use, writes past it; the run's VALIDATE
// CONSTRAINT on the target still checks every row, and names the key if one breaks it.
const ENFORCED_SQL = `
SELECT EXISTS (
  SELECT 1 FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid AND c.relkind = 'r'
  JOIN pg_class p ON p.oid = con.confrelid AND p.relkind = 'r'
  WHERE con.conrelid = to_regclass($1) AND con.confrelid = to_regclass($2) AND con.conname = $3
    AND con.contype = 'f' AND con.convalidated
    AND ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
              JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) = $4::text[]
    AND ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
              JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) = $5::text[]
    AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgconstraint = con.oid AND t.tgenabled NOT IN ('O', 'A'))
) AS enforced`;

/**
 * Whether the source itself proves that no row breaks `fk` of `table`: then it has no orphan
 * rows, and counting them (an anti-join of both tables, whole) can be skipped.
 */
export async function enforcedForeignKey(
  client: pg.ClientBase,
  table: string,
  fk: ForeignKey,
  schema: string,
): Promise<boolean> {
  const { rows } = await client.query<{ enforced: boolean }>(ENFORCED_SQL, [
    tableRef(table, schema).sql,
    tableRef(fk.refTable, schema).sql,
    fk.name,
    fk.columns,
    fk.refColumns,
  ]);
  return rows[0]!.enforced;
}
