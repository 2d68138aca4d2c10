// One command of a plan at a time on a PostgreSQL target: an advisory lock taken without
// waiting on a session of its own, kept open while the command runs (the server lets go of it
// when that session ends, however the process ends). The session's application_name carries
// the holder, so a refused command reads it from pg_stat_activity (visible to every user).
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { LockHolder, LockOutcome } from '../../core/contracts.js';
import { queryError } from './errors.js';
import { openClient, type PgSourceSettings } from './source.js';

/** application_name is cut at 63 bytes: "ferry-lock <command> <pid> <since, s since 1970> <host>" */
const TAG = /^ferry-lock (\S+) (\d+) (\d+) (.+)$/;

export async function pgLock(settings: PgSourceSettings, name: string, me: LockHolder): Promise<LockOutcome> {
  const digest = createHash('sha256').update(name).digest();
  const keys = [digest.readInt32BE(0) & 0x7fffffff, digest.readInt32BE(4) & 0x7fffffff];
  const since = Math.floor(Date.parse(me.since) / 1000);
  const tag = Buffer.from(`ferry-lock ${me.command ?? '-'} ${me.pid ?? 0} ${since} ${me.host}`.replace(/[^ -~]/g, '?'))
    .subarray(0, 63)
    .toString();
  const client = await openClient({ ...settings, config: { ...settings.config, application_name: tag } });
  try {
    const { rows } = await client.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS taken', keys);
    if (rows[0]!.taken)
      return {
        lease: {
          async release() {
            await client.end().catch(() => {});
          },
        },
      };
    const holder = await holderOf(client, keys);
    await client.end();
    return { heldBy: holder };
  } catch (e) {
    await client.end().catch(() => {});
    throw queryError(e, 'WRITE_FAILED', 'cannot take the lock of the plan on the target');
  }
}

async function holderOf(client: pg.Client, keys: number[]): Promise<LockHolder | undefined> {
  const { rows } = await client.query<{ application_name: string; addr: string | null }>(
    `SELECT a.application_name, host(a.client_addr) AS addr
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid`,
    keys,
  );
  const row = rows[0];
  if (!row) return undefined;
  const m = TAG.exec(row.application_name);
  if (!m) return { host: row.addr ?? 'unknown', since: 'unknown' };
  return {
    command: m[1] === '-' ? undefined : m[1],
    pid: Number(m[2]) || undefined,
    since: new Date(Number(m[3]) * 1000).toISOString(),
    host: m[4]!,
  };
}
