// The PostgreSQL connector: source and target over node-postgres, COPY in binary both ways.
import pg from 'pg';
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
import type { CanonicalType, Finding, SchemaInfo } from '../../core/types.js';
import { parsePgUrl, sessionPool, watchErrors } from './config.js';
import { connectError, queryError } from './errors.js';
import { connectionRoom } from './connections.js';
import { introspect } from './introspect.js';
import { pgLock } from './lock.js';
import { watched } from './liveness.js';
import { privileges } from './privileges.js';
import { IDENTIFIER } from './sql.js';
import { explain, rankedStatements, runQuery } from './queries.js';
import { PgSource, type PgReadView, type PgSourceSettings } from './source.js';
import { PgTarget } from './target.js';
import { canonicalType, describeNative, nativeType } from './typemap.js';

const NO_POSTGIS =
  "PostGIS is not installed in this database: stored as WKB in bytea (PostGIS's EWKB, with the SRID); make the type text in the plan for WKT (SRID=4326;POINT(1 2)), or CREATE EXTENSION postgis first for geometry";

const CAPABILITIES: Capabilities = {
  // text and uuid are left out: their order depends on collation and storage in other engines
  portableKeyKinds: ['int', 'decimal', 'date', 'time', 'timestamp', 'year'],
  notValidForeignKeys: true,
  // an index is a relation of the schema, as a table is
  names: {
    // a dot in a target table's name names its schema (analytics.orders)
    table: { ...IDENTIFIER, invalid: /[\u0000.]/g },
    column: IDENTIFIER,
    index: IDENTIFIER,
    constraint: IDENTIFIER,
    indexesPerDatabase: true,
    indexesShareTableNames: true,
  },
};

class PostgresConnector implements Connector {
  readonly kind = 'postgres';
  readonly capabilities = CAPABILITIES;
  private readonly views = new Set<PgReadView>();
  private readonly sourceSide: PgSource;
  private readonly targetSide: PgTarget;

  private readonly connectPooled: () => Promise<pg.PoolClient>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly settings: PgSourceSettings,
    /** PostGIS is installed (its geometry type is on the search path) */
    private readonly postgis: boolean,
    private readonly liveness: Liveness,
  ) {
    this.connectPooled = sessionPool(pool, settings, settings.log);
    this.sourceSide = new PgSource(settings, this.views, this.connectPooled);
    this.targetSide = new PgTarget({
      connect: this.connectPooled,
      lock: (name, me) => pgLock(settings, name, me),
      schema: settings.schema,
      log: settings.log,
    });
  }

  async introspect(filter?: { tables?: string[] }): Promise<SchemaInfo> {
    const client = await this.connectPooled();
    try {
      return await introspect(client, this.settings.schema, filter);
    } catch (e) {
      throw queryError(e, 'READ_FAILED', 'cannot read the PostgreSQL catalog');
    } finally {
      client.release();
    }
  }

  async privileges(needs: PrivilegeNeeds): Promise<Finding[]> {
    const client = await this.connectPooled();
    try {
      return await privileges(client, this.settings.schema, needs);
    } catch (e) {
      throw queryError(
        e,
        'READ_FAILED',
        `cannot read the privileges of the account on PostgreSQL at ${this.settings.endpoint.host}:${this.settings.endpoint.port}`,
      );
    } finally {
      client.release();
    }
  }

  async connectionRoom(): Promise<ConnectionRoom> {
    const client = await this.connectPooled();
    try {
      return await connectionRoom(client, this.settings.endpoint);
    } catch (e) {
      throw queryError(
        e,
        'READ_FAILED',
        `cannot read the connection limits of PostgreSQL at ${this.settings.endpoint.host}:${this.settings.endpoint.port}`,
      );
    } finally {
      client.release();
    }
  }

  nativeType(t: CanonicalType): NativeTypeChoice {
    if (t.kind === 'geometry' && !this.postgis) return { native: 'bytea', note: NO_POSTGIS };
    return nativeType(t);
  }

  canonicalType(native: string): CanonicalType {
    return canonicalType(native);
  }

  ownType(native: string): boolean {
    return !describeNative(native).known;
  }

  largeObject(native: string): boolean {
    // bytea and text hold their values in the row (TOAST): only references into pg_largeobject
    return /^(lo|oid)$/i.test(native.trim());
  }

  runQuery(sql: string): Promise<QueryResult> {
    return runQuery(this.connectPooled, sql);
  }

  explain(sql: string): Promise<string> {
    return explain(this.connectPooled, sql);
  }

  rankedStatements(limit: number): Promise<RankedStatement[]> {
    return rankedStatements(this.connectPooled, limit);
  }

  source(): Source {
    return this.sourceSide;
  }

  target(): Target {
    return this.targetSide;
  }

  async close(): Promise<void> {
    this.liveness.stop();
    await Promise.all([...this.views].map((v) => v.release()));
    await this.pool.end();
  }
}

/** Opens the connector (the folder's factory in index.ts calls this). */
export async function connect(opts: ConnectOptions): Promise<Connector> {
  const at = parsePgUrl(opts.url);
  const { endpoint, schema } = at;
  const { config, liveness } = watched(at);
  const pool = new pg.Pool({ ...config, max: Math.max(1, opts.poolSize ?? 4) });
  watchErrors(pool, opts.log);
  let postgis: boolean;
  try {
    const client = await sessionPool(pool, { ...at, config }, opts.log)();
    try {
      postgis = (await client.query(`SELECT to_regtype('geometry') IS NOT NULL AS postgis`)).rows[0].postgis === true;
    } finally {
      client.release();
    }
  } catch (e) {
    liveness.stop();
    await pool.end().catch(() => {});
    throw connectError(e, endpoint);
  }
  return new PostgresConnector(pool, { config, endpoint, schema, log: opts.log }, postgis, liveness);
}
