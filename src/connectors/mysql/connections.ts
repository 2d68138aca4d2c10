// How many more connections the account may open: the server's max_connections less the
// threads connected, and max_user_connections (when set) less the account's own.
import type { Connection } from 'mysql2';
import type { ConnectionRoom } from '../../core/contracts.js';
import { run, type Endpoint } from './session.js';

interface Limits {
  server: number | string;
  user: number | string;
  userUsed: number | string;
}

// without the PROCESS privilege the process list shows the account's own threads only: enough
// for its own limit
const LIMITS = `
SELECT @@max_connections AS server,
       @@max_user_connections AS user,
       (SELECT count(*) FROM information_schema.processlist WHERE user = substring_index(current_user(), '@', 1)) AS userUsed`;

export async function connectionRoom(conn: Connection, ep: Endpoint): Promise<ConnectionRoom> {
  const [l] = await run<Limits[]>(conn, LIMITS);
  // every thread, whoever may see it (MySQL 8 keeps the status in performance_schema, MariaDB in information_schema)
  const [status] = await run<{ Value: string }[]>(conn, "SHOW GLOBAL STATUS LIKE 'Threads_connected'");
  const [server, user, userUsed] = [l!.server, l!.user, l!.userUsed].map(Number) as [number, number, number];
  const serverUsed = Number(status!.Value);
  const limits = [
    { free: server - serverUsed, limit: `max_connections ${server}, ${serverUsed} in use` },
    ...(user > 0 ? [{ free: user - userUsed, limit: `max_user_connections ${user}, ${userUsed} in use` }] : []),
  ];
  const tightest = limits.reduce((a, b) => (b.free < a.free ? b : a));
  return { server: `MySQL at ${ep.host}:${ep.port}`, free: Math.max(0, tightest.free), limit: tightest.limit };
}
