// Questions about the data of a source table (Source.profile): facts the planner needs beyond
// the schema. Each kind of question is one entry of ProfileQuestions; each source that answers
// it gives the SQL (connectors/<engine>/profile.ts), and profileStatements puts a table's
// questions together into as few statements as it can.
import type { Column, ForeignKey } from './types.js';

/** The table a source is asked about: its name as introspect reports it, and its columns. */
export interface ProfileTable {
  name: string;
  columns: Column[];
}

/**
 * The kinds of question, each with what it asks (besides its kind) and its answer: named
 * counts, all numbers. To add one: an entry here and its SQL in each source's profile.ts.
 */
export interface ProfileQuestions {
  /** the longest value of a column: characters of text, bytes of bytes (0 when every value is NULL) */
  maxLength: { ask: { column: string }; answer: { length: number } };
  /** rows whose foreign-key columns are all set and match no row of the referenced table (0 without a scan where the source enforces the key) */
  orphans: { ask: { foreignKey: ForeignKey }; answer: { rows: number } };
  /** how many values of a column are of each storage class (SQLite's typeof) */
  storageClasses: { ask: { column: string }; answer: { integer: number; real: number; text: number; blob: number } };
  /** values of a boolean column other than 0 and 1, and the least and the greatest of its integers */
  notBoolean: { ask: { column: string }; answer: { rows: number; min: number; max: number } };
  /** values of a time column that are no time of day: negative, or 24 hours and more */
  durations: { ask: { column: string }; answer: { rows: number } };
  /** values of a text or bytes column that are empty (not NULL) */
  emptyValues: { ask: { column: string }; answer: { rows: number } };
}

export type ProfileKind = keyof ProfileQuestions;

export type ProfileAsk<K extends ProfileKind = ProfileKind> = {
  [P in K]: { kind: P } & ProfileQuestions[P]['ask'];
}[K];

export type ProfileAnswer<K extends ProfileKind = ProfileKind> = {
  [P in K]: { ask: ProfileAsk<P>; answer: ProfileQuestions[P]['answer'] };
}[K];

/** Answers about the data, looked up by table and ask (the planner's DataProfile). */
export interface ProfileAnswers {
  get<K extends ProfileKind>(table: string, ask: ProfileAsk<K>): ProfileQuestions[K]['answer'] | undefined;
}

/** What an ask is about: a column or a foreign key (names are unique within a table). */
export function askSubject(ask: ProfileAsk): string {
  return 'column' in ask ? `column ${ask.column}` : `foreign key ${ask.foreignKey.name}`;
}

/** How an engine answers one kind of question: an SQL expression per field of the answer. */
export interface ProfileSql<K extends ProfileKind> {
  /**
   * true: the expressions are aggregates over the table's rows, and every aggregate asked of a
   * table is computed in one scan of it. false: they are scalar (subqueries), a statement of their own.
   */
  aggregate: boolean;
  fields(ask: ProfileAsk<K>): Record<keyof ProfileQuestions[K]['answer'], string>;
}

/** An engine's SQL for each kind of question about one table; undefined where the question does not apply to the engine. */
export type ProfileDialect = { [K in ProfileKind]: ProfileSql<K> | undefined };

export interface ProfileStatement {
  sql: string;
  /** the answers, from the statement's one row of values (numbers in any form; NULL counts as 0) */
  answers(row: unknown[]): ProfileAnswer[];
}

/**
 * The statements that answer a table's asks: one scan of `from` (the table, quoted) for all
 * aggregates, one statement per other ask. Asks the dialect does not answer are left out.
 */
export function profileStatements(asks: ProfileAsk[], from: string, dialect: ProfileDialect): ProfileStatement[] {
  const scan = asks.filter((ask) => dialect[ask.kind]?.aggregate === true);
  const own = asks.filter((ask) => dialect[ask.kind]?.aggregate === false);
  const statement = (group: ProfileAsk[], tail: string): ProfileStatement => {
    const fields = group.map((ask) => fieldsOf(dialect, ask));
    return {
      sql: `SELECT ${fields.flatMap((f) => f.map(([, expr]) => expr)).join(', ')}${tail}`,
      answers(row) {
        let at = 0;
        return group.map((ask, i) => {
          const answer: Record<string, number> = {};
          for (const [name] of fields[i]!) answer[name] = Number(row[at++] ?? 0);
          return { ask, answer } as ProfileAnswer;
        });
      },
    };
  };
  return [...(scan.length > 0 ? [statement(scan, ` FROM ${from}`)] : []), ...own.map((ask) => statement([ask], ''))];
}

/** The answer's fields of an ask and their SQL, in a fixed order. */
function fieldsOf(dialect: ProfileDialect, ask: ProfileAsk): [string, string][] {
  const sql = dialect[ask.kind] as ProfileSql<ProfileKind>;
  return Object.entries(sql.fields(ask as never));
}

/**
 * The count of orphan rows in any of the engines' SQL: rows of `child` whose key columns are
 * all set (a NULL in any of them is not checked, as MATCH SIMPLE) with no row of `parent` to match.
 */
export function orphanCountSql(fk: ForeignKey, child: string, parent: string, quote: (name: string) => string): string {
  const set = fk.columns.map((c) => `c.${quote(c)} IS NOT NULL`).join(' AND ');
  const match = fk.columns.map((c, i) => `p.${quote(fk.refColumns[i]!)} = c.${quote(c)}`).join(' AND ');
  return `(SELECT count(*) FROM ${child} c WHERE ${set} AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE ${match}))`;
}
