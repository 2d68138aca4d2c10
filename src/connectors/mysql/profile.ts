// MySQL's SQL for the questions of core/profile.ts.
import { orphanCountSql, type ProfileDialect, type ProfileTable } from '../../core/profile.js';
import { quoteIdent } from './codec.js';

export function profileDialect(table: ProfileTable): ProfileDialect {
  return {
    // CHAR_LENGTH counts the bytes of a binary string
    maxLength: { aggregate: true, fields: ({ column }) => ({ length: `MAX(CHAR_LENGTH(${quoteIdent(column)}))` }) },
    orphans: {
      aggregate: false,
      fields: ({ foreignKey }) => ({
        rows: orphanCountSql(foreignKey, quoteIdent(table.name), quoteIdent(foreignKey.refTable), quoteIdent),
      }),
    },
  };
}
