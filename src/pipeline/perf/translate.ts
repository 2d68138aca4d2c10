// A source query as the target reads it: the tables and columns the plan renamed take their
// target names, quoted names the target's quotes. A query the plan's mapping cannot answer for
// (a column left out or transformed, a name renamed two ways) is not translated, and says why.
import type { TablePlan } from '../../core/plan.js';
import { quoteName, sqlTokens, type SqlDialect, type SqlToken } from '../../core/sql-tokens.js';

export interface Translated {
  sql: string;
  /** the plan's tables the query names, by their source names */
  tables: TablePlan[];
  /** per table of the query (source name): the source columns the query names */
  columns: Map<string, Set<string>>;
}

export const NO_PLAN_TABLE = 'it names no table of the plan';

export type Translation = Translated | { problem: string };

function nameOf(t: SqlToken): string | undefined {
  return t.kind === 'word' ? t.text : t.kind === 'quoted' ? t.name : undefined;
}

/** Whether a name as written in the query is `name`: bare words and MySQL names match in any case. */
function same(t: SqlToken, written: string, name: string, dialect: SqlDialect): boolean {
  return t.kind === 'word' || dialect === 'mysql' ? written.toLowerCase() === name.toLowerCase() : written === name;
}

export function translateQuery(sql: string, tables: TablePlan[], from: SqlDialect, to: SqlDialect): Translation {
  let tokens: SqlToken[];
  try {
    tokens = sqlTokens(sql, from);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  const touched = tables.filter((tp) =>
    tokens.some((t) => {
      const n = nameOf(t);
      return n !== undefined && same(t, n, tp.source, from);
    }),
  );
  if (touched.length === 0) return { problem: NO_PLAN_TABLE };
  const columns = new Map(touched.map((tp) => [tp.source, new Set<string>()]));
  const out: string[] = [];
  for (const [i, t] of tokens.entries()) {
    const n = nameOf(t);
    const calls = tokens.slice(i + 1).find((x) => x.kind !== 'space')?.text === '(';
    if (n === undefined || calls) {
      const literal = literalFor(t, from, to);
      if (typeof literal !== 'string') return literal;
      out.push(literal);
      continue;
    }
    const table = touched.find((tp) => same(t, n, tp.source, from));
    let target = table?.target;
    if (!table) {
      const hits = touched.flatMap((tp) =>
        tp.columns.filter((c) => same(t, n, c.source, from)).map((c) => ({ tp, c })),
      );
      for (const { tp, c } of hits) {
        if (c.exclude) return { problem: `column ${c.source} of ${tp.source} is left out of the copy` };
        if (c.transform) return { problem: `column ${c.source} of ${tp.source} is transformed by the plan` };
        columns.get(tp.source)!.add(c.source);
      }
      const targets = new Set(hits.map((h) => h.c.target));
      if (targets.size > 1)
        return {
          problem: `column ${n} has different target names in the tables of the query (${[...targets].join(', ')})`,
        };
      target = hits[0]?.c.target;
    }
    if (target === undefined || (t.kind === 'word' && target === n))
      out.push(t.kind === 'word' ? t.text : quoteName(n, to));
    else out.push(quoteName(target, to));
  }
  return { sql: out.join(''), tables: touched, columns };
}

/** A token that is not a name, in the target's dialect; a MySQL string with backslash escapes is not translated. */
function literalFor(t: SqlToken, from: SqlDialect, to: SqlDialect): string | { problem: string } {
  if (t.kind !== 'literal' || from !== 'mysql' || to === 'mysql' || !/^["']/.test(t.text)) return t.text;
  if (t.text.includes('\\')) return { problem: `the string ${t.text} has MySQL backslash escapes` };
  const quote = t.text[0]!;
  const body = t.text.slice(1, -1).replaceAll(quote + quote, quote);
  return `'${body.replaceAll("'", "''")}'`;
}
