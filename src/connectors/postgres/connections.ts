// How many more connections the account may open: the server's max_connections (less the
// slots reserved for superusers, unless it is one), the role's and the database's limits, each
// less the connections that count against it now.
import type pg from 'pg';
import type { ConnectionRoom } from '../../core/contracts.js';
import type { Endpoint } from './errors.js';

interface Limits {
  server: number;
  server_used: number;
  role: number;
  role_used: number;
  database: number;
  database_used: number;
}

const LIMITS = `
SELECT current_setting('max_connections')::int
         - CASE WHEN r.rolsuper THEN 0 ELSE current_setting('superuser_reserved_connections')::int END AS server,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS server_used,
       r.rolconnlimit AS role,
       (SELECT count(*) FROM pg_stat_activity WHERE usename = current_user)::int AS role_used,
       d.datconnlimit AS database,
       (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database())::int AS database_used
FROM pg_roles r, pg_database d
WHERE r.rolname = current_user AND d.datname = current_database()`;

export async function connectionRoom(client: pg.PoolClient, at: Endpoint): Promise<ConnectionRoom> {
  const l = (await client.query<Limits>(LIMITS)).rows[0]!;
  const limits = [
    { free: l.server - l.server_used, limit: `max_connections ${l.server}, ${l.server_used} in use` },
    ...(l.role >= 0
      ? [{ free: l.role - l.role_used, limit: `the role's CONNECTION LIMIT ${l.role}, ${l.role_used} in use` }]
      : []),
    ...(l.database >= 0
      ? [
          {
            free: l.database - l.database_used,
            limit: `the database's CONNECTION LIMIT ${l.database}, ${l.database_used} in use`,
          },
        ]
      : []),
  ];
  const tightest = limits.reduce((a, b) => (b.free < a.free ? b : a));
  return { server: `PostgreSQL at ${at.host}:${at.port}`, free: Math.max(0, tightest.free), limit: tightest.limit };
}
