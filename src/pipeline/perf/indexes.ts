// The likely cause of a slower query: an index the source has on columns the query names that
// the target lacks (no index there starts with the same columns), read from both sides' catalogs.
import type { Connector } from '../../core/contracts.js';
import type { TableInfo } from '../../core/types.js';
import type { Translated } from './translate.js';

/** The indexes (and primary keys) of a table, as column lists with their names. */
function keysOf(t: TableInfo): { name: string; columns: string[] }[] {
  const keys = t.indexes.filter((ix) => !ix.expression).map((ix) => ({ name: ix.name, columns: ix.columns }));
  if (t.primaryKey.length > 0) keys.push({ name: 'primary key', columns: t.primaryKey });
  t.uniqueKeys.forEach((k, i) => keys.push({ name: `unique key ${i + 1}`, columns: k }));
  return keys;
}

export async function missingIndexes(query: Translated, source: Connector, target: Connector): Promise<string[]> {
  const [src, tgt] = await Promise.all([
    source.introspect({ tables: query.tables.map((t) => t.source) }),
    target.introspect({ tables: query.tables.map((t) => t.target) }),
  ]);
  const causes: string[] = [];
  for (const tp of query.tables) {
    const named = query.columns.get(tp.source)!;
    const sourceTable = src.tables.find((t) => t.name === tp.source);
    const targetTable = tgt.tables.find((t) => t.name === tp.target);
    if (!sourceTable || !targetTable) continue;
    const targetName = new Map(tp.columns.map((c) => [c.source, c.target]));
    const targetKeys = keysOf(targetTable).map((k) => k.columns.join('\u0001'));
    for (const ix of keysOf(sourceTable)) {
      if (!named.has(ix.columns[0]!)) continue;
      const mapped = ix.columns.map((c) => targetName.get(c));
      if (mapped.some((c) => c === undefined)) continue;
      const wanted = mapped.join('\u0001');
      if (targetKeys.some((k) => k === wanted || k.startsWith(wanted + '\u0001'))) continue;
      causes.push(
        `the source has index ${ix.name} on ${tp.source}(${ix.columns.join(', ')}); the target has none on ${tp.target}(${mapped.join(', ')})`,
      );
    }
  }
  return causes;
}
