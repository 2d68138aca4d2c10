// Live changes into SQLite (Target.applyChanges): a call's steps (core/apply.ts) as prepared
// statements with values bound as a chunk's INSERT binds them, in one IMMEDIATE transaction
// on the writing connection that ends by storing the position.
import { applySteps, keyColumnIndexes, POSITIONS_TABLE, type RowUpdate } from '../../core/apply.js';
import type { AppliedChange, TargetTable } from '../../core/contracts.js';
import type { Codec } from './codec.js';
import { toFerryError, type Db } from './db.js';
import { columnEncoders, insertHead, rowTuple, TupleStatement } from './insert.js';
import { ident } from './sql.js';

type Statement = ReturnType<Db['prepare']>;

const POSITIONS = ident(POSITIONS_TABLE);

/** One table's statements on the writing connection, prepared as they are first needed. */
class TableStatements {
  private readonly name: string;
  private readonly columns: string[];
  private readonly encoders: (Codec | undefined)[];
  private readonly keys: number[];
  private readonly conflict: string;
  private upsert?: TupleStatement;
  private delete?: TupleStatement;
  private readonly byText = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly table: TargetTable,
  ) {
    this.name = ident(table.name);
    this.columns = table.columns.map((c) => ident(c.name));
    this.encoders = columnEncoders(table);
    this.keys = keyColumnIndexes(table);
    this.conflict = ` ON CONFLICT (${this.keys.map((i) => this.columns[i]!).join(', ')})`;
  }

  private bound(column: number, v: unknown): unknown {
    const encode = this.encoders[column];
    return v === null || v === undefined ? null : encode ? encode(v) : v;
  }

  private prepared(sql: string): Statement {
    let s = this.byText.get(sql);
    if (!s) this.byText.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  upserts(rows: unknown[][]): void {
    if (!this.upsert) {
      const others = this.columns.filter((_, i) => !this.keys.includes(i));
      const action = others.length
        ? `DO UPDATE SET ${others.map((c) => `${c} = excluded.${c}`).join(', ')}`
        : 'DO NOTHING';
      this.upsert = new TupleStatement(
        this.db,
        insertHead(this.table),
        rowTuple(this.table),
        `${this.conflict} ${action}`,
        this.encoders,
      );
    }
    this.upsert.run(rows);
  }

  deletes(keys: unknown[][]): void {
    if (!this.delete) {
      const single = this.keys.length === 1;
      const head = single
        ? `DELETE FROM ${this.name} WHERE ${this.columns[this.keys[0]!]} IN (`
        : `DELETE FROM ${this.name} WHERE (${this.keys.map((i) => this.columns[i]!).join(', ')}) IN (VALUES `;
      const tuple = single ? '?' : `(${this.keys.map(() => '?').join(', ')})`;
      this.delete = new TupleStatement(
        this.db,
        head,
        tuple,
        ')',
        this.keys.map((i) => this.encoders[i]),
      );
    }
    this.delete.run(keys);
  }

  /** The cases of RowUpdate, each a statement that does nothing when its case is not the target's. */
  update(u: RowUpdate): void {
    const match = this.keys.map((i) => `${this.columns[i]} = ?`).join(' AND ');
    const key = (k: unknown[]) => k.map((v, j) => this.bound(this.keys[j]!, v));
    const set = u.carried.map((i) => `${this.columns[i]} = ?`).join(', ');
    const values = u.carried.map((i) => this.bound(i, u.row[i]));
    if (!u.moved) {
      if (set) this.prepared(`UPDATE ${this.name} SET ${set} WHERE ${match}`).run([...values, ...key(u.key)]);
      return;
    }
    // a row of the new key came with a later copy: it stays, and the old one goes first (its unique values with it)
    this.prepared(`DELETE FROM ${this.name} WHERE ${match} AND EXISTS (SELECT 1 FROM ${this.name} WHERE ${match})`).run(
      [...key(u.key), ...key(u.newKey)],
    );
    this.prepared(`UPDATE ${this.name} SET ${set} WHERE ${match}`).run([...values, ...key(u.newKey)]);
    this.prepared(`UPDATE ${this.name} SET ${set} WHERE ${match}`).run([...values, ...key(u.key)]);
    if (u.whole)
      this.prepared(`${insertHead(this.table)}${rowTuple(this.table)}${this.conflict} DO NOTHING`).run(
        u.row.map((v, i) => this.bound(i, v)),
      );
  }
}

/** Applies changes on the writing connection; the caller runs it among the target's other writes. */
export class SqliteApply {
  private readonly tables = new WeakMap<TargetTable, TableStatements>();

  private statements(db: Db, table: TargetTable): TableStatements {
    let s = this.tables.get(table);
    if (!s) this.tables.set(table, (s = new TableStatements(db, table)));
    return s;
  }

  applyChanges(db: Db, changes: AppliedChange[], stream: string, position: string): void {
    const steps = applySteps(changes);
    let table: string | undefined;
    try {
      db.exec('BEGIN IMMEDIATE');
      // in the transaction: a table made by a call that failed goes with it
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${POSITIONS} (stream TEXT NOT NULL PRIMARY KEY, position TEXT NOT NULL, applied_at TEXT NOT NULL)`,
      );
      for (const step of steps) {
        table = step.table.name;
        const s = this.statements(db, step.table);
        if (step.op === 'upsert') s.upserts(step.rows);
        else if (step.op === 'delete') s.deletes(step.keys);
        else s.update(step.update);
      }
      table = undefined;
      db.prepare(
        `INSERT INTO ${POSITIONS} (stream, position, applied_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) ` +
          'ON CONFLICT (stream) DO UPDATE SET position = excluded.position, applied_at = excluded.applied_at',
      ).run(stream, position);
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw toFerryError(err, 'WRITE_FAILED', table ? `applying changes to table ${table}` : 'applying changes');
    }
  }

  appliedPosition(db: Db, stream: string): string | undefined {
    try {
      const found = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(POSITIONS_TABLE);
      if (!found) return undefined;
      return db.prepare(`SELECT position FROM ${POSITIONS} WHERE stream = ?`).pluck().get(stream) as string | undefined;
    } catch (err) {
      throw toFerryError(err, 'READ_FAILED', `reading the applied position of stream ${stream}`);
    }
  }
}
