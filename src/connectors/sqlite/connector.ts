// The SQLite connector (better-sqlite3): a file as source or target, sqlite:path URLs.
import type {
  Capabilities,
  ConnectOptions,
  Connector,
  NativeTypeChoice,
  PrivilegeNeeds,
  QueryResult,
  Source,
  Target,
} from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { CanonicalType, Finding, SchemaInfo } from '../../core/types.js';
import { sqlitePath } from '../../core/url.js';
import { Connections, toFerryError } from './db.js';
import { introspectDb } from './introspect.js';
import { privileges } from './privileges.js';
import { explain, runQuery } from './queries.js';
import { SqliteSource } from './source.js';
import { SqliteTarget } from './target.js';
import { canonicalType, nativeType } from './typemap.js';

class SqliteConnector implements Connector {
  readonly kind = 'sqlite';
  readonly capabilities: Capabilities = {
    // integers (uint64 past int64 as padded text, after every integer), dates and timestamps
    // as canonical text sort as in every engine; decimals kept as text sort as text, so not them
    portableKeyKinds: ['int', 'year', 'date', 'timestamp'],
    looseValues: true,
    looseBooleans: true,
    // its keys are declared with the table and checked after the data: a NOT VALID one is not checked
    notValidForeignKeys: true,
    // names ignore case; "sqlite_" starts only SQLite's own tables and indexes, which share one namespace
    names: {
      table: { foldCase: true, reservedStart: /^sqlite_/i },
      column: { foldCase: true },
      index: { foldCase: true, reservedStart: /^sqlite_/i },
      constraint: { foldCase: true },
      indexesPerDatabase: true,
      indexesShareTableNames: true,
    },
  };
  private readonly conns: Connections;
  private sourceSide?: SqliteSource;
  private targetSide?: SqliteTarget;

  constructor(
    path: string,
    private readonly log: Logger,
  ) {
    this.conns = new Connections(path);
  }

  async introspect(filter?: { tables?: string[] }): Promise<SchemaInfo> {
    const db = this.conns.read();
    try {
      return introspectDb(db, this.conns.path, filter);
    } catch (err) {
      throw toFerryError(err, 'READ_FAILED', `reading the schema of ${this.conns.path}`);
    }
  }

  async privileges(needs: PrivilegeNeeds): Promise<Finding[]> {
    return privileges(this.conns.path, this.conns.memory, needs);
  }

  nativeType(t: CanonicalType): NativeTypeChoice {
    return {
      native: nativeType(t),
      ...(t.kind === 'geometry'
        ? {
            note: "SQLite has no geometry type: stored as WKB (PostGIS's EWKB, with the SRID); make the type TEXT in the plan for WKT",
          }
        : {}),
    };
  }

  canonicalType(native: string): CanonicalType {
    return canonicalType(native);
  }

  async runQuery(sql: string): Promise<QueryResult> {
    return runQuery(this.conns.read(), sql);
  }

  async explain(sql: string): Promise<string> {
    return explain(this.conns.read(), sql);
  }

  source(): Source {
    this.sourceSide ??= new SqliteSource(this.conns);
    return this.sourceSide;
  }

  target(): Target {
    this.targetSide ??= new SqliteTarget(this.conns, this.log);
    return this.targetSide;
  }

  async close(): Promise<void> {
    this.conns.close();
  }
}

/** Opens the connector (the folder's factory in index.ts calls this). */
export async function connect(opts: ConnectOptions): Promise<Connector> {
  const path = sqlitePath(opts.url);
  if (path.trim() === '')
    throw new FerryError(
      'URL_INVALID',
      'the sqlite: URL names no database file',
      'use sqlite:relative/path.db, sqlite:///absolute/path.db or sqlite::memory:',
    );
  return new SqliteConnector(path, opts.log);
}
