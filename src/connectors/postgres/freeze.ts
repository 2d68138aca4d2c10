// Freezing the application's writes for a cutover (Source.freezeWrites): new sessions of the
// database (or of the named roles in it) start with default_transaction_read_only = on, and the
// open sessions of those accounts are ended, so no transaction of theirs can commit after. ferry's
// own role is left out. Undo puts the setting back as it was and ends the sessions that started
// during the freeze (they carry the read-only default); each setting is recorded as it was
// before it is changed, so that thawWrites undoes a freeze from its record in another process.
// A session that sets the parameter off itself is not stopped: the README says so.
import type pg from 'pg';
import type { FreezeOptions, FreezeUndo, WriteFreeze } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { queryError } from './errors.js';
import { quoteIdent } from './sql.js';

/** how long the sessions ended may take to go before the freeze fails */
const END_SESSION_MS = 2000;

/** The setting as it was before, for one database-wide (no role) or one role-in-database entry. */
interface Previous {
  db: string;
  role?: string;
  value?: string;
}

/** What the freeze changed, as it is recorded: the settings as they were, and when it began. */
interface PgFreezeUndo {
  /** the server's clock at the freeze: the sessions opened since carry the read-only default */
  since: string;
  /** the roles whose sessions the freeze ends (absent: all but ferry's) */
  roles?: string[];
  settings: Previous[];
}

export async function freezeWrites(
  connect: () => Promise<pg.PoolClient>,
  opts: FreezeOptions,
  record: (undo: FreezeUndo) => void,
): Promise<WriteFreeze> {
  const client = await connect();
  const steps: string[] = [];
  let made: PgFreezeUndo | undefined;
  try {
    const { rows } = await client.query<{ db: string; me: string; since: string }>(
      'SELECT current_database() AS db, current_user AS me, clock_timestamp()::text AS since',
    );
    const { db, me, since } = rows[0]!;
    const undo: PgFreezeUndo = { since, ...(opts.accounts?.length ? { roles: opts.accounts } : {}), settings: [] };
    made = undo;
    // each setting is recorded, as it was, before it is changed
    const change = async (role: string | undefined, value: 'on' | 'off') => {
      const was = await currentSetting(client, db, role);
      undo.settings.push({ db, ...(role !== undefined ? { role } : {}), ...(was !== undefined ? { value: was } : {}) });
      record(structuredClone(undo) as unknown as FreezeUndo);
      await client.query(`ALTER ${settingOf(db, role)} SET default_transaction_read_only = ${value}`);
    };
    for (const role of opts.accounts?.length ? opts.accounts : [undefined]) {
      await change(role, 'on');
      steps.push(`new sessions ${role ? `of role ${role} ` : ''}in database ${db} are read-only`);
    }
    // ferry's own role keeps writing where the whole database is frozen (its heartbeats, a reverse stream)
    if (!opts.accounts?.length) await change(me, 'off');
    const gone = await endSessions(client, opts.accounts);
    steps.push(
      `ended ${gone.length} open session${gone.length === 1 ? '' : 's'}${gone.length ? ` (${[...new Set(gone)].join(', ')})` : ''}`,
    );
  } catch (e) {
    if (made) await undoWith(client, made).catch(() => {});
    client.release();
    throw queryError(
      e,
      'WRITE_FAILED',
      'cannot freeze the writes of the PostgreSQL source',
      "ferry's source account must own the database (or be a superuser) to set its defaults and end its sessions",
    );
  }
  client.release();
  const undo = made as unknown as FreezeUndo;
  let thawed: Promise<void> | undefined;
  // once: a second undo would end the sessions opened since the first
  return {
    steps,
    unstoppable: [],
    undo: () =>
      (thawed ??= thawWrites(connect, undo).catch((e: unknown) => {
        thawed = undefined;
        throw e;
      })),
  };
}

/** Puts the settings back as the freeze found them and ends the sessions opened during it. */
export async function thawWrites(connect: () => Promise<pg.PoolClient>, recorded: FreezeUndo): Promise<void> {
  const undo = recorded as unknown as PgFreezeUndo;
  if (typeof undo.since !== 'string' || !Array.isArray(undo.settings))
    throw new FerryError(
      'STATE_CONFLICT',
      'the recorded freeze is not one of a PostgreSQL server (no settings)',
      'reset default_transaction_read_only by hand (ALTER DATABASE ... RESET default_transaction_read_only)',
    );
  const c = await connect();
  try {
    await undoWith(c, undo);
  } catch (e) {
    throw queryError(e, 'WRITE_FAILED', 'cannot undo the freeze of the PostgreSQL source');
  } finally {
    c.release();
  }
}

async function undoWith(c: pg.PoolClient, undo: PgFreezeUndo): Promise<void> {
  for (const p of [...undo.settings].reverse()) {
    const set =
      p.value === undefined
        ? 'RESET default_transaction_read_only'
        : `SET default_transaction_read_only = ${quoteIdent(p.value)}`;
    await c.query(`ALTER ${settingOf(p.db, p.role)} ${set}`);
  }
  // sessions opened while frozen keep the read-only default until they end
  await endSessions(c, undo.roles, undo.since);
}

/** Where a setting lives: the database, or one role in it. */
function settingOf(db: string, role: string | undefined): string {
  return role === undefined ? `DATABASE ${quoteIdent(db)}` : `ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(db)}`;
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
