// `ferry run PLAN --follow` from MariaDB (a private server writing a row binlog) while an
// application writes: transactions over two tables, inserts, updates, deletes, primary keys
// changed, a row inserted and deleted in one transaction. Stopped with SIGTERM, or killed with
// SIGKILL at random moments and started again, the target ends equal to the source.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import type { Plan } from '../../src/core/plan.js';
import { freshMysql, freshPg, freshSqlite, mysqlExec } from '../helpers.js';
import { mysqlKindsRows, mysqlKindsTable } from '../fixtures/mysql-kinds.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { ferry, ferrySpawn, planFor } from './support.js';

const ACCOUNTS = 500;
const ENTRIES = 12_000;

/** A small PRNG, so that a failing run can be told apart from another by its seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function seedSource(url: string): Promise<void> {
  await mysqlExec(
    url,
    `CREATE TABLE accounts (id int PRIMARY KEY, owner varchar(40) NOT NULL, balance decimal(14,2) NOT NULL,
       flags set('frozen','vip') NOT NULL DEFAULT '', updated datetime(6) NOT NULL);
     CREATE TABLE entries (id bigint PRIMARY KEY AUTO_INCREMENT, account int NOT NULL, amount decimal(12,2) NOT NULL,
       note text, at timestamp(3) NULL);
     INSERT INTO accounts SELECT seq, CONCAT('owner ', seq), seq * 10, IF(seq % 7 = 0, 'vip', ''), '2024-01-01 00:00:00.5'
       FROM seq_1_to_${ACCOUNTS};
     INSERT INTO entries (account, amount, note, at) SELECT 1 + seq % ${ACCOUNTS}, seq / 100, CONCAT('entry ', seq), '2024-02-03 04:05:06.789'
       FROM seq_1_to_${ENTRIES}`,
  );
}

/** The application: random transactions on the source until stopped. */
class Writer {
  transactions = 0;
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly seed: number,
  ) {}

  start(): void {
    this.stopped = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    const c = await mysql.createConnection({ uri: this.url, multipleStatements: true });
    const rnd = random(this.seed + this.transactions);
    const pick = (n: number) => 1 + Math.floor(rnd() * n);
    try {
      while (!this.stopped) {
        const a = pick(ACCOUNTS);
        const b = pick(ACCOUNTS);
        const amount = (pick(100_000) / 100).toFixed(2);
        const entry = pick(ENTRIES);
        const statements = [
          // a transfer: two tables in one transaction
          `START TRANSACTION;
           INSERT INTO entries (account, amount, note, at) VALUES (${a}, ${amount}, 'transfer to ${b}', NOW(3));
           UPDATE accounts SET balance = balance - ${amount}, updated = NOW(6) WHERE id = ${a};
           UPDATE accounts SET balance = balance + ${amount}, updated = NOW(6) WHERE id = ${b};
           COMMIT`,
          `DELETE FROM entries WHERE id = ${entry}`,
          // a primary key changed (to a negative one, which leaves the auto-increment counter alone)
          `UPDATE entries SET id = -id WHERE id = ${entry}`,
          // a row inserted and deleted in one transaction
          `START TRANSACTION; INSERT INTO entries (account, amount, note) VALUES (${a}, 1, 'fleeting');
           DELETE FROM entries WHERE id = LAST_INSERT_ID(); COMMIT`,
          // many rows in one statement
          `UPDATE entries SET amount = amount + 1, note = CONCAT(note, '+') WHERE account = ${a}`,
          `UPDATE accounts SET flags = IF(flags = '', 'frozen,vip', ''), owner = REPEAT('x', ${pick(40)}) WHERE id = ${a}`,
          `INSERT INTO accounts VALUES (${ACCOUNTS + this.transactions + 1}, 'new', 0, 'frozen', NOW(6))`,
        ];
        await c.query(statements[Math.floor(rnd() * statements.length)]!);
        this.transactions++;
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await c.end();
    }
  }
}

/** Where the source's binlog stands now. */
async function sourcePosition(url: string): Promise<string> {
  const [row] = (await mysqlExec(url, 'SHOW MASTER STATUS')) as { File: string; Position: number }[];
  return `${row!.File}:${row!.Position}`;
}

/** The position the follow loop applied last, from the plan's state. */
function appliedPosition(dir: string): string | undefined {
  try {
    const db = new Database(join(dir, '.ferry', 'state.db'), { readonly: true, fileMustExist: true });
    try {
      return (
        (db.prepare('SELECT applied FROM streams').get() as { applied: string | null } | undefined)?.applied ??
        undefined
      );
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/** Waits until `count` chunks of the copy are durable (a minute at most). */
async function chunksDone(dir: string, count: number): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    try {
      const db = new Database(join(dir, '.ferry', 'state.db'), { readonly: true, fileMustExist: true });
      try {
        if ((db.prepare("SELECT count(*) FROM chunks WHERE status = 'done'").pluck().get() as number) >= count) return;
      } finally {
        db.close();
      }
    } catch {
      // no state yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Where a followed run stands by its state: copying, copied but nothing applied yet, or streaming. */
function phaseOf(dir: string, tables = 2): 'copy' | 'handoff' | 'stream' {
  if (appliedPosition(dir) !== undefined) return 'stream';
  try {
    const db = new Database(join(dir, '.ferry', 'state.db'), { readonly: true, fileMustExist: true });
    try {
      const statuses = db.prepare('SELECT status FROM tables').pluck().all() as string[];
      return statuses.length === tables && statuses.every((s) => s === 'linked') ? 'handoff' : 'copy';
    } finally {
      db.close();
    }
  } catch {
    return 'copy';
  }
}

/** Waits until the target has applied everything the source logged (two minutes at most). */
async function caughtUp(dir: string, source: string): Promise<void> {
  const want = await sourcePosition(source);
  for (let i = 0; i < 1200 && appliedPosition(dir) !== want; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(appliedPosition(dir), want, 'the target applied every change the source logged');
}

interface Follower {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

function follow(file: string, dir: string): Follower {
  const child = ferrySpawn(['run', file, '--follow'], { cwd: dir });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

async function stopped(f: Follower, signal: NodeJS.Signals): Promise<number | null> {
  f.child.kill(signal);
  return f.exited;
}

function planEdit(p: Plan): void {
  p.cdc = {
    slot: 'ferry_follow',
    publication: 'ferry_follow',
    heartbeatSeconds: 1,
    batch: { transactions: 200, changes: 2000, waitMs: 100 },
  };
}

describe('follow: MariaDB -> every SQL target while the application writes', () => {
  let server: PrivateMariadb;
  before(async () => {
    server = await privateMariadb({ binlog: true });
  });
  after(async () => server?.stop());

  const targets: [string, () => Promise<string>][] = [
    ['PostgreSQL', () => freshPg('follow_my_pg')],
    ['MariaDB', () => freshMysql('follow_my_my')],
    ['SQLite', async () => freshSqlite('follow_my_lite')],
  ];
  for (const [name, fresh] of targets)
    test(`-> ${name}: changes during and after the copy, stopped with SIGTERM: the target equals the source`, async () => {
      const source = await server.database(`follow_${name.toLowerCase()}`);
      await seedSource(source);
      const { file, dir } = await planFor(source, await fresh(), planEdit, { rowsPerChunk: 1000 });
      const writer = new Writer(source, 1);
      writer.start();
      const f = follow(file, dir);
      try {
        // the copy, the handoff, then a while of following
        for (let i = 0; i < 600 && appliedPosition(dir) === undefined; i++)
          await new Promise((r) => setTimeout(r, 100));
        await new Promise((r) => setTimeout(r, 2000));
      } finally {
        await writer.stop();
      }
      assert.ok(writer.transactions > 50, `the application wrote (${writer.transactions} transactions)`);
      await caughtUp(dir, source);
      assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
      const verify = ferry(['verify', file], { cwd: dir });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      // where the source's binlog stands, and the target holds all of it
      const status = ferry(['status', file, '--json'], { cwd: dir });
      assert.equal(status.code, 0, status.stderr);
      const { phase, stream } = JSON.parse(status.stdout) as { phase: string; stream: Record<string, unknown> };
      const at = await sourcePosition(source);
      assert.equal(phase, 'following');
      assert.equal(stream.applied, at);
      assert.equal(stream.sourcePosition, at);
      assert.equal(typeof stream.lagSeconds, 'number');
    });

  for (const [name, fresh] of targets)
    test(`-> ${name}: values of every type the source reads, copied, then inserted, updated and deleted live: the target equals the source`, async () => {
      const source = await server.database(`follow_kinds_${name.toLowerCase()}`);
      await mysqlExec(
        source,
        `SET time_zone = '+00:00'; ${mysqlKindsTable('kinds')}; INSERT INTO kinds VALUES ${mysqlKindsRows(1)}`,
      );
      const { file, dir } = await planFor(source, await fresh(), planEdit);
      const f = follow(file, dir);
      for (let i = 0; i < 600 && phaseOf(dir, 1) === 'copy'; i++) await new Promise((r) => setTimeout(r, 100));
      await mysqlExec(
        source,
        `SET time_zone = '+00:00'; INSERT INTO kinds VALUES ${mysqlKindsRows(10)};
         UPDATE kinds SET id = id + 100 WHERE id = 2;
         UPDATE kinds SET vc = 'changed', geo = ST_GeomFromText('POINT(3 4)', 3857), s = 'y', b12 = b'111' WHERE id = 1;
         UPDATE kinds SET i = 1, j = '{}' WHERE id = 12;
         DELETE FROM kinds WHERE id = 3`,
      );
      await caughtUp(dir, source);
      assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
      const verify = ferry(['verify', file], { cwd: dir });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    });

  for (const [name, fresh] of targets)
    test(`-> ${name}: killed (SIGKILL) at 10 random moments of the copy, the handoff and the stream, the same command each time: the target equals the source`, async () => {
      const source = await server.database(`follow_killed_${name.toLowerCase()}`);
      await seedSource(source);
      const { file, dir } = await planFor(source, await fresh(), planEdit, { rowsPerChunk: 500 });
      const writer = new Writer(source, 2);
      const rnd = random(42);
      const phases: string[] = [];
      writer.start();
      try {
        for (let kill = 0; kill < 10; kill++) {
          const f = follow(file, dir);
          // the first kills land in the copy (a few more chunks in each time), the later ones at random
          if (kill < 3) await chunksDone(dir, 2 + kill * 4);
          else await new Promise((r) => setTimeout(r, 300 + rnd() * 4000));
          phases.push(phaseOf(dir));
          const code = await stopped(f, 'SIGKILL');
          assert.equal(code, null, `killed, not ended by itself: ${f.stderr()}`);
        }
      } finally {
        await writer.stop();
      }
      assert.ok(
        phases.includes('copy') && phases.includes('stream'),
        `killed while copying and while streaming: ${phases}`,
      );
      const f = follow(file, dir);
      await caughtUp(dir, source);
      assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
      const verify = ferry(['verify', file], { cwd: dir });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    });

  test('a binlog purged while ferry was stopped: the same command says in one line that the changes are lost and what to do', async () => {
    const source = await server.database('follow_purged');
    await seedSource(source);
    const { file, dir } = await planFor(source, await freshPg('follow_my_purged'), planEdit);
    const f = follow(file, dir);
    for (let i = 0; i < 600 && appliedPosition(dir) === undefined; i++) {
      if (i % 10 === 0) await mysqlExec(source, 'UPDATE accounts SET balance = balance + 1 WHERE id = 1');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
    await mysqlExec(source, 'UPDATE accounts SET balance = balance + 1 WHERE id = 2; FLUSH BINARY LOGS');
    const newest = (await sourcePosition(source)).split(':')[0]!;
    // MariaDB keeps a binlog until its binlog checkpoint moved past it
    for (let i = 0; i < 50; i++) {
      await mysqlExec(source, `PURGE BINARY LOGS TO '${newest}'`);
      const [oldest] = (await mysqlExec(source, 'SHOW BINARY LOGS')) as { Log_name: string }[];
      if (oldest!.Log_name === newest) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const again = ferry(['run', file, '--follow'], { cwd: dir });
    assert.equal(again.code, 1, again.stderr);
    const lines = again.stderr.trim().split('\n');
    assert.equal(lines.length, 1, again.stderr);
    assert.match(
      lines[0]!,
      /^ferry: MySQL at 127\.0\.0\.1:\d+ no longer has the binlog from binlog\.\d+:\d+ \(its oldest binlog is binlog\.\d+\): the changes since then cannot be followed: copy the plan afresh \(ferry rollback PLAN, then ferry run PLAN --follow\)/,
    );
  });
});
