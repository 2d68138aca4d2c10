// SQLite's SQL for the questions of core/profile.ts.
import { orphanCountSql, type ProfileDialect, type ProfileTable } from '../../core/profile.js';
import { ident } from './sql.js';

export function profileDialect(table: ProfileTable): ProfileDialect {
  return {
    // length() counts the characters of text and the bytes of a blob
    maxLength: { aggregate: true, fields: ({ column }) => ({ length: `max(length(${ident(column)}))` }) },
    orphans: {
      aggregate: false,
      fields: ({ foreignKey }) => ({
        rows: orphanCountSql(foreignKey, ident(table.name), ident(foreignKey.refTable), ident),
      }),
    },
  };
}
