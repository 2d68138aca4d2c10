// SQL text as tokens, as each engine reads it: string literals, quoted names, comments and
// PostgreSQL's dollar quotes are single tokens, so a `;`, a parenthesis, a quote or a name inside
// them is text. A plan's row filter is checked on them (`sql-filter.ts`); `ferry perf` splits a
// file of queries on the `;` tokens and renames the name tokens.

export type SqlDialect = 'postgres' | 'mysql' | 'sqlite';

export type SqlTokenKind =
  /** a bare word: a keyword or a name, as written */
  | 'word'
  /** a quoted name ("x", `x`, [x]); `name` holds it unquoted */
  | 'quoted'
  /** a string literal, a dollar-quoted string, or a number */
  | 'literal'
  | 'comment'
  | 'space'
  /** any other character: punctuation, an operator, `;` */
  | 'symbol';

export interface SqlToken {
  kind: SqlTokenKind;
  text: string;
  /** for a quoted name: the name it stands for */
  name?: string;
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

/** A string, quoted name or dollar quote that is not closed: the message says which. */
export class UnclosedSqlText extends Error {
  constructor(
    message: string,
    /** the tokens before it */
    readonly before: SqlToken[] = [],
  ) {
    super(message);
  }
}

/**
 * The tokens of `sql`; their texts joined are `sql`. MySQL's strings take backslash escapes
 * unless `backslashes` is false (its sql_mode NO_BACKSLASH_ESCAPES). A block comment not closed
 * runs to the end; a string, quoted name or dollar quote not closed throws UnclosedSqlText.
 */
export function sqlTokens(sql: string, dialect: SqlDialect, { backslashes = true } = {}): SqlToken[] {
  const tokens: SqlToken[] = [];
  try {
    readTokens(sql, dialect, backslashes, tokens);
  } catch (e) {
    throw e instanceof UnclosedSqlText ? new UnclosedSqlText(e.message, tokens) : e;
  }
  return tokens;
}

function readTokens(sql: string, dialect: SqlDialect, backslashes: boolean, tokens: SqlToken[]): void {
  let i = 0;
  const push = (kind: SqlTokenKind, end: number, name?: string) => {
    tokens.push(name === undefined ? { kind, text: sql.slice(i, end) } : { kind, text: sql.slice(i, end), name });
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (/\s/.test(c)) push('space', spanOf(sql, i, /\s/));
    else if ((c === '-' && next === '-') || (c === '#' && dialect === 'mysql')) {
      const end = sql.indexOf('\n', i);
      push('comment', end < 0 ? sql.length : end);
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      push('comment', end < 0 ? sql.length : end + 2);
    } else if (c === "'") {
      // PostgreSQL's E'…' strings take backslash escapes (the E is the word token before)
      const prev = tokens.at(-1);
      const escaped =
        dialect === 'mysql' ? backslashes : dialect === 'postgres' && prev?.kind === 'word' && /^[eE]$/.test(prev.text);
      push('literal', closing(sql, i, "'", escaped, 'a string'));
    } else if (c === '"' && dialect === 'mysql') {
      // MySQL reads "…" as a string (unless its sql_mode has ANSI_QUOTES)
      push('literal', closing(sql, i, '"', backslashes, 'a quoted name or string'));
    } else if (c === '"') {
      const end = closing(sql, i, '"', false, 'a quoted name');
      push('quoted', end, sql.slice(i + 1, end - 1).replaceAll('""', '"'));
    } else if (c === '`' && dialect !== 'postgres') {
      const end = closing(sql, i, '`', false, 'a quoted name');
      push('quoted', end, sql.slice(i + 1, end - 1).replaceAll('``', '`'));
    } else if (c === '[' && dialect === 'sqlite') {
      const end = sql.indexOf(']', i + 1);
      if (end < 0) throw new UnclosedSqlText('a quoted name is not closed');
      push('quoted', end + 1, sql.slice(i + 1, end));
    } else if (c === '$' && dialect === 'postgres' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i, i + 64))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))![0];
      const end = sql.indexOf(tag, i + tag.length);
      if (end < 0) throw new UnclosedSqlText('a dollar-quoted string is not closed');
      push('literal', end + tag.length);
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next ?? '')))
      push('literal', spanOf(sql, i, /[0-9A-Za-z_.]/));
    else if (IDENT_START.test(c)) push('word', spanOf(sql, i, IDENT_CHAR));
    else push('symbol', i + 1);
  }
}

function spanOf(s: string, start: number, re: RegExp): number {
  let i = start + 1;
  while (i < s.length && re.test(s[i]!)) i++;
  return i;
}

/** The index just past the quoted text opened at `start` (a doubled quote is one quote in it). */
function closing(s: string, start: number, quote: string, backslashes: boolean, what: string): number {
  let i = start + 1;
  while (i < s.length) {
    const c = s[i]!;
    if (backslashes && c === '\\') i += 2;
    else if (c === quote) {
      if (s[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  throw new UnclosedSqlText(`${what} is not closed`);
}

/** A name as it is written in `dialect` (always quoted, so any name reads back as itself). */
export function quoteName(name: string, dialect: SqlDialect): string {
  return dialect === 'mysql' ? '`' + name.replaceAll('`', '``') + '`' : '"' + name.replaceAll('"', '""') + '"';
}
