// Connections to one SQLite file, SQLite errors as FerryErrors, and a queue for writes.
//
// better-sqlite3 is synchronous and SQLite has one writer at a time, so a target writes
// through one connection and its writes run one after another (a transaction stays open
// while the batches of a chunk arrive). Reads use other, read-only connections: in WAL mode
// they see committed data only and never wait for the writer.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { fileError } from '../../core/files.js';
import { FerryError, type ErrorCode } from '../../core/errors.js';

export type Db = Database.Database;

const BUSY_TIMEOUT_MS = 10_000;
// small page caches and no memory map: ferry streams, and its memory must not grow with the database
const CACHE_KIB = 8192;

interface SqliteErrorLike {
  code?: unknown;
  message: string;
}

function sqliteCode(err: unknown): string {
  const code = (err as SqliteErrorLike | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** A SQLite error as a FerryError: `context` says what was being done ("writing table x"). */
export function toFerryError(err: unknown, code: ErrorCode, context: string): FerryError {
  if (err instanceof FerryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const missing = /^no such table: (.+)$/.exec(message);
  if (missing)
    return new FerryError(
      'TABLE_NOT_FOUND',
      `${context}: table ${missing[1]} does not exist`,
      'check the table name in the plan, or run ferry plan again',
      { cause: err },
    );
  const sqlite = sqliteCode(err);
  const transient = sqlite.startsWith('SQLITE_BUSY') || sqlite.startsWith('SQLITE_LOCKED');
  const action = transient
    ? 'another connection holds a lock on the database; the chunk is retried'
    : code === 'WRITE_FAILED'
      ? 'fix the rows or the target table; run the chunk isolated to have SQLite name the rows it refuses'
      : 'check the table, its columns and the row filter in the plan';
  return new FerryError(code, `${context}: ${message.split('\n')[0]}`, action, { transient, cause: err });
}

function probe(db: Db, path: string): Db {
  try {
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    return db;
  } catch (err) {
    db.close();
    if (sqliteCode(err) === 'SQLITE_NOTADB')
      throw new FerryError('CONNECT_FAILED', `${path} is not a SQLite database`, 'check the path in the sqlite: URL', {
        cause: err,
      });
    throw toFerryError(err, 'CONNECT_FAILED', `opening ${path}`);
  }
}

function open(path: string, options: Database.Options): Db {
  try {
    const db = new Database(path, { timeout: BUSY_TIMEOUT_MS, ...options });
    // 64-bit integers stay exact; the codecs narrow the smaller ones
    db.defaultSafeIntegers(true);
    return probe(db, path);
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw new FerryError(
      'CONNECT_FAILED',
      `cannot open SQLite database ${path}: ${(err as Error).message}`,
      'check that the path is a file ferry may read (and, for a target, write)',
      { cause: err },
    );
  }
}

/** A statement iterator a read holds open between batches; `ended` when its connection had to end it. */
export interface OpenRead {
  rows: IterableIterator<unknown[]>;
  ended: boolean;
}

// while an iterator is open its connection can neither end a transaction nor close
const openReads = new WeakMap<Db, Set<OpenRead>>();

export function trackRead(db: Db, rows: IterableIterator<unknown[]>): OpenRead {
  const read = { rows, ended: false };
  let reads = openReads.get(db);
  if (!reads) openReads.set(db, (reads = new Set()));
  reads.add(read);
  return read;
}

export function untrackRead(db: Db, read: OpenRead): void {
  openReads.get(db)?.delete(read);
}

/** Ends the reads still open on a connection, then closes it. */
function closeConnection(db: Db): void {
  for (const read of openReads.get(db) ?? []) {
    read.ended = true;
    read.rows.return?.();
  }
  openReads.delete(db);
  db.close();
}

/** The connections of one database file (or of one private in-memory database). */
export class Connections {
  readonly path: string;
  readonly memory: boolean;
  private reader?: Db;
  private writer?: Db;
  private shared?: Db;
  private readonly views = new Set<Db>();

  constructor(path: string) {
    this.memory = path === ':memory:';
    this.path = this.memory ? path : resolve(path);
  }

  /** An in-memory database exists once, so every role shares its one connection. */
  private memoryDb(): Db {
    if (!this.shared) {
      this.shared = open(':memory:', {});
      this.shared.pragma('foreign_keys = OFF');
    }
    return this.shared;
  }

  /** For catalog reads, counts and read-back: an existing file, read-only. */
  read(): Db {
    if (this.memory) return this.memoryDb();
    this.reader ??= this.openReadOnly();
    return this.reader;
  }

  /** The one writing connection; creates the file (and its folder), in WAL mode, if missing. */
  write(): Db {
    if (this.memory) return this.memoryDb();
    if (!this.writer) {
      const created = !existsSync(this.path);
      if (created) this.makeFolder();
      const db = open(this.path, {});
      if (created) db.pragma('journal_mode = WAL');
      // FKs are declared with the table but checked once the data is in (addForeignKeys)
      db.pragma('foreign_keys = OFF');
      // a chunk counts as done once committed: make every commit durable
      db.pragma('synchronous = FULL');
      db.pragma(`cache_size = -${CACHE_KIB}`);
      db.pragma('temp_store = MEMORY');
      this.writer = db;
    }
    return this.writer;
  }

  /** Makes the database's folder (and its missing parents) if it is not there. */
  makeFolder(): void {
    try {
      mkdirSync(dirname(this.path), { recursive: true });
    } catch (err) {
      throw fileError(
        err,
        `cannot create the folder of SQLite database ${this.path}`,
        'check the path in the sqlite: URL',
      );
    }
  }

  /** A connection of its own for a read view (the caller starts its transaction). */
  openView(): Db {
    if (this.memory) return this.memoryDb();
    const db = this.openReadOnly();
    this.views.add(db);
    return db;
  }

  closeView(db: Db): void {
    if (this.memory || !this.views.delete(db)) return;
    closeConnection(db);
  }

  close(): void {
    for (const db of [...this.views, this.reader, this.writer, this.shared]) if (db) closeConnection(db);
    this.views.clear();
    this.reader = this.writer = this.shared = undefined;
  }

  private openReadOnly(): Db {
    if (!existsSync(this.path))
      throw new FerryError(
        'DATABASE_NOT_FOUND',
        `SQLite database ${this.path} does not exist`,
        'check the path in the sqlite: URL (ferry never creates a source database)',
      );
    const db = open(this.path, { readonly: true, fileMustExist: true });
    db.pragma(`cache_size = -${CACHE_KIB}`);
    return db;
  }
}

/** Runs async tasks one at a time, in the order they were queued. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
