// `ferry run PLAN --follow` from PostgreSQL (a private server with wal_level = logical) while an
// application keeps writing: transactions over two tables, inserts, updates, deletes, primary-key
// changes, a row inserted and deleted in one transaction, large TOASTed values left unchanged by
// later updates. ferry is killed (SIGKILL) at random moments of the copy, the handoff and the
// stream and started again each time, then stopped (SIGTERM): the target equals the source, by
// ferry verify and value by value.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { PlanStatus } from '../../src/pipeline/observe/status.js';
import { freshPg, mysqlExec, pgExec, unique } from '../helpers.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { random } from './follow-support.js';
import { exited, follow, phase, rowsOf, seedSource, writer, type Phase } from './follow-pg-support.js';
import { ferry, freshDb, oneLine, open, planFor, type Engine } from './support.js';

let server: PrivatePostgres;

before(async () => {
  server = await privatePostgres({
    settings: { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10 },
  });
});
after(() => server?.stop());

const REPLICA_WAL_MESSAGE =
  "ferry: the plan cannot run: the source's wal_level is replica: its changes cannot be followed (logical replication needs wal_level = logical): set wal_level = logical and restart the server (RDS and Aurora: rds.logical_replication = 1 in the parameter group; Cloud SQL: the flag cloudsql.logical_decoding = on)";

/** The target's account row `id` (the last transaction's marker), once applied. */
async function targetHas(engine: Engine, url: string, id: number): Promise<boolean> {
  try {
    if (engine === 'postgres') return (await pgExec(url, 'SELECT 1 FROM account WHERE id = $1', [id])).rowCount === 1;
    if (engine === 'mysql')
      return ((await mysqlExec(url, 'SELECT 1 FROM account WHERE id = ?', [id])) as unknown[]).length === 1;
    const db = new Database(url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT 1 FROM account WHERE id = ?').get(id) !== undefined;
    } finally {
      db.close();
    }
  } catch {
    return false; // the table is not there yet
  }
}

/**
 * When ferry is killed: in the copy; at the handoff (the copy is in, nothing applied yet); at a
 * random moment; at a random moment of the stream (however long a loaded machine takes to get
 * there); or in the stream while the target stalls (its tables locked for 4 s: changes come in,
 * none is applied, and the stream's heartbeats ask the server for a status update meanwhile).
 */
type KillMoment = 'copy' | 'handoff' | 'random' | 'stream' | 'stalled';

async function followWithKills(engine: Engine, moments: KillMoment[], seed: number): Promise<void> {
  const source = await server.database(unique(`follow_src_${engine}_${seed}`));
  await seedSource(source);
  const target = await freshDb(engine, `ferry_follow_dst_${seed}`);
  const slot = unique(`ferry_follow_${engine}_${seed}`);
  const { file, dir } = await planFor(
    source,
    target,
    (p) => {
      p.cdc = {
        slot,
        publication: slot,
        heartbeatSeconds: 1,
        batch: { transactions: 50, changes: 500, bytes: 2 ** 20, waitMs: 100 },
      };
    },
    { rowsPerChunk: 200 },
  );
  const rnd = random(seed);
  const app = writer(source, seed);
  let run = follow(file, dir);
  const killedIn: Phase[] = [];
  try {
    for (const moment of moments) {
      let stall: pg.Client | undefined;
      if (moment === 'copy') await phase(dir, (p) => p.chunksDone >= 3);
      else if (moment === 'handoff') await phase(dir, (p) => p.name !== 'copy');
      else if (moment === 'random') await new Promise((resolve) => setTimeout(resolve, 300 + rnd() * 3000));
      else if (moment === 'stream') {
        await phase(dir, (p) => p.name === 'stream');
        await new Promise((resolve) => setTimeout(resolve, rnd() * 2000));
      } else {
        await phase(dir, (p) => p.name === 'stream');
        stall = new pg.Client({ connectionString: target });
        await stall.connect();
        await stall.query('BEGIN; LOCK TABLE account, entry IN ACCESS EXCLUSIVE MODE');
        await new Promise((resolve) => setTimeout(resolve, 4000));
      }
      killedIn.push((await phase(dir, () => true)).name);
      run.kill('SIGKILL');
      await exited(run);
      await stall?.end();
      run = follow(file, dir);
    }
    if (
      moments.includes('copy') &&
      moments.includes('handoff') &&
      moments.some((m) => m === 'random' || m === 'stream')
    )
      for (const p of ['copy', 'handoff', 'stream'] as const)
        assert.ok(killedIn.includes(p), `killed in ${killedIn.join(', ')}`);
    const transactions = await app.stop();
    assert.ok(transactions > 50, `the application wrote ${transactions} transactions`);
    await pgExec(source, `INSERT INTO account VALUES (0, 'the end', 0)`);
    for (let i = 0; i < 600 && !(await targetHas(engine, target, 0)); i++) {
      if (run.exitCode !== null) assert.fail(`ferry run --follow ended by itself: ${run.out}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    run.kill('SIGTERM');
    assert.equal(await exited(run), 0, run.out);
    assert.match(
      run.out,
      /followed live changes: applied \d+ changes in \d+ transactions; stopped at [0-9A-F]+\/[0-9A-F]+: the same command goes on from there/,
    );
  } finally {
    run.kill('SIGKILL');
    await app.stop().catch(() => {});
  }
  // where the stream stands, and the WAL the slot keeps for it
  const status = ferry(['status', file, '--json'], { cwd: dir });
  assert.equal(status.code, 0, status.stderr);
  const stream = (JSON.parse(status.stdout) as PlanStatus).stream!;
  assert.match(`${stream.applied} ${stream.sourcePosition}`, /^[0-9A-F]+\/[0-9A-F]+ [0-9A-F]+\/[0-9A-F]+$/);
  assert.equal(typeof stream.retainedBytes, 'number');
  const verify = ferry(['verify', file], { cwd: dir });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  const [src, dst] = await Promise.all([open(source), open(target)]);
  try {
    for (const table of ['account', 'entry']) {
      const [want, got] = await Promise.all([rowsOf(src, 'source', table), rowsOf(dst, 'target', table)]);
      assert.equal(got.length, want.length, `${table}: ${got.length} rows in the target, ${want.length} in the source`);
      assert.deepEqual(got, want, table);
    }
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
  // the target took changes since the run recorded it: the rollback is forced
  const rollback = ferry(['rollback', '--force'], { cwd: dir });
  assert.equal(rollback.code, 0, rollback.stdout + rollback.stderr);
  const { rows } = await pgExec(
    source,
    `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)::int AS slots,
            (SELECT count(*) FROM pg_publication WHERE pubname = $1)::int AS publications`,
    [slot],
  );
  assert.deepEqual(rows[0], { slots: 0, publications: 0 }, 'ferry rollback drops the slot and the publication');
}

describe('ferry run --follow from PostgreSQL', { timeout: 600_000 }, () => {
  test('a source whose wal_level is not logical: one line before anything is written', async () => {
    const replica = await privatePostgres({ settings: { wal_level: 'replica' } });
    try {
      const source = await replica.database('app');
      await pgExec(source, 'CREATE TABLE t (id int PRIMARY KEY)');
      const target = await freshPg('ferry_follow_replica_dst');
      const { file, dir } = await planFor(source, target);
      const r = ferry(['run', file, '--follow'], { cwd: dir });
      assert.deepEqual([r.code, oneLine(r.stderr)], [1, REPLICA_WAL_MESSAGE]);
      const { rows } = await pgExec(target, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
      assert.equal(rows[0].n, 0);
    } finally {
      replica.stop();
    }
  });

  test('into PostgreSQL: a concurrent writer, SIGKILL at 10 moments (the copy, the handoff, 8 random), then SIGTERM: the target equals the source', () =>
    followWithKills('postgres', ['copy', 'handoff', ...Array<KillMoment>(8).fill('random')], 1));
  test('into PostgreSQL: SIGKILL while the target stalls and changes keep coming: nothing received but not applied is lost', () =>
    followWithKills('postgres', ['stalled', 'stalled'], 4));
  test('into MariaDB: a concurrent writer, SIGKILL in the copy, at the handoff and at a random moment of the stream', () =>
    followWithKills('mysql', ['copy', 'handoff', 'stream'], 2));
  test('into SQLite: a concurrent writer, SIGKILL in the copy, at the handoff and at a random moment of the stream', () =>
    followWithKills('sqlite', ['copy', 'handoff', 'stream'], 3));
});
