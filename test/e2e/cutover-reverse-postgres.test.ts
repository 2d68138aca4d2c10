// The way back from PostgreSQL to PostgreSQL (a private server with wal_level = logical holds
// both databases): the plan renames a table and a column; after the copy and the stream, the
// way back is opened where the target stands; the application then writes to the target while
// `ferry cutover PLAN --reverse` follows it back into the source, killed (SIGKILL) three times
// and started again, then stopped (SIGTERM): the source equals the target value by value. Then
// `ferry cutover PLAN --finish` leaves no slot, publication or positions table behind. And the
// one-line refusals: no way back open yet; a transform that cannot be turned back; a target
// whose changes cannot be followed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { pgExec, unique } from '../helpers.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { random } from './follow-support.js';
import { ACCOUNTS, ENTRIES, exited, follow, phase, rowsOf, seedSource, writer } from './follow-pg-support.js';
import { appWriter, followBack, openWayBackOf, renamed, type Statements } from './cutover-reverse-support.js';
import { ferry, freshDb, oneLine, open, planFor } from './support.js';

let server: PrivatePostgres;

before(async () => {
  server = await privatePostgres({
    settings: { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10 },
  });
});
after(() => server?.stop());

/** The application on the target after the switch, under the plan's names (customer.holder). */
const targetStatements: Statements = (op, pick, next) => {
  const a = pick(ACCOUNTS);
  const e = pick(ENTRIES);
  const n = next();
  if (op === 0)
    return [
      `INSERT INTO customer VALUES (${100_000 + n}, 'after ${n}', 0)`,
      `INSERT INTO entry VALUES (${50_000_000 + n}, ${100_000 + n}, 12.5, 'opening', 'doc')`,
      `UPDATE customer SET balance = balance + 12.5 WHERE id = ${100_000 + n}`,
    ];
  if (op === 1)
    return [
      `UPDATE customer SET balance = balance - 1.25, holder = holder || '?' WHERE id = ${a}`,
      `INSERT INTO entry VALUES (${50_000_000 + n}, ${a}, -1.25, 'fee', NULL)`,
    ];
  if (op === 2) return [`DELETE FROM entry WHERE id = (SELECT max(id) FROM entry WHERE id <= ${e})`];
  if (op === 3)
    return [
      `UPDATE entry SET id = id + 30000000 WHERE id = (SELECT min(id) FROM entry WHERE id >= ${e} AND id < 30000000)`,
    ];
  return [
    `INSERT INTO entry VALUES (${60_000_000 + n}, ${a}, 1, 'fleeting', 'x')`,
    `DELETE FROM entry WHERE id = ${60_000_000 + n}`,
  ];
};

/** Whether the source holds account `id`. */
async function sourceHas(url: string, id: number): Promise<boolean> {
  return (await pgExec(url, 'SELECT 1 FROM account WHERE id = $1', [id])).rowCount === 1;
}

async function until(what: string, ok: () => Promise<boolean>, child?: { exitCode: number | null; out: string }) {
  for (let i = 0; i < 900; i++) {
    if (await ok()) return;
    if (child && child.exitCode !== null) assert.fail(`ended by itself while waiting for ${what}: ${child.out}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`waited 90 s for ${what}`);
}

describe('ferry cutover --reverse, PostgreSQL to PostgreSQL', { timeout: 600_000 }, () => {
  test('the target written after the cutover, followed back with three SIGKILLs then SIGTERM: the source equals the target; --finish leaves nothing behind', async () => {
    const source = await server.database(unique('back_src'));
    const target = await server.database(unique('back_dst'));
    await seedSource(source);
    const slot = unique('ferry_back');
    const { file, dir } = await planFor(
      source,
      target,
      (p) => {
        renamed(p);
        p.cdc = {
          slot,
          publication: slot,
          heartbeatSeconds: 1,
          batch: { transactions: 50, changes: 500, waitMs: 100 },
        };
      },
      { rowsPerChunk: 1000 },
    );
    // the move: the copy, then live changes while the application writes to the source
    const forward = follow(file, dir);
    const app = writer(source, 7);
    try {
      await phase(dir, (p) => p.name === 'stream');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await app.stop();
      await pgExec(source, `INSERT INTO account VALUES (0, 'frozen here', 0)`);
      await until(
        'the forward stream',
        async () => (await pgExec(target, 'SELECT 1 FROM customer WHERE id = 0')).rowCount === 1,
        forward,
      );
      forward.kill('SIGTERM');
      assert.equal(await exited(forward), 0, forward.out);
    } finally {
      forward.kill('SIGKILL');
      await app.stop().catch(() => {});
    }

    // the cutover's part of the way back, with the source quiet and the forward stream drained
    const start = await openWayBackOf(file);
    assert.match(start, /^[0-9A-F]+\/[0-9A-F]+$/);

    // the application now writes to the target; the way back is killed three times meanwhile
    const client = new pg.Client({ connectionString: target });
    await client.connect();
    const onTarget = appWriter(
      (s) => client.query(`BEGIN; ${s.join('; ')}; COMMIT`).then(() => {}),
      targetStatements,
      11,
    );
    const rnd = random(11);
    let back = followBack(file, dir);
    try {
      for (let kill = 0; kill < 3; kill++) {
        await new Promise((resolve) => setTimeout(resolve, 800 + rnd() * 2500));
        back.kill('SIGKILL');
        await exited(back);
        back = followBack(file, dir);
      }
      const transactions = await onTarget.stop();
      assert.ok(transactions > 50, `the application wrote ${transactions} transactions to the target`);
      await client.query(`INSERT INTO customer VALUES (-1, 'the end', 0)`);
      await until('the way back', () => sourceHas(source, -1), back);
      back.kill('SIGTERM');
      assert.equal(await exited(back), 0, back.out);
      assert.match(
        back.out,
        /followed the target back: applied \d+ changes in \d+ transactions; stopped at [0-9A-F]+\/[0-9A-F]+: the same command goes on from there/,
      );
    } finally {
      back.kill('SIGKILL');
      await onTarget.stop().catch(() => {});
      await client.end();
    }

    const [src, dst] = await Promise.all([open(source), open(target)]);
    try {
      for (const [from, to] of [
        ['account', 'customer'],
        ['entry', 'entry'],
      ] as const) {
        const [want, got] = await Promise.all([rowsOf(dst, 'target', to), rowsOf(src, 'source', from)]);
        assert.equal(
          got.length,
          want.length,
          `${from}: ${got.length} rows in the source, ${want.length} in the target`,
        );
        assert.deepEqual(got, want, from);
      }
    } finally {
      await Promise.all([src.close(), dst.close()]);
    }

    const finish = ferry(['cutover', file, '--finish'], { cwd: dir });
    assert.equal(finish.code, 0, finish.stdout + finish.stderr);
    assert.match(
      finish.stdout,
      new RegExp(`released the way back on the target: slot ${slot}_back, publication ${slot}_back`),
    );
    for (const db of [source, target]) {
      const { rows } = await pgExec(
        db,
        `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE $1)::int AS slots,
                (SELECT count(*) FROM pg_publication WHERE pubname LIKE $1)::int AS publications,
                (SELECT count(*) FROM pg_tables WHERE tablename = '_ferry_positions')::int AS positions`,
        [`${slot}%`],
      );
      assert.deepEqual(rows[0], { slots: 0, publications: 0, positions: 0 }, db);
    }
    const audit = ferry(['audit', 'verify', '--state-dir', `${dir}/.ferry`]);
    assert.equal(audit.code, 0, audit.stdout + audit.stderr);
  });

  test('before a cutover, with a transform, into a target that cannot be followed back: one line each', async () => {
    const source = await server.database(unique('back_refused_src'));
    await pgExec(source, `CREATE TABLE person (id int PRIMARY KEY, email text NOT NULL)`);
    const target = await server.database(unique('back_refused_dst'));
    const plain = await planFor(source, target);
    assert.equal(ferry(['run', plain.file], { cwd: plain.dir }).code, 0);
    const notOpen = ferry(['cutover', plain.file, '--reverse'], { cwd: plain.dir });
    assert.deepEqual(
      [notOpen.code, oneLine(notOpen.stderr)],
      [
        1,
        `ferry: ${plain.file} has no way back open: the target's changes are followed back only after a cutover with --reverse: run \`ferry cutover ${plain.file} --reverse\` while \`ferry run ${plain.file} --follow\` runs`,
      ],
    );

    const masked = await planFor(source, target, (p) => {
      p.waves[0]!.tables[0]!.columns[1]!.transform = { mask: { keepFirst: 1, keepLast: 4, char: '*' } };
    });
    assert.equal(ferry(['run', masked.file], { cwd: masked.dir }).code, 0);
    const refused = ferry(['cutover', masked.file, '--reverse'], { cwd: masked.dir });
    assert.deepEqual(
      [refused.code, oneLine(refused.stderr)],
      [
        1,
        "ferry: the way back cannot follow person: column email is masked on the way: its values cannot be turned back into the source's: cut over without --reverse (the old database then stays as it was at the freeze), or change the plan so that the table goes back as it came (and copy it again)",
      ],
    );

    const lite = await freshDb('sqlite', 'ferry_back_lite');
    const toSqlite = await planFor(source, lite);
    const sqlite = ferry(['cutover', toSqlite.file, '--reverse'], { cwd: toSqlite.dir });
    assert.deepEqual(
      [sqlite.code, oneLine(sqlite.stderr)],
      [
        1,
        'ferry: sqlite targets cannot be followed back into the source: the way back (--reverse) needs a PostgreSQL or MySQL/MariaDB target: cut over without --reverse',
      ],
    );
  });
});
