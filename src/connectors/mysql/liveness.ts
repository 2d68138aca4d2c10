// Whether a MySQL server still answers: a connection of its own, `SELECT 1`, closed again;
// every connection made for the endpoint is on a socket its Liveness watches.
import mysql from 'mysql2';
import { Liveness, type PingOutcome } from '../../core/liveness.js';
import { connectionOptions, type Endpoint } from './session.js';

function ping(ep: Endpoint, timeoutMs: number): Promise<PingOutcome> {
  return new Promise((resolve) => {
    // the connections' settings on a socket of mysql2's own, which the Liveness does not watch
    const conn = mysql.createConnection({
      ...connectionOptions(ep, false),
      stream: undefined,
      connectTimeout: timeoutMs,
    });
    conn.on('error', () => {});
    conn.query({ sql: 'SELECT 1', timeout: timeoutMs }, (err) => {
      conn.destroy();
      // a refusal (too many connections, shutting down) is an answer; only silence is not
      const code = (err as { code?: string } | null)?.code;
      resolve(code === 'ETIMEDOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT' ? 'silent' : 'answered');
    });
  });
}

/** Watches the endpoint's server: its connections are made on sockets this Liveness tracks. */
export function watch(ep: Endpoint): Liveness {
  const liveness = new Liveness(`MySQL at ${ep.host}:${ep.port}`, (ms) => ping(ep, ms));
  ep.liveness = liveness;
  return liveness;
}
