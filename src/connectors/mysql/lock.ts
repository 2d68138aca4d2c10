// One command of a plan at a time on a MySQL or MariaDB target: GET_LOCK without waiting, on a
// connection of its own kept open (and idle) while the command runs; the server lets go of the
// lock when that connection ends, however the process ends. MySQL keeps nothing a refused
// command could read the holder's process from, so the holder is named as the server sees the
// connection: the client's host, and since when it has been idle (since the lock was taken).
import type { LockHolder, LockOutcome } from '../../core/contracts.js';
import { toFerryError } from './errors.js';
import { closeSession, openSession, run, type Endpoint } from './session.js';

// the lock's connection does nothing until it ends: the server must not close it for idling
const IDLE_FOR_A_YEAR = 'SET SESSION wait_timeout = 31536000';

export async function mysqlLock(ep: Endpoint, name: string): Promise<LockOutcome> {
  const conn = await openSession(ep, [IDLE_FOR_A_YEAR]);
  try {
    const [[taken]] = await run<unknown[][]>(conn, 'SELECT GET_LOCK(?, 0)', [name], 'arrays');
    if (Number(taken) === 1) return { lease: { release: () => closeSession(conn) } };
    const rows = await run<{ HOST: string; TIME: number }[]>(
      conn,
      'SELECT HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = IS_USED_LOCK(?)',
      [name],
    );
    await closeSession(conn);
    const row = rows[0];
    const holder: LockHolder | undefined = row && {
      host: row.HOST.replace(/:\d+$/, ''),
      since: new Date(Date.now() - Number(row.TIME) * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    return { heldBy: holder };
  } catch (err) {
    conn.destroy();
    throw toFerryError(err, ep, 'write');
  }
}
