// PostgreSQL and socket errors as FerryErrors: one line, what to do, and whether a retry may help.
import { FerryError, type ErrorCode } from '../../core/errors.js';
import { redact } from '../../core/secrets.js';
import { tlsError, type TlsSettings } from '../../core/tls.js';

export interface Endpoint {
  host: string;
  port: number;
  user: string;
  database: string;
  tls?: TlsSettings;
}

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

const SOCKET_UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const SOCKET_BROKEN = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
/** serialization failure, deadlock, admin/crash shutdown, cannot connect now, too many connections, lock timeout */
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300', '55P03']);

export function isTransientPgError(err: unknown): boolean {
  const e = err as PgLikeError;
  if (!e || typeof e !== 'object') return false;
  if (
    e.code &&
    (TRANSIENT_SQLSTATES.has(e.code) ||
      e.code.startsWith('08') ||
      SOCKET_BROKEN.has(e.code) ||
      SOCKET_UNREACHABLE.has(e.code))
  )
    return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout expired/i.test(
    e.message ?? '',
  );
}

/** The engine's reason in one line: message, and the detail that names the row or key. */
export function pgReason(err: unknown): string {
  if (err instanceof FerryError) return err.message;
  const e = err as PgLikeError;
  const text = e?.detail ? `${e.message} (${e.detail})` : String(e?.message ?? err);
  return redact(text.replace(/\s*\n\s*/g, ' ').trim());
}

/** Errors of connecting: unreachable, refused credentials, unknown database. */
export function connectError(err: unknown, ep: Endpoint): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as PgLikeError;
  const at = `${ep.host}:${ep.port}`;
  const tls = tlsError(err, { engine: 'PostgreSQL', host: ep.host, port: ep.port, tls: ep.tls });
  if (tls) return tls;
  if ((e?.code && SOCKET_UNREACHABLE.has(e.code)) || /timeout/i.test(e?.message ?? ''))
    return new FerryError(
      'CONNECT_FAILED',
      `cannot reach PostgreSQL at ${at} (${e.code ?? 'timeout'})`,
      'check the host and port, and that the server is running',
      { transient: true, cause: err },
    );
  if (e?.code === '28P01')
    return new FerryError(
      'AUTH_FAILED',
      `PostgreSQL refused the password for user ${ep.user} at ${at}`,
      'check the user name and password in the URL (put the password in ${env:NAME} or ${file:path})',
      { cause: err },
    );
  if (e?.code === '28000') {
    // pg_hba.conf may take this host only over TLS (hostssl)
    const tlsHint = ep.tls ? '' : '; if it allows TLS only (hostssl), add sslmode=verify-full to the URL';
    return new FerryError(
      'AUTH_FAILED',
      `PostgreSQL refused user ${ep.user} at ${at}: ${pgReason(err)}`,
      `check the user name, and that pg_hba.conf lets this user connect from this host${tlsHint}`,
      { cause: err },
    );
  }
  if (/password must be a string|SASL|no password/i.test(e?.message ?? ''))
    return new FerryError(
      'AUTH_FAILED',
      `PostgreSQL wants a password for user ${ep.user} at ${at} and the URL has none`,
      'add the password to the URL (as ${env:NAME} or ${file:path})',
      { cause: err },
    );
  if (e?.code === '3D000')
    return new FerryError(
      'DATABASE_NOT_FOUND',
      `PostgreSQL database "${ep.database}" does not exist at ${at}`,
      `create it (createdb ${ep.database}) or fix the database name in the URL`,
      { cause: err },
    );
  return queryError(err, 'CONNECT_FAILED', `cannot connect to PostgreSQL at ${at}`);
}

/** Errors of a statement: missing tables are named, transient failures are marked. */
export function queryError(
  err: unknown,
  code: ErrorCode,
  what: string,
  action = 'fix the cause named in the message and run again',
): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as PgLikeError;
  if (e?.code === '42P01')
    return new FerryError(
      'TABLE_NOT_FOUND',
      `${what}: ${pgReason(err)}`,
      'check the table name in the plan (ferry assess lists the tables)',
      { cause: err },
    );
  const transient = isTransientPgError(err);
  return new FerryError(
    code,
    `${what}: ${pgReason(err)}`,
    transient ? 'retrying may help; check the server if it persists' : action,
    { transient, cause: err },
  );
}
