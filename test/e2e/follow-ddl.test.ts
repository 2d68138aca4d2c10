// DDL while `ferry run PLAN --follow` follows (issue 14, item 6), from PostgreSQL and from
// MariaDB into every target kind: ALTER TABLE … ADD COLUMN on a followed table is applied to the
// target and to the mapping without a restart; the plan file is left as it is, and the same
// command resumes with the column (kept in the state folder). A column added with a literal
// default gives the rows the SQL targets hold that default, as the source's rows have it; object
// storage and DynamoDB cannot give their rows a value, and the stream stops with one line. A
// column added with a default that is not a literal (now()) stops the stream with one line.
// `ferry verify` compares the added columns too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import Database from 'better-sqlite3';
import { scanAll, startDynalite, type LocalDynamo } from '../connectors/dynamodb-local.js';
import { duckdb } from '../connectors/objectstore-servers.js';
import { freshMysql, freshPg, freshSqlite, mysqlExec, pgExec, tmpDir, unique } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { follow, stopped } from './follow-support.js';
import { ferry, ferryAsync, planFor } from './support.js';

/** A row of `items` as text: id, name, then the columns asked for (null as "null"). */
type Row = string[];

const text = (rows: Record<string, unknown>[], columns: string[]): Row[] =>
  rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? 'null' : String(r[c]))));

/** Waits (two minutes at most) until `check` holds; `what` says what did not. */
async function until(check: () => Promise<boolean>, what: () => string): Promise<void> {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(what());
}

interface Source {
  url: string;
  exec(sql: string): Promise<unknown>;
  rows(columns: string[]): Promise<Row[]>;
  /** the SQL type of the added text column */
  text: string;
  /** a default that is not a literal */
  now: string;
}

interface Target {
  name: string;
  /** takes a column with a literal default, giving it to the rows it holds */
  fills: boolean;
  url(tag: string): Promise<string>;
  /** the rows of items in id order, as the target holds them after the changes applied so far */
  rows(url: string, columns: string[], plan: { file: string; dir: string }): Promise<Row[]>;
}

const TARGETS: Target[] = [
  {
    name: 'PostgreSQL',
    fills: true,
    url: (tag) => freshPg(`${tag}_dst`),
    rows: async (url, columns) => text((await pgExec(url, 'SELECT * FROM items ORDER BY id')).rows, columns),
  },
  {
    name: 'MariaDB',
    fills: true,
    url: (tag) => freshMysql(`${tag}_dst`),
    rows: async (url, columns) =>
      text((await mysqlExec(url, 'SELECT * FROM items ORDER BY id')) as Record<string, unknown>[], columns),
  },
  {
    name: 'SQLite',
    fills: true,
    url: async (tag) => freshSqlite(`${tag}_dst`),
    rows: async (url, columns) => {
      const db = new Database(url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
      try {
        return text(db.prepare('SELECT * FROM items ORDER BY id').all() as Record<string, unknown>[], columns);
      } finally {
        db.close();
      }
    },
  },
  {
    // the change files folded in by `ferry compact` (beside the running follow), read by DuckDB
    name: 'a folder of Parquet files',
    fills: false,
    url: async () => `file:${tmpDir('ferry-ddl-lake-')}`,
    rows: async (url, columns, plan) => {
      const compact = await ferryAsync(['compact', plan.file], { cwd: plan.dir });
      assert.equal(compact.code, 0, compact.stderr);
      const got = await duckdb(
        `SELECT * FROM read_parquet('${url.slice('file:'.length)}/items/**/*.parquet', union_by_name = true) ORDER BY id`,
      );
      const names = (
        await duckdb(
          `SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('${url.slice('file:'.length)}/items/**/*.parquet', union_by_name = true))`,
        )
      ).map((r) => String(r[0]));
      return text(
        got.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]]))),
        columns,
      );
    },
  },
  {
    name: 'DynamoDB',
    fills: false,
    // a server of its own: each test's table is named items
    url: async () => {
      await dynamo?.stop();
      dynamo = await startDynalite();
      return dynamo.url;
    },
    rows: async (_url, columns, plan) => {
      const table = /^\s+table: (\S+)$/m.exec(readFileSync(plan.file, 'utf8'))?.[1] ?? 'items';
      const client = new DynamoDBClient({ endpoint: dynamo!.endpoint, region: 'us-east-1' });
      const items = await scanAll(client, table);
      client.destroy();
      const value = (a: AttributeValue | undefined) => (a === undefined || a.NULL ? null : (a.S ?? a.N));
      const rows = items.map((i) => Object.fromEntries(columns.map((c) => [c, value(i[c])])));
      return text(rows, columns).sort((a, b) => Number(a[0]) - Number(b[0]));
    },
  },
];

let dynamo: LocalDynamo | undefined;

async function addColumnWhileFollowing(source: Source, target: Target, tag: string): Promise<void> {
  const slot = unique(`ferry_${tag}`);
  await source.exec('CREATE TABLE items (id int PRIMARY KEY, name varchar(40) NOT NULL)');
  await source.exec("INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')");
  const url = await target.url(tag);
  const planned = await planFor(source.url, url, (p) => {
    p.cdc = {
      slot,
      publication: slot,
      heartbeatSeconds: 1,
      batch: { transactions: 50, changes: 500, bytes: 2 ** 20, waitMs: 100 },
    };
  });
  const { file, dir } = planned;
  const plan = readFileSync(file, 'utf8');
  const targetRows = (columns: string[]) => target.rows(url, columns, planned);
  const targetHas = (id: number, column?: string, value?: string) => async (): Promise<boolean> => {
    const rows = await targetRows(['id', 'name', column ?? 'name']);
    return rows.some((r) => r[0] === String(id) && (value === undefined || r[2] === value));
  };
  const same = async (columns: string[]) => assert.deepEqual(await targetRows(columns), await source.rows(columns));

  const f = follow(file, dir);
  await source.exec("INSERT INTO items VALUES (4, 'four')");
  await until(targetHas(4), () => `row 4 reached the target: ${f.stderr()}`);
  await source.exec(`ALTER TABLE items ADD COLUMN note ${source.text}`);
  await source.exec("INSERT INTO items VALUES (5, 'five', 'fifth')");
  await source.exec("UPDATE items SET note = 'first' WHERE id = 1");
  await until(targetHas(1, 'note', 'first'), () => `the added column reached the target: ${f.stderr()}`);
  assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
  assert.match(
    f.stderr(),
    /column note \(.+\) was added to items on the source: added to items as note .+; the plan file is unchanged: make the plan again \(ferry plan\) before a fresh run/,
  );

  // the same command resumes with the column: its state, not the plan file, holds it
  const again = follow(file, dir);
  await source.exec("INSERT INTO items VALUES (6, 'six', 'sixth')");
  await source.exec("UPDATE items SET note = 'second' WHERE id = 2");
  await until(targetHas(2, 'note', 'second'), () => `changes after the restart reached the target: ${again.stderr()}`);
  await until(targetHas(6, 'note', 'sixth'), () => `row 6 reached the target: ${again.stderr()}`);
  assert.equal(await stopped(again, 'SIGTERM'), 0, again.stderr());
  // rows 3 and 4 never had a note: NULL in the target as in the source
  await same(['id', 'name', 'note']);
  assert.equal(readFileSync(file, 'utf8'), plan, 'the plan file is left as it was');
  // verify compares the added column too
  const verify = await ferryAsync(['verify', file], { cwd: dir });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);

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

  // a column added with a literal default: the rows copied before hold it on the source
  const third = follow(file, dir);
  await source.exec('ALTER TABLE items ADD COLUMN rank int DEFAULT 7');
  await source.exec("INSERT INTO items VALUES (7, 'seven', 'seventh', 1), (8, 'eight', NULL, NULL)");
  if (!target.fills) {
    const code = await third.exited;
    assert.notEqual(code, 0);
    const last = third.stderr().trim().split('\n').at(-1)!;
    assert.match(
      last,
      /^ferry: column rank of items has a default \('7'\): the (rows the files of an object storage target|items DynamoDB) holds? cannot be given it: add the column without a default on the source, then set its values with an UPDATE \(ferry follows it\)$/,
    );
    return;
  }
  // a boolean default: the engines spell it otherwise (verify compares it)
  await source.exec('ALTER TABLE items ADD COLUMN flag boolean DEFAULT true');
  await source.exec('UPDATE items SET rank = 9 WHERE id = 3');
  await until(
    targetHas(3, 'rank', '9'),
    () => `changes of the column with a default reached the target: ${third.stderr()}`,
  );
  await until(targetHas(8), () => `row 8 reached the target: ${third.stderr()}`);
  assert.equal(await stopped(third, 'SIGTERM'), 0, third.stderr());
  // rows 1-6 hold the default, 7 its own value, 8 NULL, 3 the value of its update; every row flag true
  await same(['id', 'name', 'note', 'rank']);
  assert.deepEqual(
    (await source.rows(['id', 'rank'])).map((row) => row[1]),
    ['7', '7', '9', '7', '7', '7', '1', 'null'],
  );
  const verified = await ferryAsync(['verify', file], { cwd: dir });
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  if (target.name === 'PostgreSQL') {
    // a value of the added column changed in the target alone: verify sees it
    await pgExec(url, 'UPDATE items SET rank = 8 WHERE id = 1');
    const differs = await ferryAsync(['verify', file], { cwd: dir });
    assert.equal(differs.code, 3, differs.stdout + differs.stderr);
    await pgExec(url, 'UPDATE items SET rank = 7 WHERE id = 1');
  }

  // a default that is not a literal: its values are the source's alone
  const fourth = follow(file, dir);
  await source.exec(`ALTER TABLE items ADD COLUMN seen ${source.now}`);
  await source.exec("INSERT INTO items (id, name) VALUES (9, 'nine')");
  const code = await fourth.exited;
  assert.notEqual(code, 0);
  const last = fourth.stderr().trim().split('\n').at(-1)!;
  assert.match(
    last,
    /^ferry: column seen was added to items on the source with a default \(.+\) that is not a literal \(a number, a string, true or false\): the rows already copied hold its values on the source, and live changes do not carry them: add columns without a default, or with a literal one, while ferry follows/,
  );
}

let pgServer: PrivatePostgres;
let myServer: PrivateMariadb;

before(async () => {
  [pgServer, myServer] = await Promise.all([
    privatePostgres({ settings: { wal_level: 'logical', max_replication_slots: 12, max_wal_senders: 12 } }),
    privateMariadb({ binlog: true }),
  ]);
});
after(async () => {
  await Promise.all([pgServer?.stop(), myServer?.stop(), dynamo?.stop()]);
});

describe('follow: ADD COLUMN from PostgreSQL', () => {
  for (const target of TARGETS)
    test(`PostgreSQL -> ${target.name}: a column added to a followed table reaches the target without a restart, and a resumed run keeps it`, async () => {
      const tag = `ddl_pg_${TARGETS.indexOf(target)}`;
      const url = await pgServer.database(unique(tag));
      await addColumnWhileFollowing(
        {
          url,
          exec: (sql) => pgExec(url, sql),
          rows: async (columns) => text((await pgExec(url, 'SELECT * FROM items ORDER BY id')).rows, columns),
          text: 'text',
          now: 'timestamptz DEFAULT now()',
        },
        target,
        tag,
      );
    });
});

describe('follow: ADD COLUMN from MariaDB', () => {
  for (const target of TARGETS)
    test(`MariaDB -> ${target.name}: a column added to a followed table reaches the target without a restart, and a resumed run keeps it`, async () => {
      const tag = `ddl_my_${TARGETS.indexOf(target)}`;
      const url = await myServer.database(tag);
      await addColumnWhileFollowing(
        {
          url,
          exec: (sql) => mysqlExec(url, sql),
          rows: async (columns) =>
            text((await mysqlExec(url, 'SELECT * FROM items ORDER BY id')) as Record<string, unknown>[], columns),
          text: 'varchar(100)',
          now: 'datetime DEFAULT current_timestamp()',
        },
        target,
        tag,
      );
    });
});
