// The SQL text of live changes (core/apply.ts) for targets that send values as literals
// (PostgreSQL, MySQL): the statements of each step, and the queries one call sends. No
// statement needs an answer before the next one (a moved row's cases are told apart by the
// statements' own conditions), so a call's statements go to the server together.
import { applySteps, keyColumnIndexes, type ApplyStep, type RowUpdate } from './apply.js';
import type { AppliedChange, TargetTable } from './contracts.js';

/** What differs between the engines. Names given to it are quoted already. */
export interface ChangeDialect {
  ident(name: string): string;
  tableName(table: TargetTable): string;
  /** the SQL literal of each column's (non-NULL) values, as the engine's chunk writes them */
  literals(table: TargetTable): ((v: unknown) => string)[];
  /** what follows INSERT … VALUES … to replace the row of a key with the row inserted */
  replacing(keys: string[], others: string[]): string;
  /** what follows INSERT … VALUES … to leave the row of a key as it is */
  keeping(keys: string[]): string;
  /** a DELETE of the row `old` matches (with `o.` before its columns) when a row `now` matches (with `n.`) is there */
  deleteWhenBoth(table: string, old: (alias: string) => string, now: (alias: string) => string): string;
}

/** One table's statements. */
class TableStatements {
  private readonly name: string;
  private readonly columns: string[];
  private readonly literals: ((v: unknown) => string)[];
  private readonly keys: number[];
  private readonly insertHead: string;
  private readonly replacing: string;
  private readonly keeping: string;

  constructor(
    table: TargetTable,
    private readonly dialect: ChangeDialect,
    private readonly maxChars: number,
  ) {
    this.name = dialect.tableName(table);
    this.columns = table.columns.map((c) => dialect.ident(c.name));
    this.literals = dialect.literals(table);
    this.keys = keyColumnIndexes(table);
    this.insertHead = `INSERT INTO ${this.name} (${this.columns.join(', ')}) VALUES `;
    const keys = this.keys.map((i) => this.columns[i]!);
    this.replacing = dialect.replacing(
      keys,
      this.columns.filter((_, i) => !this.keys.includes(i)),
    );
    this.keeping = dialect.keeping(keys);
  }

  private literal(column: number, v: unknown): string {
    return v === null || v === undefined ? 'NULL' : this.literals[column]!(v);
  }

  private tuple(row: unknown[]): string {
    return `(${row.map((v, i) => this.literal(i, v)).join(', ')})`;
  }

  /** "key columns = values", the columns after `alias` */
  private match(key: unknown[], alias = ''): string {
    return key
      .map((v, k) => `${alias}${this.columns[this.keys[k]!]} = ${this.literal(this.keys[k]!, v)}`)
      .join(' AND ');
  }

  /** Statements over `items`, of about maxChars at most each (one item at least). */
  private grouped<T>(items: T[], text: (item: T) => string, statement: (texts: string[]) => string): string[] {
    const out: string[] = [];
    let texts: string[] = [];
    let chars = 0;
    for (const item of items) {
      const t = text(item);
      if (chars > 0 && chars + t.length > this.maxChars) {
        out.push(statement(texts));
        texts = [];
        chars = 0;
      }
      texts.push(t);
      chars += t.length + 4;
    }
    if (texts.length > 0) out.push(statement(texts));
    return out;
  }

  upserts(rows: unknown[][]): string[] {
    return this.grouped(
      rows,
      (r) => this.tuple(r),
      (tuples) => this.insertHead + tuples.join(', ') + this.replacing,
    );
  }

  deletes(keys: unknown[][]): string[] {
    const single = this.keys.length === 1;
    return this.grouped(
      keys,
      (k) => (single ? this.literal(this.keys[0]!, k[0]) : `(${this.match(k)})`),
      (list) =>
        `DELETE FROM ${this.name} WHERE ${single ? `${this.columns[this.keys[0]!]} IN (${list.join(', ')})` : list.join(' OR ')}`,
    );
  }

  /** The cases of RowUpdate, each a statement that does nothing when its case is not the target's. */
  update(u: RowUpdate): string[] {
    const set = u.carried.map((i) => `${this.columns[i]} = ${this.literal(i, u.row[i])}`).join(', ');
    if (!u.moved) return set ? [`UPDATE ${this.name} SET ${set} WHERE ${this.match(u.key)}`] : [];
    const out = [
      // a row of the new key came with a later copy: it stays, and the old one goes first (its unique values with it)
      this.dialect.deleteWhenBoth(
        this.name,
        (alias) => this.match(u.key, alias),
        (alias) => this.match(u.newKey, alias),
      ),
      `UPDATE ${this.name} SET ${set} WHERE ${this.match(u.newKey)}`,
      `UPDATE ${this.name} SET ${set} WHERE ${this.match(u.key)}`,
    ];
    if (u.whole) out.push(this.insertHead + this.tuple(u.row) + this.keeping);
    return out;
  }
}

/** The queries of calls to applyChanges, for one target. */
export class ChangeQueries {
  private readonly tables = new WeakMap<TargetTable, TableStatements>();

  constructor(
    private readonly dialect: ChangeDialect,
    /** query size, in UTF-16 units */
    private readonly maxChars: number,
  ) {}

  private statementsOf(step: ApplyStep): string[] {
    let table = this.tables.get(step.table);
    if (!table) this.tables.set(step.table, (table = new TableStatements(step.table, this.dialect, this.maxChars)));
    if (step.op === 'upsert') return table.upserts(step.rows);
    if (step.op === 'delete') return table.deletes(step.keys);
    return table.update(step.update);
  }

  /**
   * The queries of one call: `begin`, the changes' statements, `position` (the statement that
   * stores it) and COMMIT, joined by ";" into queries of about maxChars at most.
   */
  of(changes: AppliedChange[], begin: string, position: string): string[] {
    const statements = [begin, ...applySteps(changes).flatMap((step) => this.statementsOf(step)), position, 'COMMIT'];
    const queries: string[] = [];
    let query = '';
    for (const s of statements) {
      if (query && query.length + s.length > this.maxChars) {
        queries.push(query);
        query = s;
      } else query = query ? `${query};\n${s}` : s;
    }
    queries.push(query);
    return queries;
  }
}
