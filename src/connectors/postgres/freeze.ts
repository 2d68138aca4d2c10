// Freezing the application's writes for a cutover (Source.freezeWrites): new sessions of the
// database (or of the named roles in it) start with default_transaction_read_only = on, and the
// open sessions of those accounts are ended, so no transaction of theirs can commit after. ferry's
// own role is left out. Undo puts the setting back as it was and ends the sessions that started
// during the freeze (they carry the read-only default). A session that sets the parameter off
// itself is not stopped: the README says so.
import type pg from 'pg';
import type { FreezeOptions, WriteFreeze } from '../../core/contracts.js';
import { queryError } from './errors.js';
import { quoteIdent } from './sql.js';

/** how long the sessions ended may take to go before the freeze fails */
const END_SESSION_MS = 2000;

/** The setting as it was before, for one database-wide or one role-in-database entry. */
interface Previous {
  target: string;
  role: string | undefined;
  value: string | undefined;
}

export async function freezeWrites(connect: () => Promise<pg.PoolClient>, opts: FreezeOptions): Promise<WriteFreeze> {
  const client = await connect();
  const steps: string[] = [];
  const changed: Previous[] = [];
  let since: string | undefined;
  let ended = false;
  const undo = async (c: pg.PoolClient) => {
    for (const p of changed.reverse()) {
      const set =
        p.value === undefined
          ? 'RESET default_transaction_read_only'
          : `SET default_transaction_read_only = ${quoteIdent(p.value)}`;
      await c.query(`ALTER ${p.target} ${set}`);
    }
    changed.length = 0;
    // sessions opened while frozen keep the read-only default until they end
    if (since !== undefined) await endSessions(c, opts.accounts, since);
  };
  try {
    const { rows } = await client.query<{ db: string; me: string; since: string }>(
      'SELECT current_database() AS db, current_user AS me, clock_timestamp()::text AS since',
    );
    const { db, me } = rows[0]!;
    since = rows[0]!.since;
    const targets = opts.accounts?.length
      ? opts.accounts.map((r) => ({ target: `ROLE ${quoteIdent(r)} IN DATABASE ${quoteIdent(db)}`, role: r }))
      : [{ target: `DATABASE ${quoteIdent(db)}`, role: undefined }];
    for (const t of targets) {
      const value = await currentSetting(client, db, t.role);
      await client.query(`ALTER ${t.target} SET default_transaction_read_only = on`);
      changed.push({ ...t, value });
      steps.push(`new sessions ${t.role ? `of role ${t.role} ` : ''}in database ${db} are read-only`);
    }
    // ferry's own role keeps writing where the whole database is frozen (its heartbeats, a reverse stream)
    if (!opts.accounts?.length) {
      const target = `ROLE ${quoteIdent(me)} IN DATABASE ${quoteIdent(db)}`;
      const value = await currentSetting(client, db, me);
      await client.query(`ALTER ${target} SET default_transaction_read_only = off`);
      changed.push({ target, role: me, value });
    }
    const gone = await endSessions(client, opts.accounts);
    steps.push(
      `ended ${gone.length} open session${gone.length === 1 ? '' : 's'}${gone.length ? ` (${[...new Set(gone)].join(', ')})` : ''}`,
    );
  } catch (e) {
    await undo(client).catch(() => {});
    client.release();
    throw queryError(
      e,
      'WRITE_FAILED',
      'cannot freeze the writes of the PostgreSQL source',
      "ferry's source account must own the database (or be a superuser) to set its defaults and end its sessions",
    );
  }
  client.release();
  return {
    steps,
    unstoppable: [],
    async undo() {
      if (ended) return;
      const c = await connect();
      try {
        await undo(c);
        ended = true;
      } catch (e) {
        throw queryError(e, 'WRITE_FAILED', 'cannot undo the freeze of the PostgreSQL source');
      } finally {
        c.release();
      }
    },
  };
}

async function currentSetting(
  client: pg.PoolClient,
  db: string,
  role: string | undefined,
): Promise<string | undefined> {
  const { rows } = await client.query<{ setting: string }>(
    `SELECT s.setting FROM pg_db_role_setting d CROSS JOIN unnest(d.setconfig) AS s(setting)
      WHERE d.setdatabase = (SELECT oid FROM pg_database WHERE datname = $1)
        AND d.setrole = coalesce((SELECT oid FROM pg_roles WHERE rolname = $2), 0)
        AND s.setting LIKE 'default\\_transaction\\_read\\_only=%'`,
    [db, role ?? null],
  );
  return rows[0]?.setting.slice('default_transaction_read_only='.length);
}

/** Ends the client sessions of the database but ferry's (of the roles named), started after `since` when given. */
async function endSessions(client: pg.PoolClient, roles: string[] | undefined, since?: string): Promise<string[]> {
  // every session told at once, then waited for together (pg_terminate_backend's own wait is one by one)
  const { rows } = await client.query<{ pid: number; role: string }>(
    // the sessions are chosen first (MATERIALIZED): the planner may not end one before its filter
    `WITH chosen AS MATERIALIZED (
       SELECT pid, usename FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
          AND usename <> current_user AND ($1::text[] IS NULL OR usename = ANY($1))
          AND ($2::timestamptz IS NULL OR backend_start >= $2::timestamptz))
     SELECT pid, usename AS role FROM chosen WHERE pg_terminate_backend(pid)`,
    [roles?.length ? roles : null, since ?? null],
  );
  const pids = rows.map((r) => r.pid);
  const deadline = Date.now() + END_SESSION_MS;
  for (;;) {
    const left = await client.query<{ role: string }>(
      'SELECT usename AS role FROM pg_stat_activity WHERE pid = ANY($1::int[])',
      [pids],
    );
    if (left.rows.length === 0) break;
    if (Date.now() > deadline)
      throw new Error(`sessions of ${[...new Set(left.rows.map((r) => r.role))].join(', ')} did not end`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return rows.map((r) => r.role);
}
