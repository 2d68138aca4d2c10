// The way back into MariaDB: a MariaDB source (a private server writing a row binlog) moved to
// PostgreSQL (a private server with wal_level = logical), and to MariaDB (a second private
// server writing a row binlog, which the way back reads), the plan renaming a table and a column.
// `ferry cutover PLAN --reverse` cuts over while `ferry run PLAN --follow` runs; the application
// then writes to the new database through an ordinary account, and the way back applies it to
// the source in MariaDB's types. `ferry rollback --after-cutover` switches back: the source
// equals the target, the application's MariaDB user writes again (an insert without a key too:
// the counters were set past the target's keys), the new database refuses it. `--finish` then
// leaves no slot, publication or positions table behind.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { mysqlExec, pgExec, unique } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { exited, follow, phase } from './follow-pg-support.js';
import { appWriter, assertSame, cutoverReverse, renamed, until, type Statements } from './cutover-reverse-support.js';
import { quickCdc } from './cutover-support.js';
import { ferry, planFor } from './support.js';

const ACCOUNTS = 500;
const ENTRIES = 2000;

let mariadb: PrivateMariadb;
let newMariadb: PrivateMariadb;
let postgres: PrivatePostgres;

before(async () => {
  [mariadb, newMariadb, postgres] = await Promise.all([
    privateMariadb({ binlog: true }),
    privateMariadb({ binlog: true }),
    privatePostgres({ settings: { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10 } }),
  ]);
});
after(async () => {
  await mariadb?.stop();
  await newMariadb?.stop();
  postgres?.stop();
});

/** The new database: made, its application account, its dialect, what it leaves behind. */
interface NewDatabase {
  engine: string;
  /** what the test's names carry, one test's apart from the other's */
  tag: string;
  make(): Promise<string>;
  /** lets `user` write the moved tables */
  grant(url: string, user: string): Promise<void>;
  /** runs one transaction's statements as `user` until closed */
  connect(url: string): Promise<{ transact(statements: string[]): Promise<void>; close(): Promise<void> }>;
  statements: Statements;
  /** what refuses the application once frozen */
  refused: RegExp;
  /** the way back's slots, publications and positions tables left on it */
  leftovers(url: string, slot: string): Promise<Record<string, number>>;
}

/** The application on PostgreSQL after the switch, under the plan's names (customer.holder). */
const pgStatements: Statements = (op, pick, next) => {
  const a = pick(ACCOUNTS);
  const e = pick(ENTRIES);
  const n = next();
  if (op === 0)
    return [
      `INSERT INTO customer VALUES (${100_000 + n}, 'after ${n}', 0)`,
      `INSERT INTO entry VALUES (${50_000_000 + n}, ${100_000 + n}, 12.5, 'opening')`,
    ];
  if (op === 1)
    return [
      `UPDATE customer SET balance = balance - 1.25, holder = holder || '?' WHERE id = ${a}`,
      `INSERT INTO entry VALUES (${50_000_000 + n}, ${a}, -1.25, NULL)`,
    ];
  if (op === 2) return [`DELETE FROM entry WHERE id = (SELECT max(id) FROM entry WHERE id <= ${e})`];
  if (op === 3)
    return [
      `UPDATE entry SET id = id + 30000000 WHERE id = (SELECT min(id) FROM entry WHERE id >= ${e} AND id < 30000000)`,
    ];
  return [
    `INSERT INTO entry VALUES (${60_000_000 + n}, ${a}, 1, 'fleeting')`,
    `DELETE FROM entry WHERE id = ${60_000_000 + n}`,
  ];
};

/** The same application on MariaDB: its concatenation, and no subquery on the table a DELETE or UPDATE changes. */
const mariadbStatements: Statements = (op, pick, next) => {
  const a = pick(ACCOUNTS);
  const e = pick(ENTRIES);
  if (op === 1) {
    const n = next();
    return [
      `UPDATE customer SET balance = balance - 1.25, holder = CONCAT(holder, '?') WHERE id = ${a}`,
      `INSERT INTO entry VALUES (${50_000_000 + n}, ${a}, -1.25, NULL)`,
    ];
  }
  if (op === 2) return [`DELETE FROM entry WHERE id <= ${e} ORDER BY id DESC LIMIT 1`];
  if (op === 3) return [`UPDATE entry SET id = id + 30000000 WHERE id >= ${e} AND id < 30000000 ORDER BY id LIMIT 1`];
  return pgStatements(op, pick, next);
};

function as(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  return u.toString();
}

const POSTGRES: NewDatabase = {
  engine: 'PostgreSQL',
  tag: 'pg',
  make: () => postgres.database(unique('back_my_dst')),
  grant: async (url, user) => {
    await pgExec(url, `CREATE ROLE ${user} LOGIN; GRANT ALL ON customer, entry TO ${user}`);
  },
  connect: async (url) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return {
      transact: (statements) => c.query(`BEGIN; ${statements.join('; ')}; COMMIT`).then(() => {}),
      close: () => c.end(),
    };
  },
  statements: pgStatements,
  refused: /read-only transaction/,
  leftovers: async (url, slot) =>
    (
      await pgExec(
        url,
        `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE $1)::int AS slots,
                (SELECT count(*) FROM pg_publication WHERE pubname LIKE $1)::int AS publications,
                (SELECT count(*) FROM pg_tables WHERE tablename = '_ferry_positions')::int AS positions`,
        [`${slot}%`],
      )
    ).rows[0] as Record<string, number>,
};

const MARIADB: NewDatabase = {
  engine: 'MariaDB',
  tag: 'my',
  make: () => newMariadb.database(unique('back_my_dst')),
  grant: async (url, user) => {
    const db = new URL(url).pathname.slice(1);
    await mysqlExec(
      url,
      `CREATE USER '${user}'@'%'; GRANT SELECT, INSERT, UPDATE, DELETE ON \`${db}\`.* TO '${user}'@'%';`,
    );
  },
  connect: async (url) => {
    const c = await mysql.createConnection({ uri: url });
    return {
      transact: async (statements) => {
        await c.beginTransaction();
        for (const st of statements) await c.query(st);
        await c.commit();
      },
      close: () => c.end(),
    };
  },
  statements: mariadbStatements,
  refused: /--read-only option/,
  // a MariaDB side keeps nothing for a stream but its binlog, and the positions table
  leftovers: async (url) => ({
    positions: ((await mysqlExec(url, `SHOW TABLES LIKE '\\_ferry\\_positions'`)) as unknown[]).length,
  }),
};

for (const to of [POSTGRES, MARIADB])
  describe(`ferry cutover --reverse, MariaDB to ${to.engine} and back`, { timeout: 600_000 }, () => {
    test(`the application on ${to.engine} followed back into MariaDB; rollback --after-cutover: MariaDB writable again, equal to ${to.engine}; --finish leaves nothing behind`, async () => {
      const name = unique(`back_${to.tag}_src`);
      const source = await mariadb.database(name);
      const target = await to.make();
      const user = unique(`app_${to.tag}`);
      await mysqlExec(
        source,
        `CREATE TABLE account (id int PRIMARY KEY, name varchar(100) NOT NULL, balance decimal(12,2) NOT NULL);
       CREATE TABLE entry (id bigint AUTO_INCREMENT PRIMARY KEY, account int NOT NULL, amount decimal(12,2), note varchar(100));
       INSERT INTO account SELECT seq, CONCAT('account ', seq), seq / 4 FROM seq_1_to_${ACCOUNTS};
       INSERT INTO entry (account, amount, note) SELECT 1 + seq % ${ACCOUNTS}, seq / 10, CONCAT('note ', seq) FROM seq_1_to_${ENTRIES};
       CREATE USER '${user}'@'%'; GRANT SELECT, INSERT, UPDATE, DELETE ON \`${name}\`.* TO '${user}'@'%';`,
      );
      const slot = unique(`ferry_back_${to.tag}`);
      const { file, dir } = await planFor(source, target, (p) => {
        renamed(p);
        p.cdc = quickCdc(slot, 50);
      });
      const forward = follow(file, dir);
      let back: ReturnType<typeof cutoverReverse> | undefined;
      let client: Awaited<ReturnType<NewDatabase['connect']>> | undefined;
      try {
        await phase(dir, (p) => p.name === 'stream');
        await to.grant(target, user);
        back = cutoverReverse(file, dir);
        const cut = back;
        await until('the cutover', () => cut.out.includes('cut over (run '), cut);
        assert.equal(await exited(forward), 0, forward.out);

        client = await to.connect(as(target, user));
        const onTarget = appWriter(client.transact, to.statements, 21);
        await new Promise((resolve) => setTimeout(resolve, 3000));
        assert.ok((await onTarget.stop()) > 20);
        await client.close();
        client = undefined;

        const rollback = ferry(['rollback', '--after-cutover', file, '--max-lag', '5s', '--max-freeze', '60s'], {
          cwd: dir,
        });
        assert.equal(rollback.code, 0, rollback.stdout + rollback.stderr);
        assert.equal(await exited(back), 0, back.out);
        assert.match(back.out, /rolled back: the source takes the application's writes again; the way back is closed/);
      } finally {
        back?.kill('SIGKILL');
        forward.kill('SIGKILL');
        await client?.close().catch(() => {});
      }

      await assertSame(source, target);
      const after = (await mysqlExec(source, 'SELECT count(*) AS n FROM account WHERE id > 100000')) as { n: number }[];
      assert.ok(Number(after[0]!.n) > 0, `MariaDB holds the accounts the application made on ${to.engine}`);
      // the application's MariaDB user writes again, a key the counter gives included; the new database is frozen for it
      await mysqlExec(as(source, user), `INSERT INTO entry (account, amount) VALUES (1, 4242)`);
      const late = await to.connect(as(target, user));
      try {
        await assert.rejects(late.transact([`INSERT INTO customer VALUES (-2, 'late', 0)`]), to.refused);
      } finally {
        await late.close().catch(() => {});
      }

      const finish = ferry(['cutover', file, '--finish'], { cwd: dir });
      assert.equal(finish.code, 0, finish.stdout + finish.stderr);
      const left = await to.leftovers(target, slot);
      assert.deepEqual(left, Object.fromEntries(Object.keys(left).map((k) => [k, 0])));
      const positions = (await mysqlExec(source, `SHOW TABLES LIKE '\\_ferry\\_positions'`)) as unknown[];
      assert.equal(positions.length, 0, 'no positions table left in MariaDB');
    });
  });
