// A plan's row filter is placed inside parentheses, `WHERE (<filter>) AND <key range>`, in
// every read and count of its table. It must be one boolean expression that stays there: no
// parenthesis it did not open closed, none left open, no second statement, no comment that
// hides the rest. A small tokenizer per dialect checks that before the engine sees the filter
// (the engine then checks the expression itself: `Source.checkWhere`). It skips string literals
// and quoted identifiers as the engine reads them, so a `)` or `;` inside them is text.

export type SqlDialect = 'postgres' | 'mysql' | 'sqlite';

/** Why `filter` is not one expression that stays inside its parentheses; undefined when it is. */
export function filterProblem(filter: string, dialect: SqlDialect): string | undefined {
  if (filter.trim() === '') return 'it is empty';
  // MySQL reads a backslash in a string as an escape unless the server's sql_mode says
  // NO_BACKSLASH_ESCAPES: the filter must be one expression either way
  if (dialect === 'mysql') return scan(filter, dialect, true) ?? scan(filter, dialect, false);
  return scan(filter, dialect, false);
}

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

function scan(s: string, dialect: SqlDialect, backslashes: boolean): string | undefined {
  let depth = 0;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    const next = s[i + 1];
    if (c === "'") {
      // PostgreSQL's E'…' strings take backslash escapes; its standard strings do not
      const escaped =
        dialect === 'mysql'
          ? backslashes
          : dialect === 'postgres' && /[eE]/.test(s[i - 1] ?? '') && !IDENT_CHAR.test(s[i - 2] ?? '');
      const end = quoted(s, i, "'", escaped);
      if (end < 0) return 'a string is not closed';
      i = end;
    } else if (c === '"') {
      const end = quoted(s, i, '"', dialect === 'mysql' && backslashes);
      if (end < 0) return 'a quoted name or string is not closed';
      i = end;
    } else if (c === '`' && dialect !== 'postgres') {
      const end = quoted(s, i, '`', false);
      if (end < 0) return 'a quoted name is not closed';
      i = end;
    } else if (c === '[' && dialect === 'sqlite') {
      const end = s.indexOf(']', i + 1);
      if (end < 0) return 'a quoted name is not closed';
      i = end + 1;
    } else if (c === '$' && dialect === 'postgres' && !IDENT_CHAR.test(s[i - 1] ?? '')) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(s.slice(i))?.[0];
      if (tag === undefined) i++;
      else {
        const end = s.indexOf(tag, i + tag.length);
        if (end < 0) return 'a dollar-quoted string is not closed';
        i = end + tag.length;
      }
    } else if (c === ';') return 'it holds a ";": one expression, not statements';
    else if ((c === '-' && next === '-') || (c === '/' && next === '*') || (c === '#' && dialect === 'mysql'))
      return 'it holds a comment, which would hide what follows it';
    else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      if (--depth < 0) return 'it closes a parenthesis it did not open';
      i++;
    } else i++;
  }
  return depth > 0 ? 'it leaves a parenthesis open' : undefined;
}

/** The index just past the literal or quoted name opened at `start`, or -1 when it is not closed. */
function quoted(s: string, start: number, quote: string, backslashes: boolean): number {
  let i = start + 1;
  while (i < s.length) {
    const c = s[i]!;
    if (backslashes && c === '\\') i += 2;
    else if (c === quote) {
      if (s[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return -1;
}
