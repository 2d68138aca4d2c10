// MySQL's SQL for the questions of core/profile.ts.
import { orphanCountSql, type ProfileDialect, type ProfileTable } from '../../core/profile.js';
import { quoteIdent } from './codec.js';

export function profileDialect(table: ProfileTable): ProfileDialect {
  return {
    // CHAR_LENGTH counts the bytes of a binary string
    maxLength: { aggregate: true, fields: ({ column }) => ({ length: `MAX(CHAR_LENGTH(${quoteIdent(column)}))` }) },
    emptyValues: { aggregate: true, fields: ({ column }) => ({ rows: `SUM(LENGTH(${quoteIdent(column)}) = 0)` }) },
    storageClasses: undefined,
    notBoolean: {
      aggregate: true,
      fields: ({ column }) => {
        const c = quoteIdent(column);
        return { rows: `SUM(${c} NOT IN (0, 1))`, min: `MIN(${c})`, max: `MAX(${c})` };
      },
    },
    // TIME holds -838:59:59..838:59:59
    durations: {
      aggregate: true,
      fields: ({ column }) => ({
        rows: `SUM(${quoteIdent(column)} < '00:00:00' OR ${quoteIdent(column)} >= '24:00:00')`,
      }),
    },
    // counted even for InnoDB keys: any session may SET foreign_key_checks = 0 (dumps and bulk
    // loads do) and write rows past them, and InnoDB keeps no mark that it happened, so unlike
    // PostgreSQL's validated keys nothing short of the scan proves there are no orphans
    orphans: {
      aggregate: false,
      fields: ({ foreignKey }) => ({
        rows: orphanCountSql(foreignKey, quoteIdent(table.name), quoteIdent(foreignKey.refTable), quoteIdent),
      }),
    },
  };
}
