// A plan's row filter is placed inside parentheses, `WHERE (<filter>) AND <key range>`, in
// every read and count of its table. It must be one boolean expression that stays there: no
// parenthesis it did not open closed, none left open, no second statement, no comment that
// hides the rest. The filter's tokens (`sql-tokens.ts`, per dialect) are checked for that before
// the engine sees it (the engine then checks the expression itself: `Source.checkWhere`); a `)`
// or `;` inside a string literal or a quoted name is text.
import { sqlTokens, UnclosedSqlText, type SqlDialect } from './sql-tokens.js';

export type { SqlDialect } from './sql-tokens.js';

/** Why `filter` is not one expression that stays inside its parentheses; undefined when it is. */
export function filterProblem(filter: string, dialect: SqlDialect): string | undefined {
  if (filter.trim() === '') return 'it is empty';
  // MySQL reads a backslash in a string as an escape unless the server's sql_mode says
  // NO_BACKSLASH_ESCAPES: the filter must be one expression either way
  if (dialect === 'mysql') return scan(filter, dialect, true) ?? scan(filter, dialect, false);
  return scan(filter, dialect, false);
}

function scan(s: string, dialect: SqlDialect, backslashes: boolean): string | undefined {
  let tokens;
  let unclosed: string | undefined;
  try {
    tokens = sqlTokens(s, dialect, { backslashes });
  } catch (e) {
    if (!(e instanceof UnclosedSqlText)) throw e;
    // a problem before the text that is not closed comes first
    tokens = e.before;
    unclosed = e.message;
  }
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'comment') return 'it holds a comment, which would hide what follows it';
    if (t.kind !== 'symbol') continue;
    if (t.text === ';') return 'it holds a ";": one expression, not statements';
    if (t.text === '(') depth++;
    else if (t.text === ')' && --depth < 0) return 'it closes a parenthesis it did not open';
  }
  return unclosed ?? (depth > 0 ? 'it leaves a parenthesis open' : undefined);
}
