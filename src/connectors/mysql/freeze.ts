// Freezing the application's writes for a cutover (Source.freezeWrites): SET GLOBAL read_only = ON.
// From then on no transaction of an account without SUPER or READ ONLY ADMIN can commit, its open
// ones included (their COMMIT is refused). Those privileges let an account write on: the freeze
// names the accounts that hold one and have sessions open (ferry's own left out), and with
// endUnstoppable ends those sessions. read_only is server-wide: named accounts only narrow whose
// privileged sessions are named or ended. Undo puts read_only back as it was, recorded before
// it was changed (thawWrites undoes it from the record in another process).
import type { Connection } from 'mysql2';
import type { FreezeOptions, FreezeUndo, WriteFreeze } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { toFerryError } from './errors.js';
import { run, type SessionPool } from './session.js';

/** What the freeze changed: read_only as it was before. */
interface ReadOnlyBefore {
  readOnly: 'ON' | 'OFF';
}

export async function freezeWrites(
  pool: SessionPool,
  opts: FreezeOptions,
  record: (undo: FreezeUndo) => void,
): Promise<WriteFreeze> {
  let before: ReadOnlyBefore | undefined;
  const undo = async () => {
    if (before) await thawWrites(pool, { ...before });
  };
  try {
    return await pool.use(async (conn) => {
      const rows = await run<{ v: string | number }[]>(conn, 'SELECT @@GLOBAL.read_only AS v');
      const v = String(rows[0]!.v);
      before = { readOnly: v === '1' || v === 'ON' ? 'ON' : 'OFF' };
      record({ ...before });
      await run(conn, 'SET GLOBAL read_only = ON');
      const steps = ['read_only = ON: accounts without SUPER or READ ONLY ADMIN cannot commit'];
      const unstoppable = await privilegedSessions(conn, opts.accounts);
      const out: WriteFreeze['unstoppable'] = [];
      for (const [account, ids] of unstoppable) {
        if (opts.endUnstoppable) for (const id of ids) await run(conn, `KILL CONNECTION ${Number(id)}`).catch(() => {});
        out.push({ account, ended: !!opts.endUnstoppable });
      }
      if (out.length)
        steps.push(
          `${opts.endUnstoppable ? 'ended the sessions of' : 'cannot stop'} ${out.map((u) => u.account).join(', ')} (SUPER or READ ONLY ADMIN)`,
        );
      return { steps, unstoppable: out, undo };
    });
  } catch (err) {
    await undo().catch(() => {});
    throw toFerryError(err, pool.ep, 'write');
  }
}

/** Puts read_only back as the freeze found it (the sessions it ended stay ended). */
export async function thawWrites(pool: SessionPool, undo: FreezeUndo): Promise<void> {
  const value = undo.readOnly;
  if (value !== 'ON' && value !== 'OFF')
    throw new FerryError(
      'STATE_CONFLICT',
      'the recorded freeze is not one of a MySQL/MariaDB server (no read_only value)',
      'set read_only as it should be by hand (SET GLOBAL read_only = OFF)',
    );
  try {
    await pool.use((conn) => run(conn, `SET GLOBAL read_only = ${value}`));
  } catch (err) {
    throw toFerryError(err, pool.ep, 'write');
  }
}

/** Sessions of accounts read_only does not stop, by user name, ferry's own and the server's left out. */
async function privilegedSessions(conn: Connection, accounts: string[] | undefined): Promise<Map<string, string[]>> {
  const rows = await run<{ user: string; id: string | number }[]>(
    conn,
    `SELECT p.USER AS user, p.ID AS id FROM information_schema.PROCESSLIST p
      WHERE p.ID <> CONNECTION_ID() AND p.USER <> SUBSTRING_INDEX(CURRENT_USER(), '@', 1)
        AND p.USER NOT IN ('system user', 'event_scheduler', 'unauthenticated user')
        AND EXISTS (SELECT 1 FROM information_schema.USER_PRIVILEGES g
                     WHERE g.GRANTEE LIKE CONCAT('''', p.USER, '''@%')
                       AND g.PRIVILEGE_TYPE IN ('SUPER', 'READ ONLY ADMIN', 'READ_ONLY ADMIN'))`,
  );
  const out = new Map<string, string[]>();
  for (const r of rows) {
    if (accounts?.length && !accounts.includes(r.user)) continue;
    out.set(r.user, [...(out.get(r.user) ?? []), String(r.id)]);
  }
  return out;
}
