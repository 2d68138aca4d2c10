// Whether a PostgreSQL server still answers: a connection of its own, `SELECT 1`, closed again;
// every connection of the connector made on sockets its Liveness watches.
import { Socket } from 'node:net';
import pg from 'pg';
import { Liveness, type PingOutcome } from '../../core/liveness.js';
import type { PgEndpoint } from './config.js';

async function ping(config: pg.ClientConfig, timeoutMs: number): Promise<PingOutcome> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return 'answered';
  } catch (e) {
    // a refusal (too many clients, shutting down) is an answer; only silence is not
    return /timeout/i.test((e as Error).message) ? 'silent' : 'answered';
  } finally {
    client.end().catch(() => {});
  }
}

/** The endpoint's settings with every connection on a socket `liveness` watches, and that Liveness. */
export function watched(at: PgEndpoint): { config: pg.ClientConfig; liveness: Liveness } {
  const liveness = new Liveness(`PostgreSQL at ${at.endpoint.host}:${at.endpoint.port}`, (ms) => ping(at.config, ms));
  return { config: { ...at.config, stream: () => liveness.track(new Socket()) }, liveness };
}
