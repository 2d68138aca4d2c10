// A postgres:// URL as node-postgres settings, and the session every connection starts with.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { nodeTlsOptions, tlsSettings } from '../../core/tls.js';
import { redactUrl } from '../../core/url.js';
import { connectError, type Endpoint } from './errors.js';
import { quoteIdent } from './sql.js';

export interface PgEndpoint {
  config: pg.ClientConfig;
  endpoint: Endpoint;
  /** where unqualified tables are found and created */
  schema: string;
}

const KNOWN_PARAMS = new Set([
  'sslmode',
  'sslrootcert',
  'schema',
  'host',
  'port',
  'user',
  'password',
  'connect_timeout',
  'application_name',
]);

/** Silence on a connection after which the system probes the peer (then every second, ten times). */
export const KEEPALIVE_IDLE_MS = 30_000;

export function parsePgUrl(url: string): PgEndpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FerryError(
      'URL_INVALID',
      `cannot read the PostgreSQL URL ${redactUrl(url)}`,
      'write it as postgres://user:password@host:5432/database',
    );
  }
  const q = u.searchParams;
  for (const key of q.keys())
    if (!KNOWN_PARAMS.has(key))
      throw new FerryError(
        'URL_INVALID',
        `unknown parameter "${key}" in ${redactUrl(url)}`,
        `use only ${[...KNOWN_PARAMS].join(', ')}`,
      );
  const host = q.get('host') ?? (decodeURIComponent(u.hostname).replace(/^\[|\]$/g, '') || 'localhost');
  const port = Number(q.get('port') ?? (u.port || 5432));
  const user = q.get('user') ?? (decodeURIComponent(u.username) || process.env.PGUSER || 'postgres');
  const password = q.get('password') ?? (u.password ? decodeURIComponent(u.password) : process.env.PGPASSWORD);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || user;
  const timeout = Number(q.get('connect_timeout') ?? 10);
  // libpq's parameters, environment variables and default CA file
  const tls = tlsSettings(
    {
      sslmode: q.get('sslmode') ?? process.env.PGSSLMODE,
      sslrootcert: q.get('sslrootcert') ?? process.env.PGSSLROOTCERT,
    },
    redactUrl(url),
    join(homedir(), '.postgresql', 'root.crt'),
  );
  return {
    config: {
      host,
      port,
      user,
      password,
      database,
      ssl: tls ? nodeTlsOptions(tls) : false,
      application_name: q.get('application_name') ?? 'ferry',
      connectionTimeoutMillis: timeout * 1000,
      // probes after 30 s of silence (the system's default waits two hours): a server whose
      // machine vanished ends its connections in about 40 s
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    },
    endpoint: { host, port, user, database, tls },
    schema: q.get('schema') ?? 'public',
  };
}

/**
 * Settings every ferry session runs with: values read as text (casts of unknown types) are
 * in UTC, ISO formats and full float precision; literals are standard strings; and, as
 * pg_dump does, no timeout a role may carry cuts a long COPY or an idle snapshot short.
 */
export function sessionSql(schema: string): string {
  return [
    'SET statement_timeout = 0',
    'SET lock_timeout = 0',
    'SET idle_in_transaction_session_timeout = 0',
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'iso_8601'",
    'SET extra_float_digits = 3',
    "SET client_encoding = 'UTF8'",
    'SET standard_conforming_strings = on',
    `SET search_path = ${quoteIdent(schema)}, public`,
  ].join('; ');
}

/**
 * Connections of a pool, each set up with the session settings before its first use. pg-pool
 * listens for errors of idle connections only: a connection that drops while checked out (a
 * server restart in the middle of a chunk) emits 'error' on the client, which must be heard.
 */
export function sessionPool(pool: pg.Pool, at: PgEndpoint, log: Logger): () => Promise<pg.PoolClient> {
  const ready = new WeakSet<pg.PoolClient>();
  const session = sessionSql(at.schema);
  return async () => {
    const client = await pool.connect().catch((e: unknown) => {
      throw connectError(e, at.endpoint);
    });
    if (!ready.has(client)) {
      watchErrors(client, log);
      try {
        await client.query(session);
      } catch (e) {
        client.release(true);
        throw connectError(e, at.endpoint);
      }
      ready.add(client);
    }
    return client;
  };
}

/**
 * Hears errors of a connection (a server restart) instead of letting them crash the process.
 * The operation that was using it fails on its own (and is retried or reported); an idle one
 * is dropped: the log says so at info level only.
 */
export function watchErrors(emitter: { on(event: 'error', fn: (e: Error) => void): unknown }, log: Logger): void {
  emitter.on('error', (e) => log.info({ err: e.message }, 'PostgreSQL connection error'));
}
