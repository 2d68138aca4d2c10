// What the tests of `ferry run PLAN --follow` from PostgreSQL share: the source (two tables, some
// entries with a large TOASTed value), the application writing transactions of every kind until
// stopped, ferry following in a child process, where its state stands, and a table's rows read
// from either side as canonical text.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Connector, SourceTable, TargetTable } from '../../src/core/contracts.js';
import { canonicalText } from '../../src/core/values.js';
import { collect } from '../contract/target-contract.js';
import { pgExec } from '../helpers.js';
import { random } from './follow-support.js';
import { ferrySpawn } from './support.js';

export const ACCOUNTS = 3000;
export const ENTRIES = 6000;
/** entries whose doc is large enough to be stored out of line (TOAST) */
export const LARGE_EVERY = 500;

export async function seedSource(url: string): Promise<void> {
  await pgExec(
    url,
    `CREATE TABLE account (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL);
     CREATE TABLE entry (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2), note varchar(100), doc text);
     ALTER TABLE entry ALTER doc SET STORAGE EXTERNAL;
     INSERT INTO account SELECT g, 'account ' || g || ' é', (g % 1000) / 4.0 FROM generate_series(1, ${ACCOUNTS}) g;
     INSERT INTO entry SELECT g, 1 + g % ${ACCOUNTS}, (g % 77) - 30.5, 'note ' || g,
       CASE WHEN g % ${LARGE_EVERY} = 0 THEN repeat(md5(g::text), 3000) ELSE 'doc ' || g END
       FROM generate_series(1, ${ENTRIES}) g`,
  );
}

/** The application: transactions of every kind, one after another, until stopped. */
export function writer(url: string, seed: number): { stop(): Promise<number> } {
  const rnd = random(seed);
  const pick = (n: number) => 1 + Math.floor(rnd() * n);
  let nextAccount = ACCOUNTS + 1;
  let nextEntry = 10_000_000;
  let stopped = false;
  let done = 0;
  const client = new pg.Client({ connectionString: url });
  const running = (async () => {
    await client.connect();
    while (!stopped) {
      const kind = Math.floor(rnd() * 6);
      const a = pick(ACCOUNTS);
      const e = pick(ENTRIES);
      const statements =
        kind === 0
          ? [
              `INSERT INTO account VALUES (${nextAccount}, 'new ${nextAccount}', 0)`,
              `INSERT INTO entry VALUES (${nextEntry++}, ${nextAccount}, 12.5, 'opening', 'doc')`,
              `UPDATE account SET balance = balance + 12.5 WHERE id = ${nextAccount++}`,
            ]
          : kind === 1
            ? [
                `UPDATE account SET balance = balance - 1.25, name = name || '!' WHERE id = ${a}`,
                `INSERT INTO entry VALUES (${nextEntry++}, ${a}, -1.25, 'fee', NULL)`,
              ]
            : kind === 2
              ? [`DELETE FROM entry WHERE id = (SELECT max(id) FROM entry WHERE id <= ${e})`]
              : kind === 3
                ? // a primary-key change
                  [
                    `UPDATE entry SET id = id + 20000000 WHERE id = (SELECT min(id) FROM entry WHERE id >= ${e} AND id < 20000000)`,
                  ]
                : kind === 4
                  ? [
                      `INSERT INTO entry VALUES (${nextEntry}, ${a}, 1, 'fleeting', 'x')`,
                      `DELETE FROM entry WHERE id = ${nextEntry++}`,
                    ]
                  : // a large value the update leaves as it is
                    [
                      `UPDATE entry SET note = 'touched ' || ${pick(1000)} WHERE id IN (SELECT id FROM entry WHERE doc IS NOT NULL AND length(doc) > 10000 ORDER BY id OFFSET ${pick(10)} LIMIT 2)`,
                    ];
      await client.query(`BEGIN; ${statements.join('; ')}; COMMIT`);
      done++;
      await new Promise((resolve) => setTimeout(resolve, rnd() * 10));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await running;
      await client.end();
      return done;
    },
  };
}

/** Starts `ferry run PLAN --follow`; its output is kept on the child. */
export function follow(file: string, cwd: string): ChildProcess & { out: string } {
  const child = ferrySpawn(['run', file, '--follow'], { cwd }) as ChildProcess & { out: string };
  child.out = '';
  child.stdout!.on('data', (d) => (child.out += d));
  child.stderr!.on('data', (d) => (child.out += d));
  return child;
}

export function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

export type Phase = 'copy' | 'handoff' | 'stream';

/**
 * Where a followed run stands by its state: copying (until every table is in), the handoff (the
 * copy is in, nothing applied yet) or streaming; waits (a minute at most) until `until` holds.
 */
export async function phase(dir: string, until: (p: { name: Phase; chunksDone: number }) => boolean) {
  let now = { name: 'copy' as Phase, chunksDone: 0 };
  for (let i = 0; i < 3000; i++) {
    try {
      const db = new Database(join(dir, '.ferry', 'state.db'), { readonly: true, fileMustExist: true });
      try {
        const one = (sql: string) => (db.prepare(sql).raw().get() as unknown[] | undefined)?.[0];
        const linked = Number(one("SELECT count(*) FROM tables WHERE status = 'linked'"));
        now = {
          name: linked < 2 ? 'copy' : one('SELECT applied FROM streams') ? 'stream' : 'handoff',
          chunksDone: Number(one("SELECT count(*) FROM chunks WHERE status = 'done'")),
        };
      } finally {
        db.close();
      }
      if (until(now)) return now;
    } catch {
      // the state file is not there yet, or its tables
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return now;
}

/** Every row of a table as canonical text, by key, read from the source or the target. */
export async function rowsOf(conn: Connector, side: 'source' | 'target', name: string): Promise<string[][]> {
  const info = (await conn.introspect({ tables: [name] })).tables[0]!;
  let rows: unknown[][];
  if (side === 'source') {
    const table: SourceTable = { name, columns: info.columns, key: info.primaryKey };
    const view = await conn.source!().snapshot(1);
    rows = await collect(conn.source!().read(table, {}, view, 1000)).finally(() => view.release());
  } else {
    const table: TargetTable = {
      name,
      columns: info.columns,
      primaryKey: info.primaryKey,
      key: info.primaryKey,
      uniqueKeys: [],
      indexes: [],
      foreignKeys: [],
    };
    rows = await collect(conn.target!().readBack(table, {}, 1000));
  }
  return rows
    .map((r) => r.map((v, i) => canonicalText(v, info.columns[i]!.type)))
    .sort((x, y) => Number(x[0]) - Number(y[0]));
}
