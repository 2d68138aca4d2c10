// Which statements of the binlog change a followed table's definition: the stream cannot go on
// past them (issue 14 item 6). Statements that leave every row as it is (indexes, keys, table
// options) do not count.

const IDENT = '(?:`(?:[^`]|``)+`|[\\w$]+)';
const NAME = new RegExp(`\\s*(${IDENT})(?:\\s*\\.\\s*(${IDENT}))?`, 'y');
/** Statements that change or remove a table, up to the first table name. */
const TABLE_STATEMENT =
  /^(?:\/\*.*?\*\/\s*)*(?:ALTER\s+(?:ONLINE\s+)?(?:IGNORE\s+)?TABLE|DROP\s+TABLES?|RENAME\s+TABLES?|TRUNCATE(?:\s+TABLE)?|CREATE\s+OR\s+REPLACE\s+TABLE)(?:\s+IF\s+EXISTS)?\s/is;
const DATABASE_STATEMENT = /^(?:\/\*.*?\*\/\s*)*DROP\s+(?:DATABASE|SCHEMA)(?:\s+IF\s+EXISTS)?\s/is;

const COMMENTS = /^(?:\/\*.*?\*\/\s*)*/s;

const unquote = (name: string) => (name.startsWith('`') ? name.slice(1, -1).replace(/``/g, '`') : name);

/**
 * The followed table a statement changes or removes (ALTER TABLE but for indexes, keys and
 * table options; DROP, RENAME, TRUNCATE, CREATE OR REPLACE TABLE; DROP DATABASE of the
 * source's), or undefined. `schema` is the statement's default database; names may be
 * qualified.
 */
export function changedTable(
  statement: string,
  schema: string,
  database: string,
  followed: Set<string>,
): string | undefined {
  const db = DATABASE_STATEMENT.exec(statement);
  if (db) {
    NAME.lastIndex = db[0].length;
    const m = NAME.exec(statement);
    return m && unquote(m[1]!) === database ? [...followed][0] : undefined;
  }
  const head = TABLE_STATEMENT.exec(statement);
  if (!head) return undefined;
  let at = head[0].length;
  for (;;) {
    NAME.lastIndex = at;
    const m = NAME.exec(statement);
    if (!m) return undefined;
    at = NAME.lastIndex;
    const [inDb, table] = m[2] === undefined ? [schema, unquote(m[1]!)] : [unquote(m[1]!), unquote(m[2])];
    if (inDb === database && followed.has(table))
      return /^ALTER\b/i.test(head[0].replace(COMMENTS, '')) && rowsKept(statement.slice(at)) ? undefined : table;
    // RENAME TABLE a TO b, c TO d; DROP TABLE a, b
    const rest = /^\s+TO\s|^\s*,/i.exec(statement.slice(at));
    if (!rest) return undefined;
    at += rest[0].length;
  }
}

/** ALTER TABLE clauses that leave the rows and their columns as they are. */
const ROWS_KEPT =
  /^(?:ADD\s+(?:(?:UNIQUE|FULLTEXT|SPATIAL)\s+)?(?:INDEX|KEY)\b|ADD\s+(?:CONSTRAINT|UNIQUE|FOREIGN\s+KEY|CHECK)\b|DROP\s+(?:INDEX|KEY|FOREIGN\s+KEY|CONSTRAINT|CHECK)\b|RENAME\s+(?:INDEX|KEY)\b|ALTER\s+(?:INDEX|KEY)\b|(?:ENGINE|COMMENT|ALGORITHM|LOCK|AUTO_INCREMENT|ROW_FORMAT|KEY_BLOCK_SIZE|STATS_\w+|PAGE_COMPRESSED|PAGE_COMPRESSION_LEVEL)\b|FORCE$|(?:ENABLE|DISABLE)\s+KEYS$)/i;

/** Whether every clause of an ALTER TABLE (after the table's name) leaves the rows as they are. */
function rowsKept(clauses: string): boolean {
  return clausesOf(clauses).every(keepsRows);
}

// ADD PRIMARY KEY, ADD COLUMN, MODIFY, CHANGE, DROP COLUMN, RENAME TO, CONVERT TO CHARACTER SET, … do not
const keepsRows = (clause: string) =>
  clause !== '' && ROWS_KEPT.test(clause) && !/^ADD\s+(?:CONSTRAINT\b.*?\s)?PRIMARY\b/i.test(clause);

const ALTER_TABLE = /^(?:\/\*.*?\*\/\s*)*ALTER\s+(?:ONLINE\s+)?(?:IGNORE\s+)?TABLE(?:\s+IF\s+EXISTS)?\s/is;
/** ADD [COLUMN] [IF NOT EXISTS] name …, not the form that adds a parenthesized list */
const ADD_COLUMN = new RegExp(`^ADD\\s+(?:COLUMN\\s+)?(?:IF\\s+NOT\\s+EXISTS\\s+)?(${IDENT})\\s`, 'i');
const ADD_OTHER =
  /^ADD\s+(?:COLUMN\s*\(|(?:INDEX|KEY|CONSTRAINT|UNIQUE|FULLTEXT|SPATIAL|FOREIGN|CHECK|PRIMARY|PERIOD|SYSTEM|PARTITION)\b)/i;

/**
 * The columns an ALTER TABLE of a followed table adds, when adding them is all it does to the
 * table's rows (its other clauses, if any, leave them as they are); undefined otherwise.
 */
export function addedColumns(
  statement: string,
  schema: string,
  database: string,
  followed: Set<string>,
): { table: string; columns: string[] } | undefined {
  const head = ALTER_TABLE.exec(statement);
  if (!head) return undefined;
  NAME.lastIndex = head[0].length;
  const m = NAME.exec(statement);
  if (!m) return undefined;
  const [inDb, table] = m[2] === undefined ? [schema, unquote(m[1]!)] : [unquote(m[1]!), unquote(m[2])];
  if (inDb !== database || !followed.has(table)) return undefined;
  const columns: string[] = [];
  for (const clause of clausesOf(statement.slice(NAME.lastIndex))) {
    const add = ADD_OTHER.test(clause) ? undefined : ADD_COLUMN.exec(clause);
    if (add) columns.push(unquote(add[1]!));
    else if (!keepsRows(clause)) return undefined;
  }
  return columns.length > 0 ? { table, columns } : undefined;
}

/** An ALTER TABLE's clauses: split at the commas outside parentheses and quotes. */
function clausesOf(clauses: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let part = '';
  for (const ch of clauses) {
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(part.trim());
      part = '';
      continue;
    }
    part += ch;
  }
  parts.push(part.trim());
  return parts;
}

/** String literals, with their escapes and doubled quotes */
const STRINGS = /'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"/gs;
const DML = /^(?:\/\*.*?\*\/\s*)*(?:INSERT|REPLACE|UPDATE|DELETE|LOAD\s+DATA|LOAD\s+XML)\b/is;

/**
 * The followed table a change logged as a statement (a session whose binlog_format is not ROW)
 * may have changed: a statement that changes rows and names the table. ferry reads rows only.
 */
export function statementChange(statement: string, followed: Set<string>): string | undefined {
  if (!DML.test(statement)) return undefined;
  const names = new Set<string>();
  const code = statement.replace(STRINGS, "''");
  for (const m of code.matchAll(new RegExp(IDENT, 'g'))) names.add(unquote(m[0]));
  return [...followed].find((t) => names.has(t));
}
