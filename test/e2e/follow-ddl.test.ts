// DDL while `ferry run PLAN --follow` follows (issue 14, item 6), from PostgreSQL and from
// MariaDB into PostgreSQL: ALTER TABLE … ADD COLUMN on a followed table is applied to the target
// and to the mapping without a restart; the plan file is left as it is, and the same command
// resumes with the column (kept in the state folder). A column added with a default stops the
// stream with one line naming it and what to do.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { freshPg, mysqlExec, pgExec, unique } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { follow, stopped } from './follow-support.js';
import { ferry, planFor } from './support.js';

/** The rows of `items` (id, name, note) as text, in id order (its note "undefined" before it has the column). */
async function pgItems(url: string): Promise<string[][]> {
  const { rows } = await pgExec(url, 'SELECT * FROM items ORDER BY id');
  return rows.map((r: Record<string, unknown>) => [String(r.id), String(r.name), String(r.note)]);
}

/** Waits (two minutes at most) until `check` holds; `what` says what did not. */
async function until(check: () => Promise<boolean>, what: () => string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(what());
}

interface Source {
  url: string;
  exec(sql: string): Promise<unknown>;
  items(): Promise<string[][]>;
  /** the SQL type of the added column */
  text: string;
}

async function addColumnWhileFollowing(source: Source, name: string): Promise<void> {
  const slot = unique(`ferry_${name}`);
  await source.exec('CREATE TABLE items (id int PRIMARY KEY, name varchar(40) NOT NULL)');
  await source.exec("INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')");
  const target = await freshPg(`${name}_dst`);
  const { file, dir } = await planFor(source.url, target, (p) => {
    p.cdc = {
      slot,
      publication: slot,
      heartbeatSeconds: 1,
      batch: { transactions: 50, changes: 500, bytes: 2 ** 20, waitMs: 100 },
    };
  });
  const plan = readFileSync(file, 'utf8');
  const targetHas = (id: number, note?: string) => async () => {
    const rows = await pgItems(target);
    return rows.some((r) => r[0] === String(id) && (note === undefined || r[2] === note));
  };

  const f = follow(file, dir);
  await source.exec("INSERT INTO items VALUES (4, 'four')");
  await until(targetHas(4), () => `row 4 reached the target: ${f.stderr()}`);
  await source.exec(`ALTER TABLE items ADD COLUMN note ${source.text}`);
  await source.exec("INSERT INTO items VALUES (5, 'five', 'fifth')");
  await source.exec("UPDATE items SET note = 'first' WHERE id = 1");
  await until(targetHas(1, 'first'), () => `the added column reached the target: ${f.stderr()}`);
  assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
  assert.match(
    f.stderr(),
    /column note \(.+\) was added to items on the source: added to items as note .+; the plan file is unchanged: make the plan again \(ferry plan\) before a fresh run/,
  );

  // the same command resumes with the column: its state, not the plan file, holds it
  const again = follow(file, dir);
  await source.exec("INSERT INTO items VALUES (6, 'six', 'sixth')");
  await source.exec("UPDATE items SET note = 'second' WHERE id = 2");
  await until(targetHas(2, 'second'), () => `changes after the restart reached the target: ${again.stderr()}`);
  await until(targetHas(6, 'sixth'), () => `row 6 reached the target: ${again.stderr()}`);
  assert.equal(await stopped(again, 'SIGTERM'), 0, again.stderr());
  assert.deepEqual(await pgItems(target), await source.items());
  assert.equal(readFileSync(file, 'utf8'), plan, 'the plan file is left as it was');

  // the report's live changes: this run's figures, the stream's, the changes per table and operation, the added column
  const r = ferry(['report'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const md = readFileSync(/report of run \S+:\n\s+(\S+\.md)/.exec(r.stdout)![1]!, 'utf8');
  const live = md.slice(md.indexOf('## Live changes'));
  assert.match(live, /\| this run: transactions applied \| 2 \|/);
  assert.match(live, /\| this run: row changes applied \| 2 \|/);
  // row 4 came with the copy or as a change, as the copy's snapshot fell
  assert.match(live, /\| row changes applied \(every run\) \| [45] \|/);
  assert.match(live, /\| items \| insert \| [23] \|\n\| items \| update \| 2 \|/);
  assert.match(live, /\| columns added on the source \(make the plan again before a fresh run\) \| items\.note \|/);

  // a column added with a default: the rows copied before hold it on the source only
  const third = follow(file, dir);
  await source.exec('ALTER TABLE items ADD COLUMN rank int DEFAULT 7');
  await source.exec("INSERT INTO items VALUES (7, 'seven', 'seventh', 1)");
  const code = await third.exited;
  assert.notEqual(code, 0);
  const last = third.stderr().trim().split('\n').at(-1)!;
  assert.match(
    last,
    /^ferry: column rank was added to items on the source with a default \(7\): the rows already copied hold that value on the source, and live changes do not carry it: add columns without a default while ferry follows/,
  );
}

describe('follow: ADD COLUMN from PostgreSQL', () => {
  let server: PrivatePostgres;
  before(async () => {
    server = await privatePostgres({
      settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4 },
    });
  });
  after(() => server?.stop());

  test('a column added to a followed table reaches the target without a restart, and a resumed run keeps it', async () => {
    const url = await server.database(unique('follow_ddl_pg'));
    await addColumnWhileFollowing(
      {
        url,
        exec: (sql) => pgExec(url, sql),
        items: () => pgItems(url),
        text: 'text',
      },
      'ddl_pg',
    );
  });
});

describe('follow: ADD COLUMN from MariaDB', () => {
  let server: PrivateMariadb;
  before(async () => {
    server = await privateMariadb({ binlog: true });
  });
  after(async () => server?.stop());

  test('a column added to a followed table reaches the target without a restart, and a resumed run keeps it', async () => {
    const url = await server.database('follow_ddl_my');
    await addColumnWhileFollowing(
      {
        url,
        exec: (sql) => mysqlExec(url, sql),
        items: async () =>
          ((await mysqlExec(url, 'SELECT id, name, note FROM items ORDER BY id')) as Record<string, unknown>[]).map(
            (r) => [String(r.id), String(r.name), String(r.note)],
          ),
        text: 'varchar(100)',
      },
      'ddl_my',
    );
  });
});
