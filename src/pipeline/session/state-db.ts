// The checkpoint store's SQLite file, opened and checked, with every failure of its file (a
// full disk, a folder this user cannot write, a file that is damaged or cut short) one line
// that names it, whichever statement meets it: the store's statements go through here.
import Database from 'better-sqlite3';
import { FerryError } from '../../core/errors.js';
import { fileError } from '../../core/files.js';
import { OTHER_STATE_FOLDER } from './private-files.js';

/** What the store asks of a prepared statement. */
export interface StateStatement {
  run(...params: unknown[]): Database.RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  /** the first column of each row only */
  pluck(): StateStatement;
}

/** What the store asks of its database. */
export interface StateDb {
  prepare(sql: string): StateStatement;
  exec(sql: string): void;
  /** `fn` in one transaction: a function that runs it */
  transaction(fn: () => void): () => void;
  close(): void;
}

const DAMAGED = /^SQLITE_(CORRUPT|NOTADB)/;
const FILE_FAULT = /^SQLITE_(FULL|READONLY|CANTOPEN|IOERR|PERM)/;

/** A failure of the state file as one line; any other error (a bug, a lock wait) as it is. */
function stateFault(file: string, err: unknown): unknown {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string') return err;
  if (DAMAGED.test(code)) return damaged(file, (err as Error).message);
  if (FILE_FAULT.test(code)) return fileError(err, `the state file ${file}`, OTHER_STATE_FOLDER);
  return err;
}

function damaged(file: string, why: string): FerryError {
  return new FerryError(
    'STATE_DAMAGED',
    `the state file ${file} is damaged (${why})`,
    'put back a copy of it, or move the state folder away to start afresh (the next run then prepares the target tables again as target.ifExists says)',
  );
}

function guarded<A extends unknown[], R>(file: string, fn: (...a: A) => R): (...a: A) => R {
  return (...a) => {
    try {
      return fn(...a);
    } catch (e) {
      throw stateFault(file, e);
    }
  };
}

function statement(file: string, s: Database.Statement): StateStatement {
  const wrapped: StateStatement = {
    run: guarded(file, (...p: unknown[]) => s.run(...p)),
    get: guarded(file, (...p: unknown[]) => s.get(...p)),
    all: guarded(file, (...p: unknown[]) => s.all(...p)),
    pluck: () => (s.pluck(), wrapped),
  };
  return wrapped;
}

/**
 * Opens (and makes, when missing) the state file in WAL mode and checks it whole
 * (`quick_check`: a file cut short or overwritten is found here, before a command relies on it).
 */
export function openStateDb(file: string): StateDb {
  const db = guarded(file, () => {
    const opened = new Database(file);
    try {
      // the wait first: two commands opening one state file at once both switch it to WAL
      opened.pragma('busy_timeout = 10000');
      opened.pragma('journal_mode = WAL');
      opened.pragma('synchronous = FULL');
      const check = opened.pragma('quick_check', { simple: true }) as string;
      if (check !== 'ok') throw damaged(file, check.replace(/\s*\n\s*/g, '; '));
      return opened;
    } catch (e) {
      opened.close();
      throw e;
    }
  })();
  return {
    prepare: guarded(file, (sql: string) => statement(file, db.prepare(sql))),
    exec: guarded(file, (sql: string) => void db.exec(sql)),
    transaction: (fn) => guarded(file, db.transaction(fn)),
    close: () => db.close(),
  };
}
