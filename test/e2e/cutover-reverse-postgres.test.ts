// The way back from PostgreSQL to PostgreSQL (a private server with wal_level = logical holds
// both databases). The plan renames a table and a column. `ferry cutover PLAN --reverse` cuts
// over while `ferry run PLAN --follow` runs, opening the target's change log in the frozen
// window, then follows the application's writes to the target back into the source: killed
// (SIGKILL) three times and started again, then stopped (SIGTERM), the source equals the target
// value by value, and `--finish` leaves no slot, publication or positions table. `ferry rollback
// --after-cutover PLAN` switches back: the target frozen, the source writable again for the
// application's account. And the one-line refusals, before anything is frozen.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { pgExec, unique } from '../helpers.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { random } from './follow-support.js';
import { ACCOUNTS, ENTRIES, exited, follow, phase, seedSource, writer } from './follow-pg-support.js';
import { appWriter, assertSame, cutoverReverse, renamed, until, type Statements } from './cutover-reverse-support.js';
import { quickCdc } from './cutover-support.js';
import { ferry, freshDb, oneLine, planFor } from './support.js';

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

/** The application's own account (not ferry's, whose writes no freeze stops), allowed to write the tables. */
async function appAccount(tag: string, source: string, target: string): Promise<{ source: string; target: string }> {
  const role = unique(`app_${tag}`);
  await pgExec(source, `CREATE ROLE ${role} LOGIN; GRANT ALL ON account, entry TO ${role}`);
  await pgExec(target, `GRANT ALL ON customer, entry TO ${role}`);
  const as = (url: string) => url.replace('postgres@', `${role}@`);
  return { source: as(source), target: as(target) };
}

/** Whether the application's account can write to the database now (not frozen). */
async function writable(url: string, table: string, id: number): Promise<boolean | string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`INSERT INTO ${table} VALUES (${id}, 'app', 0)`);
    return true;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end();
  }
}

/**
 * A plan of the two databases, copied and followed while the application writes to the source,
 * the application then stopped and its last write applied: the moment to cut over, with
 * `ferry run PLAN --follow` still running.
 */
async function followed(tag: string) {
  const source = await server.database(unique(`back_src_${tag}`));
  const target = await server.database(unique(`back_dst_${tag}`));
  await seedSource(source);
  const slot = unique(`ferry_back_${tag}`);
  const { file, dir } = await planFor(
    source,
    target,
    (p) => {
      renamed(p);
      p.cdc = quickCdc(slot, 50);
    },
    { rowsPerChunk: 1000 },
  );
  const forward = follow(file, dir);
  const app = writer(source, 7);
  try {
    await phase(dir, (p) => p.name === 'stream');
    await new Promise((resolve) => setTimeout(resolve, 1500));
  } finally {
    await app.stop();
  }
  await pgExec(source, `INSERT INTO account VALUES (0, 'before the cutover', 0)`);
  await until(
    'the forward stream',
    async () => (await pgExec(target, 'SELECT 1 FROM customer WHERE id = 0')).rowCount === 1,
    forward,
  );
  return { source, target, slot, file, dir, forward };
}

/** Replication slots and publications named after `slot`, and positions tables, in a database. */
async function leftBehind(db: string, slot: string) {
  const { rows } = await pgExec(
    db,
    `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE $1 AND database = current_database())::int AS slots,
            (SELECT count(*) FROM pg_publication WHERE pubname LIKE $1)::int AS publications,
            (SELECT count(*) FROM pg_tables WHERE tablename = '_ferry_positions')::int AS positions`,
    [`${slot}%`],
  );
  return rows[0] as { slots: number; publications: number; positions: number };
}

describe('ferry cutover --reverse, PostgreSQL to PostgreSQL', { timeout: 600_000 }, () => {
  test('cutover --reverse, the target written after it, three SIGKILLs of the way back then SIGTERM: the source equals the target; --finish leaves nothing behind', async () => {
    const { source, target, slot, file, dir, forward } = await followed('kill');
    const accounts = await appAccount('kill', source, target);
    let back = cutoverReverse(file, dir);
    const client = new pg.Client({ connectionString: accounts.target });
    let onTarget: { stop(): Promise<number> } | undefined;
    try {
      await until('the cutover', () => back.out.includes('cut over (run '), back);
      // the follow process stops once cut over; the source is frozen for the application
      assert.equal(await exited(forward), 0, forward.out);
      assert.match(String(await writable(accounts.source, 'account', -10)), /read-only transaction/);

      // the application now writes to the target; the way back is killed three times meanwhile
      await client.connect();
      onTarget = appWriter((s) => client.query(`BEGIN; ${s.join('; ')}; COMMIT`).then(() => {}), targetStatements, 11);
      const rnd = random(11);
      for (let kill = 0; kill < 3; kill++) {
        await new Promise((resolve) => setTimeout(resolve, 1500 + rnd() * 2500));
        back.kill('SIGKILL');
        await exited(back);
        back = cutoverReverse(file, dir);
      }
      const transactions = await onTarget.stop();
      assert.ok(transactions > 50, `the application wrote ${transactions} transactions to the target`);
      await client.query(`INSERT INTO customer VALUES (-1, 'the end', 0)`);
      await until('the way back', () => sourceHas(source, -1), back);
      back.kill('SIGTERM');
      assert.equal(await exited(back), 0, back.out);
      assert.match(
        back.out,
        /followed the target back: applied \d+ changes in \d+ transactions; stopped at [0-9A-F]+\/[0-9A-F]+\nthe same command \(`ferry cutover .* --reverse`\) goes on from there/,
      );
    } finally {
      back.kill('SIGKILL');
      forward.kill('SIGKILL');
      await onTarget?.stop().catch(() => {});
      await client.end().catch(() => {});
    }
    await assertSame(source, target);

    const finish = ferry(['cutover', file, '--finish'], { cwd: dir });
    assert.equal(finish.code, 0, finish.stdout + finish.stderr);
    assert.match(
      finish.stdout,
      new RegExp(`released the way back on the target: slot ${slot}_back, publication ${slot}_back`),
    );
    assert.match(
      finish.stdout,
      new RegExp(`released the forward stream on the source: slot ${slot}, publication ${slot}`),
    );
    assert.match(finish.stdout, /released the way back's position in the source/);
    for (const db of [source, target])
      assert.deepEqual(await leftBehind(db, slot), { slots: 0, publications: 0, positions: 0 }, db);
    const audit = ferry(['audit', 'verify', '--state-dir', `${dir}/.ferry`]);
    assert.equal(audit.code, 0, audit.stdout + audit.stderr);
    assert.match(audit.stdout, /intact/);
    // the report of the move shows the cutover and every run of the way back, the finish last
    const report = ferry(['report', '--state-dir', `${dir}/.ferry`]);
    assert.equal(report.code, 0, report.stdout + report.stderr);
    const md = readFileSync(report.stdout.split('\n')[1]!.trim(), 'utf8');
    assert.match(md, /## Cutover\nCutover \S+: \*\*cut over\*\*/);
    assert.match(md, /the way back starts at the target's [0-9A-F]+\/[0-9A-F]+/);
    const wayBack = md.slice(md.indexOf('## The way back'));
    // (a process killed while it starts records no run of its own: how many there are varies)
    assert.match(wayBack, /^ferry follow back \S+: \*\*done\*\*$[^]*stopped following/m);
    assert.match(wayBack, /ferry finish \S+: \*\*done\*\*[^]*finished the move/);
  });

  test('rollback --after-cutover: the target frozen, the way back drained, the source writable again for the application', async () => {
    const { source, target, slot, file, dir, forward } = await followed('rollback');
    const accounts = await appAccount('rollback', source, target);
    const back = cutoverReverse(file, dir);
    const client = new pg.Client({ connectionString: accounts.target });
    try {
      await until('the cutover', () => back.out.includes('cut over (run '), back);
      assert.equal(await exited(forward), 0, forward.out);
      await client.connect();
      const onTarget = appWriter(
        (s) => client.query(`BEGIN; ${s.join('; ')}; COMMIT`).then(() => {}),
        targetStatements,
        12,
      );
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.ok((await onTarget.stop()) > 20);
      await client.end();

      const rollback = ferry(['rollback', '--after-cutover', file, '--max-lag', '5s', '--max-freeze', '60s'], {
        cwd: dir,
      });
      assert.equal(rollback.code, 0, rollback.stdout + rollback.stderr);
      assert.match(
        rollback.stdout,
        /rolled back \(run [^)]+\): the target stays read-only; the application writes to the source again/,
      );
      assert.equal(await exited(back), 0, back.out);
      assert.match(back.out, /rolled back: the source takes the application's writes again; the way back is closed/);
    } finally {
      back.kill('SIGKILL');
      forward.kill('SIGKILL');
      await client.end().catch(() => {});
    }
    await assertSame(source, target);
    // the application writes to the source again, and no longer to the target
    assert.equal(await writable(accounts.source, 'account', -20), true);
    assert.match(String(await writable(accounts.target, 'customer', -20)), /read-only transaction/);
    // the way back is closed on the target; the forward stream keeps its slot for a cutover later
    assert.deepEqual(await leftBehind(target, `${slot}_back`), { slots: 0, publications: 0, positions: 1 });
    assert.deepEqual(await leftBehind(source, slot), { slots: 1, publications: 1, positions: 0 });
  });

  test('a cutover --reverse that aborts (the switch hook fails) closes the way back it opened; following goes on', async () => {
    const { target, slot, file, dir, forward } = await followed('abort');
    try {
      const cut = ferry(
        ['cutover', file, '--reverse', '--switch-hook', 'exit 3', '--max-lag', '5s', '--max-freeze', '60s'],
        { cwd: dir },
      );
      assert.equal(cut.code, 1, cut.stdout + cut.stderr);
      assert.match(
        oneLine(cut.stderr),
        /^ferry: cutover aborted while running the switch hook: .*the source is writable again and following goes on/,
      );
      assert.match(cut.stdout, /the way back starts at the target's /);
      assert.deepEqual(await leftBehind(target, `${slot}_back`), { slots: 0, publications: 0, positions: 1 });
      assert.equal(forward.exitCode, null, 'the follow process goes on');
    } finally {
      forward.kill('SIGKILL');
    }
  });

  test('before a cutover, with a transform, into a target that cannot be followed back: one line each', async () => {
    const source = await server.database(unique('back_refused_src'));
    await pgExec(source, `CREATE TABLE person (id int PRIMARY KEY, email text NOT NULL)`);
    const target = await server.database(unique('back_refused_dst'));
    const plain = await planFor(source, target);
    assert.equal(ferry(['run', plain.file], { cwd: plain.dir }).code, 0);
    const notCut = ferry(['rollback', '--after-cutover', plain.file], { cwd: plain.dir });
    assert.deepEqual(
      [notCut.code, oneLine(notCut.stderr)],
      [
        1,
        `ferry: plan ${plain.file} is not cut over: there is nothing to roll back after a cutover: see \`ferry status PLAN\`; before a cutover the source is still the application's database`,
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
