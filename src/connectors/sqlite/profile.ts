// SQLite's SQL for the questions of core/profile.ts.
import { orphanCountSql, type ProfileDialect, type ProfileTable } from '../../core/profile.js';
import { ident } from './sql.js';

export function profileDialect(table: ProfileTable): ProfileDialect {
  return {
    // length() counts the characters of text and the bytes of a blob
    maxLength: { aggregate: true, fields: ({ column }) => ({ length: `max(length(${ident(column)}))` }) },
    emptyValues: { aggregate: true, fields: ({ column }) => ({ rows: `sum(length(${ident(column)}) = 0)` }) },
    storageClasses: {
      aggregate: true,
      fields: ({ column }) => {
        const count = (storage: string) => `sum(typeof(${ident(column)}) = '${storage}')`;
        return { integer: count('integer'), real: count('real'), text: count('text'), blob: count('blob') };
      },
    },
    notBoolean: {
      aggregate: true,
      fields: ({ column }) => {
        const c = ident(column);
        const integer = `CASE WHEN typeof(${c}) = 'integer' THEN ${c} END`;
        return { rows: `sum(${c} NOT IN (0, 1))`, min: `min(${integer})`, max: `max(${integer})` };
      },
    },
    durations: undefined,
    orphans: {
      aggregate: false,
      fields: ({ foreignKey }) => ({
        rows: orphanCountSql(foreignKey, ident(table.name), ident(foreignKey.refTable), ident),
      }),
    },
  };
}
