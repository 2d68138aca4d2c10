// The way back from PostgreSQL into MariaDB: a MariaDB source (a private server writing a row
// binlog) moved to PostgreSQL (a private server with wal_level = logical), the plan renaming a
// table and a column. `ferry cutover PLAN --reverse` cuts over while `ferry run PLAN --follow`
// runs; the application then writes to PostgreSQL through an ordinary role, and the way back
// applies it to MariaDB in MariaDB's types. `ferry rollback --after-cutover` switches back: the
// source equals the target, the application's MariaDB user writes again (an insert without a key
// too: the counters were set past the target's keys), PostgreSQL refuses it. `--finish` then
// leaves no slot, publication or positions table behind.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { mysqlExec, pgExec, unique } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { exited, follow, phase, rowsOf } from './follow-pg-support.js';
import { appWriter, cutoverReverse, renamed, until, type Statements } from './cutover-reverse-support.js';
import { ferry, open, planFor } from './support.js';

const ACCOUNTS = 500;
const ENTRIES = 2000;

let mariadb: PrivateMariadb;
let postgres: PrivatePostgres;

before(async () => {
  [mariadb, postgres] = await Promise.all([
    privateMariadb({ binlog: true }),
    privatePostgres({ settings: { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10 } }),
  ]);
});
after(async () => {
  await mariadb?.stop();
  postgres?.stop();
});

/** The application on PostgreSQL after the switch, under the plan's names (customer.holder). */
const targetStatements: Statements = (op, pick, next) => {
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

function as(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  return u.toString();
}

describe('ferry cutover --reverse, MariaDB to PostgreSQL and back', { timeout: 600_000 }, () => {
  test('the application on PostgreSQL followed back into MariaDB; rollback --after-cutover: MariaDB writable again, equal to PostgreSQL; --finish leaves nothing behind', async () => {
    const name = unique('back_my_src');
    const source = await mariadb.database(name);
    const target = await postgres.database(unique('back_my_dst'));
    const user = unique('app');
    await mysqlExec(
      source,
      `CREATE TABLE account (id int PRIMARY KEY, name varchar(100) NOT NULL, balance decimal(12,2) NOT NULL);
       CREATE TABLE entry (id bigint AUTO_INCREMENT PRIMARY KEY, account int NOT NULL, amount decimal(12,2), note varchar(100));
       INSERT INTO account SELECT seq, CONCAT('account ', seq), seq / 4 FROM seq_1_to_${ACCOUNTS};
       INSERT INTO entry (account, amount, note) SELECT 1 + seq % ${ACCOUNTS}, seq / 10, CONCAT('note ', seq) FROM seq_1_to_${ENTRIES};
       CREATE USER '${user}'@'%'; GRANT SELECT, INSERT, UPDATE, DELETE ON \`${name}\`.* TO '${user}'@'%';`,
    );
    const slot = unique('ferry_back_my');
    const { file, dir } = await planFor(source, target, (p) => {
      renamed(p);
      p.cdc = {
        slot,
        publication: slot,
        heartbeatSeconds: 1,
        batch: { transactions: 50, changes: 500, bytes: 8 * 2 ** 20, waitMs: 100 },
      };
    });
    const forward = follow(file, dir);
    let back: ReturnType<typeof cutoverReverse> | undefined;
    let client: pg.Client | undefined;
    try {
      await phase(dir, (p) => p.name === 'stream');
      await pgExec(target, `CREATE ROLE ${user} LOGIN; GRANT ALL ON customer, entry TO ${user}`);
      back = cutoverReverse(file, dir);
      const cut = back;
      await until('the cutover', () => cut.out.includes('cut over (run '), cut);
      assert.equal(await exited(forward), 0, forward.out);

      client = new pg.Client({ connectionString: as(target, user) });
      await client.connect();
      const c = client;
      const onTarget = appWriter((s) => c.query(`BEGIN; ${s.join('; ')}; COMMIT`).then(() => {}), targetStatements, 21);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.ok((await onTarget.stop()) > 20);
      await client.end();

      const rollback = ferry(['rollback', '--after-cutover', file, '--max-lag', '5s', '--max-freeze', '60s'], {
        cwd: dir,
      });
      assert.equal(rollback.code, 0, rollback.stdout + rollback.stderr);
      assert.equal(await exited(back), 0, back.out);
      assert.match(back.out, /rolled back: the source takes the application's writes again; the way back is closed/);
    } finally {
      back?.kill('SIGKILL');
      forward.kill('SIGKILL');
      await client?.end().catch(() => {});
    }

    const [src, dst] = await Promise.all([open(source), open(target)]);
    try {
      for (const [from, to] of [
        ['account', 'customer'],
        ['entry', 'entry'],
      ] as const) {
        const [want, got] = await Promise.all([rowsOf(dst, 'target', to), rowsOf(src, 'source', from)]);
        assert.equal(got.length, want.length, `${from}: ${got.length} rows in MariaDB, ${want.length} in PostgreSQL`);
        assert.deepEqual(got, want, from);
      }
    } finally {
      await Promise.all([src.close(), dst.close()]);
    }
    const after = (await mysqlExec(source, 'SELECT count(*) AS n FROM account WHERE id > 100000')) as { n: number }[];
    assert.ok(Number(after[0]!.n) > 0, 'MariaDB holds the accounts the application made on PostgreSQL');
    // the application's MariaDB user writes again, a key the counter gives included; PostgreSQL is frozen for it
    await mysqlExec(as(source, user), `INSERT INTO entry (account, amount) VALUES (1, 4242)`);
    await assert.rejects(
      pgExec(as(target, user), `INSERT INTO customer VALUES (-2, 'late', 0)`),
      /read-only transaction/,
    );

    const finish = ferry(['cutover', file, '--finish'], { cwd: dir });
    assert.equal(finish.code, 0, finish.stdout + finish.stderr);
    const { rows } = await pgExec(
      target,
      `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE $1)::int AS slots,
              (SELECT count(*) FROM pg_publication WHERE pubname LIKE $1)::int AS publications,
              (SELECT count(*) FROM pg_tables WHERE tablename = '_ferry_positions')::int AS positions`,
      [`${slot}%`],
    );
    assert.deepEqual(rows[0], { slots: 0, publications: 0, positions: 0 });
    const positions = (await mysqlExec(source, `SHOW TABLES LIKE '\\_ferry\\_positions'`)) as unknown[];
    assert.equal(positions.length, 0, 'no positions table left in MariaDB');
  });
});
