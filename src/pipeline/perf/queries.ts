// The queries `ferry perf` checks: a file of statements ended by `;`, each optionally named by
// a `-- name: NAME` line before it, split on the `;` tokens of the source's dialect.
import { sqlTokens, type SqlDialect, type SqlToken } from '../../core/sql-tokens.js';

export interface NamedQuery {
  name: string;
  sql: string;
}

const NAME_LINE = /^--\s*name:\s*(.+?)\s*$/;

/** The statements of a query file; unnamed ones are named "query N" by their place in it. */
export function splitQueries(text: string, dialect: SqlDialect): NamedQuery[] {
  const queries: NamedQuery[] = [];
  let name: string | undefined;
  let body: SqlToken[] = [];
  const end = () => {
    const sql = body
      .map((t) => t.text)
      .join('')
      .trim();
    if (sql !== '') queries.push({ name: name ?? `query ${queries.length + 1}`, sql });
    name = undefined;
    body = [];
  };
  for (const t of sqlTokens(text, dialect)) {
    if (t.kind === 'symbol' && t.text === ';') end();
    else if (body.length === 0 && (t.kind === 'space' || t.kind === 'comment')) {
      const named = t.kind === 'comment' ? NAME_LINE.exec(t.text) : null;
      if (named) name = named[1];
    } else body.push(t);
  }
  end();
  return queries;
}

/** The statement's tokens that are not space or comments. */
export function meaningful(sql: string, dialect: SqlDialect): SqlToken[] {
  return sqlTokens(sql, dialect).filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

/** Whether the statement orders its answer: an ORDER BY outside any parentheses. */
export function ordersAnswer(sql: string, dialect: SqlDialect): boolean {
  const tokens = meaningful(sql, dialect);
  let depth = 0;
  return tokens.some((t, i) => {
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    return depth === 0 && t.kind === 'word' && /^order$/i.test(t.text) && /^by$/i.test(tokens[i + 1]?.text ?? '');
  });
}

/** Why the statement is not one `ferry perf` runs (not a SELECT, a placeholder in it); undefined when it is. */
export function notRunnable(sql: string, dialect: SqlDialect): string | undefined {
  let tokens: SqlToken[];
  try {
    tokens = meaningful(sql, dialect);
  } catch (e) {
    return (e as Error).message;
  }
  const first = tokens[0]?.text.toLowerCase();
  if (first !== 'select' && first !== 'with') return 'not a SELECT';
  if (tokens.some((t, i) => t.text === '?' || (t.text === '$' && /^\d/.test(tokens[i + 1]?.text ?? ''))))
    return 'its constants are placeholders the statistics left in it';
  return undefined;
}
