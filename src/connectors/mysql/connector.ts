// The MySQL/MariaDB connector (mysql2): source and target.
import type {
  Capabilities,
  ConnectionRoom,
  ConnectOptions,
  Connector,
  NativeTypeChoice,
  PrivilegeNeeds,
  QueryResult,
  RankedStatement,
  Source,
  Target,
} from '../../core/contracts.js';
import type { Liveness } from '../../core/liveness.js';
import type { Logger } from '../../core/log.js';
import type { CanonicalType, Finding, SchemaInfo } from '../../core/types.js';
import { IDENTIFIER } from './sql.js';
import { connectionRoom } from './connections.js';
import { toFerryError } from './errors.js';
import { introspect, type ServerInfo } from './introspect.js';
import { watch } from './liveness.js';
import { privileges } from './privileges.js';
import { explain, rankedStatements, runQuery } from './queries.js';
import { parseEndpoint, run, SESSION, SessionPool } from './session.js';
import { MysqlSource } from './source.js';
import { MysqlTarget, type TargetTraits } from './target.js';
import { canonicalTypeOf, KEY_BYTES_PER_CHAR, KEY_LIMIT_BYTES, keyBytes, nativeTypeOf } from './typemap.js';

const CAPABILITIES: Capabilities = {
  zeroDates: true,
  looseBooleans: true,
  durations: true,
  // text collations, enum (ordered by position) and MariaDB's uuid (ordered by its time fields) differ from other engines
  portableKeyKinds: ['int', 'decimal', 'date', 'time', 'timestamp', 'year'],
  // InnoDB's index key prefix limit with the DYNAMIC row format, in utf8mb4
  keyLimit: { bytes: KEY_LIMIT_BYTES, bytesPerChar: KEY_BYTES_PER_CHAR, columnBytes: keyBytes },
  // a key added with foreign_key_checks off leaves the rows there unchecked; later writes are checked
  notValidForeignKeys: true,
  // table names ignore case too where the server's files do (lower_case_table_names, macOS,
  // Windows): a plan that runs on any server treats them so; foreign key names are InnoDB's, per database
  names: {
    table: IDENTIFIER,
    column: IDENTIFIER,
    index: IDENTIFIER,
    constraint: IDENTIFIER,
    constraintsPerDatabase: true,
  },
};

type Server = ServerInfo & TargetTraits;

function serverOf(version: string, maxPacket: number, localInfile: boolean, readCommitted: boolean): Server {
  const [major = 0] = (/^(\d+)\./.exec(version) ?? []).slice(1).map(Number);
  const mariadb = /mariadb/i.test(version);
  return {
    version,
    mariadb,
    maxPacket,
    localInfile,
    readCommitted,
    collation: mariadb ? 'utf8mb4_nopad_bin' : major >= 8 ? 'utf8mb4_0900_bin' : 'utf8mb4_bin',
  };
}

class MysqlConnector implements Connector {
  readonly kind = 'mysql';
  readonly capabilities = CAPABILITIES;
  private sourceSide?: MysqlSource;
  private targetSide?: MysqlTarget;

  constructor(
    private readonly pool: SessionPool,
    /** the connection live changes are applied on */
    private readonly applier: SessionPool,
    private readonly server: Server,
    private readonly log: Logger,
    private readonly liveness: Liveness,
  ) {}

  async connectionRoom(): Promise<ConnectionRoom> {
    try {
      return await this.pool.use((conn) => connectionRoom(conn, this.pool.ep));
    } catch (err) {
      throw toFerryError(err, this.pool.ep, 'read');
    }
  }

  async introspect(filter?: { tables?: string[] }): Promise<SchemaInfo> {
    try {
      return await this.pool.use((conn) => introspect(conn, this.server, filter));
    } catch (err) {
      throw toFerryError(err, this.pool.ep, 'read');
    }
  }

  async privileges(needs: PrivilegeNeeds): Promise<Finding[]> {
    const { ep } = this.pool;
    const context = {
      database: ep.database,
      mariadb: this.server.mariadb,
      localInfile: this.server.localInfile,
      insertsAsked: !ep.localInfile,
    };
    try {
      return await this.pool.use((conn) => privileges(conn, context, needs));
    } catch (err) {
      throw toFerryError(err, ep, 'read');
    }
  }

  nativeType(t: CanonicalType): NativeTypeChoice {
    return nativeTypeOf(t);
  }

  canonicalType(native: string): CanonicalType {
    return canonicalTypeOf(native);
  }

  largeObject(native: string): boolean {
    // up to 4 GiB a value; blob, text and their medium forms hold at most 16 MiB
    return /^long(blob|text)\b/i.test(native.trim());
  }

  runQuery(sql: string): Promise<QueryResult> {
    return runQuery(this.pool, sql);
  }

  explain(sql: string): Promise<string> {
    return explain(this.pool, sql);
  }

  rankedStatements(limit: number): Promise<RankedStatement[]> {
    return rankedStatements(this.pool, limit);
  }

  source(): Source {
    return (this.sourceSide ??= new MysqlSource(this.pool, this.log, (filter) => this.introspect(filter)));
  }

  target(): Target {
    return (this.targetSide ??= new MysqlTarget(this.pool, this.applier, this.server, this.log));
  }

  async close(): Promise<void> {
    this.liveness.stop();
    await Promise.all([this.pool.close(), this.applier.close()]);
  }
}

/** Opens the connector (the folder's factory in index.ts calls this). */
export async function connect(opts: ConnectOptions): Promise<Connector> {
  const ep = parseEndpoint(opts.url);
  const liveness = watch(ep);
  const pool = new SessionPool(ep, SESSION.target, Math.max(1, opts.poolSize ?? 4));
  try {
    const [row] = await pool.use((conn) =>
      run<
        {
          version: string;
          maxPacket: number | string;
          localInfile: number | string;
          logBin: number | string;
          binlogFormat: string;
        }[]
      >(
        conn,
        'SELECT VERSION() AS version, @@max_allowed_packet AS maxPacket, @@local_infile AS localInfile, @@log_bin AS logBin, @@binlog_format AS binlogFormat',
      ),
    );
    return new MysqlConnector(
      pool,
      // ferry's own statements, many in one query: a round trip per call, not per change
      new SessionPool(ep, SESSION.target, 1, true),
      serverOf(
        row!.version,
        Number(row!.maxPacket),
        ep.localInfile && Number(row!.localInfile) === 1,
        !(Number(row!.logBin) === 1 && row!.binlogFormat === 'STATEMENT'),
      ),
      opts.log,
      liveness,
    );
  } catch (err) {
    liveness.stop();
    await pool.close();
    throw toFerryError(err, ep, 'connect');
  }
}
