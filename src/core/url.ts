// Endpoint URLs: which connector answers them, and how to show them without secrets.
import { FerryError } from './errors.js';
import { redact } from './secrets.js';

/** The connector scheme of an endpoint URL ("postgres", "mysql", "sqlite", …). */
export function endpointScheme(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  if (m && m[1]!.length > 1) return m[1]!.toLowerCase();
  if (/\.(db|sqlite|sqlite3)$/i.test(url)) return 'sqlite';
  throw new FerryError(
    'URL_INVALID',
    `cannot tell what kind of endpoint "${redact(url)}" is`,
    'use postgres://user@host:5432/db, mysql://user@host:3306/db or sqlite:path/to/file.db',
  );
}

export function redactUrl(url: string): string {
  return redact(url);
}

/** The file path of a sqlite: URL (sqlite:rel/path.db, sqlite:///abs/path.db, sqlite::memory:). */
export function sqlitePath(url: string): string {
  if (!/^sqlite:/i.test(url)) return url;
  let p = url.replace(/^sqlite:/i, '');
  if (p.startsWith('//')) p = p.slice(2);
  const q = p.indexOf('?');
  return decodeURIComponent(q >= 0 ? p.slice(0, q) : p);
}

/** Query parameters of an endpoint URL. */
export function urlParams(url: string): URLSearchParams {
  const q = url.indexOf('?');
  return new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
}
