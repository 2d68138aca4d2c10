// PostgreSQL's SQL for the questions of core/profile.ts.
import { orphanCountSql, type ProfileDialect, type ProfileTable } from '../../core/profile.js';
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
