// Prepared statements over many rows: a chunk's INSERTs, and the upserts and deletes of live
// changes. Each is prepared for a full group of rows and for one row; values are bound as the
// codec encodes them.
import type { TargetTable } from '../../core/contracts.js';
import { encoder, type Codec } from './codec.js';
import type { Db } from './db.js';
import { ident, identList } from './sql.js';

// bound parameters per statement, within SQLite's oldest limit
const MAX_PARAMS = 999;
const MAX_ROWS_PER_STATEMENT = 100;

type Statement = ReturnType<Db['prepare']>;

/** `head`, then a tuple of parameters per row (joined by ", "), then `tail`. */
export class TupleStatement {
  private readonly width: number;
  private readonly groupRows: number;
  private readonly one: Statement;
  private readonly many: Statement;
  private readonly oneParams: unknown[];
  private readonly manyParams: unknown[];

  /** `encoders`: one per value of a row, in the tuple's order (undefined: bound as it is) */
  constructor(
    db: Db,
    head: string,
    tuple: string,
    tail: string,
    private readonly encoders: (Codec | undefined)[],
  ) {
    this.width = encoders.length;
    this.groupRows = Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(MAX_PARAMS / this.width)));
    this.one = db.prepare(head + tuple + tail);
    this.many = db.prepare(head + Array<string>(this.groupRows).fill(tuple).join(', ') + tail);
    this.oneParams = new Array<unknown>(this.width);
    this.manyParams = new Array<unknown>(this.width * this.groupRows);
  }

  run(rows: unknown[][]): void {
    const group = this.groupRows;
    let r = 0;
    for (; r + group <= rows.length; r += group) {
      this.bind(this.manyParams, rows, r, group);
      this.many.run(this.manyParams);
    }
    for (; r < rows.length; r++) {
      this.bind(this.oneParams, rows, r, 1);
      this.one.run(this.oneParams);
    }
  }

  private bind(params: unknown[], rows: unknown[][], from: number, count: number): void {
    const { encoders, width } = this;
    let j = 0;
    for (let r = from; r < from + count; r++) {
      const row = rows[r]!;
      for (let c = 0; c < width; c++) {
        const v = row[c];
        const encode = encoders[c];
        params[j++] = v === null || v === undefined ? null : encode ? encode(v) : v;
      }
    }
  }
}

/** The parameters of a row of a table's columns: "(?, ?, …)". */
export function rowTuple(table: TargetTable): string {
  return `(${table.columns.map(() => '?').join(', ')})`;
}

/** "INSERT INTO table (columns) VALUES " */
export function insertHead(table: TargetTable): string {
  return `INSERT INTO ${ident(table.name)} (${identList(table.columns.map((c) => c.name))}) VALUES `;
}

export function columnEncoders(table: TargetTable): (Codec | undefined)[] {
  return table.columns.map((c) => encoder(c.type));
}

/** Prepared INSERTs of a table's rows. */
export class Inserter {
  private readonly statement: TupleStatement;

  constructor(
    private readonly db: Db,
    table: TargetTable,
  ) {
    this.statement = new TupleStatement(db, insertHead(table), rowTuple(table), '', columnEncoders(table));
  }

  insert(rows: unknown[][]): void {
    this.statement.run(rows);
  }

  /** Inserts a group under a savepoint, leaving nothing behind when a row is refused. */
  insertOrUndo(rows: unknown[][]): void {
    this.db.exec('SAVEPOINT ferry_group');
    try {
      this.insert(rows);
      this.db.exec('RELEASE ferry_group');
    } catch (err) {
      this.db.exec('ROLLBACK TO ferry_group');
      this.db.exec('RELEASE ferry_group');
      throw err;
    }
  }
}
