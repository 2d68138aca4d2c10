// MySQL driver and server errors -> FerryError: what the user did (wrong password, unknown
// database), what retrying may fix (deadlocks, lost connections), and the server's reason.
import { FerryError } from '../../core/errors.js';
import { tlsError } from '../../core/tls.js';
import type { Endpoint } from './session.js';

interface DriverError {
  code?: string;
  errno?: number;
  sqlMessage?: string;
  message?: string;
  fatal?: boolean;
}

/** Lock waits, deadlocks and lost or killed connections: the same work may succeed on a retry. */
const TRANSIENT_ERRNOS = new Set([
  1205, // lock wait timeout
  1213, // deadlock
  1040, // too many connections
  1053, // server shutdown in progress
  1159, // net read timeout
  1161, // net write timeout
  1927, // connection killed (MariaDB)
  2006, // server has gone away
  2013, // lost connection during query
  4031, // disconnected by the server for inactivity (MySQL 8)
]);
const TRANSIENT_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

export type Activity = 'connect' | 'read' | 'write';

/** The server's reason on one line. */
export function reasonOf(err: unknown): string {
  const e = err as DriverError;
  const text = (e?.sqlMessage ?? e?.message ?? String(err)).replace(/\s+/g, ' ').trim();
  return e?.code && !e.code.startsWith('ER_') && !text.includes(e.code) ? `${text} (${e.code})` : text;
}

export function isTransient(err: unknown): boolean {
  const e = err as DriverError;
  return TRANSIENT_ERRNOS.has(e?.errno ?? 0) || TRANSIENT_CODES.has(e?.code ?? '');
}

/** The server ended the session: it shuts down, killed the connection, or dropped it as idle. */
const SESSION_ENDED_ERRNOS = new Set([1053, 1927, 4031]);

/** Whether the connection can no longer be used after this error (or the driver error it wraps). */
export function isFatal(err: unknown): boolean {
  const e = err as DriverError & { cause?: DriverError };
  return [e, e?.cause].some((x) => x?.fatal || SESSION_ENDED_ERRNOS.has(x?.errno ?? 0));
}

export function toFerryError(err: unknown, ep: Endpoint, activity: Activity, table?: string): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as DriverError;
  const where = `${ep.host}:${ep.port}`;
  const tls =
    activity === 'connect' ? tlsError(err, { engine: 'MySQL', host: ep.host, port: ep.port, tls: ep.tls }) : undefined;
  if (tls) return tls;
  switch (e?.errno) {
    case 1045:
      return new FerryError(
        'AUTH_FAILED',
        `MySQL refused the password for user ${ep.user}@${ep.host}`,
        'check the user and password of the endpoint URL (keep the password in ${env:NAME} or ${file:path})',
      );
    case 1698:
      // MariaDB's answer to a user it does not know that gives no password
      return new FerryError(
        'AUTH_FAILED',
        `MySQL refused user ${ep.user}@${ep.host}, which gave no password`,
        'check the user name, and give its password in the endpoint URL as ${env:NAME} or ${file:path}',
      );
    case 1044:
      return new FerryError(
        'AUTH_FAILED',
        `MySQL user ${ep.user} may not use database ${ep.database} on ${where}`,
        `GRANT the user access to ${ep.database}, or connect as another user`,
      );
    case 1049:
      return new FerryError(
        'DATABASE_NOT_FOUND',
        `database ${ep.database} does not exist on MySQL at ${where}`,
        `create it (CREATE DATABASE \`${ep.database}\`) or fix the database name in the endpoint URL`,
      );
    case 1146:
      return new FerryError(
        'TABLE_NOT_FOUND',
        table ? `table ${table} does not exist in MySQL database ${ep.database}` : reasonOf(err),
        'check the table name in the plan, or run ferry plan again to pick up the current tables',
      );
  }
  if (activity === 'connect' && UNREACHABLE_CODES.has(e?.code ?? '')) {
    // a server that restarts refuses connections for a while: a chunk retried later may get one
    return new FerryError(
      'CONNECT_FAILED',
      `cannot reach MySQL at ${where} (${e.code})`,
      'check the host and port of the endpoint URL and that the server accepts connections from this machine',
      { transient: true, cause: err },
    );
  }
  const code = activity === 'connect' ? 'CONNECT_FAILED' : activity === 'read' ? 'READ_FAILED' : 'WRITE_FAILED';
  const subject = table ? ` ${table}` : '';
  const transient = isTransient(err);
  return new FerryError(
    code,
    // a connect names the server: nothing else says which endpoint failed
    activity === 'connect'
      ? `cannot connect to MySQL at ${where}: ${reasonOf(err)}`
      : `MySQL ${activity}${subject} failed: ${reasonOf(err)}`,
    transient
      ? 'ferry retries this; if it persists, check the server'
      : 'fix the cause named by the server and run again',
    {
      transient,
      cause: err,
    },
  );
}
