// How many more connections the account may open: the server's max_connections less the
// threads connected, and max_user_connections (when set) less the account's own.
import type { Connection } from 'mysql2';
import type { ConnectionRoom } from '../../core/contracts.js';
import { run, type Endpoint } from './session.js';

interface Limits {
  server: number | string;
  serverUsed: number | string;
  user: number | string;
  userUsed: number | string;
}

// without the PROCESS privilege the process list shows the account's own threads only: enough
// for its own limit; Threads_connected counts every thread
const LIMITS = `
SELECT @@max_connections AS server,
       (SELECT variable_value FROM information_schema.global_status WHERE variable_name = 'THREADS_CONNECTED') AS serverUsed,
       @@max_user_connections AS user,
       (SELECT count(*) FROM information_schema.processlist WHERE user = substring_index(current_user(), '@', 1)) AS userUsed`;

export async function connectionRoom(conn: Connection, ep: Endpoint): Promise<ConnectionRoom> {
  const [l] = await run<Limits[]>(conn, LIMITS);
  const [server, serverUsed, user, userUsed] = [l!.server, l!.serverUsed, l!.user, l!.userUsed].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const limits = [
    { free: server - serverUsed, limit: `max_connections ${server}, ${serverUsed} in use` },
    ...(user > 0 ? [{ free: user - userUsed, limit: `max_user_connections ${user}, ${userUsed} in use` }] : []),
  ];
  const tightest = limits.reduce((a, b) => (b.free < a.free ? b : a));
  return { server: `MySQL at ${ep.host}:${ep.port}`, free: Math.max(0, tightest.free), limit: tightest.limit };
}
