// The SQLite source: one read transaction on a connection of its own is the consistent view.
// In WAL mode it sees the database as of its first read while other connections keep writing.
// In rollback-journal mode the view's shared lock keeps every writer from committing until
// it is released (writers wait for their busy timeout, then fail with SQLITE_BUSY).
import type { ReadView, Source, SourceTable } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { profileStatements, type ProfileAnswer, type ProfileAsk, type ProfileTable } from '../../core/profile.js';
import { filterProblem } from '../../core/sql-filter.js';
import type { KeyRange, RowBatch } from '../../core/types.js';
import { toFerryError, type Connections, type Db } from './db.js';
import { profileDialect } from './profile.js';
import { countRows, readRows, splitRanges } from './read.js';
import { ident, rangeFilter } from './sql.js';

class SqliteView implements ReadView {
  /** SQLite reads on one thread: readers share this one connection, one after another */
  readonly parallelism = 1;
  private released = false;

  constructor(
    private readonly connection: Db,
    private readonly conns: Connections,
  ) {}

  get db(): Db {
    if (this.released) throw new FerryError('INTERNAL', 'a released SQLite read view was used', 'report this as a bug');
    return this.connection;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    // closing the connection ends its reads and its read transaction
    this.conns.closeView(this.connection);
  }
}

function dbOf(view: ReadView): Db {
  if (!(view instanceof SqliteView))
    throw new FerryError(
      'INTERNAL',
      'the SQLite source was given a read view of another connector',
      'report this as a bug',
    );
  return view.db;
}

export class SqliteSource implements Source {
  constructor(private readonly conns: Connections) {}

  async snapshot(_parallelism: number): Promise<ReadView> {
    const db = this.conns.openView();
    // a private in-memory database has no other writer to be isolated from
    if (!this.conns.memory) {
      db.exec('BEGIN');
      // the first read fixes the snapshot
      db.prepare('SELECT count(*) FROM sqlite_schema').get();
    }
    return new SqliteView(db, this.conns);
  }

  async split(table: SourceTable, rowsPerChunk: number, view: ReadView, within?: KeyRange): Promise<KeyRange[]> {
    return splitRanges(dbOf(view), table, rowsPerChunk, within);
  }

  async *read(table: SourceTable, range: KeyRange, view: ReadView, batchRows: number): AsyncIterable<RowBatch> {
    yield* readRows(dbOf(view), table, range, batchRows);
  }

  async checkWhere(table: SourceTable): Promise<string | undefined> {
    const problem = filterProblem(table.where ?? '', 'sqlite');
    if (problem) return problem;
    try {
      // compiled on a read-only connection, never run
      this.conns
        .read()
        .prepare(`SELECT 1 FROM ${ident(table.name)}${rangeFilter({ ...table, key: [], columns: [] }, {}).sql}`);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  async profile(table: ProfileTable, asks: ProfileAsk[]): Promise<ProfileAnswer[]> {
    const db = this.conns.read();
    try {
      return profileStatements(asks, ident(table.name), profileDialect(table)).flatMap((s) =>
        s.answers(db.prepare(s.sql).raw().get() as unknown[]),
      );
    } catch (err) {
      throw toFerryError(err, 'READ_FAILED', `measuring the data of ${table.name}`);
    }
  }

  async count(table: SourceTable, range: KeyRange, view: ReadView): Promise<number> {
    return countRows(dbOf(view), table, range);
  }
}
