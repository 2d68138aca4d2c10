// What the tests of `ferry run PLAN --follow` from MariaDB share: the application (two tables,
// random transactions until stopped), where the source's binlog and the plan's state stand, and
// ferry following in a child process.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import type { Plan } from '../../src/core/plan.js';
import { mysqlExec } from '../helpers.js';
import { ferryAsync, ferrySpawn } from './support.js';

const ACCOUNTS = 500;
const ENTRIES = 12_000;

/** A small PRNG, so that a failing run can be told apart from another by its seed. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function seedSource(url: string): Promise<void> {
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
export class Writer {
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
export async function sourcePosition(url: string): Promise<string> {
  const [row] = (await mysqlExec(url, 'SHOW MASTER STATUS')) as { File: string; Position: number }[];
  return `${row!.File}:${row!.Position}`;
}

/** The position the follow loop applied last, from the plan's state. */
export function appliedPosition(dir: string): string | undefined {
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
export async function chunksDone(dir: string, count: number): Promise<void> {
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
export function phaseOf(dir: string, tables = 2): 'copy' | 'handoff' | 'stream' {
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
export async function caughtUp(dir: string, source: string, seconds = 120): Promise<void> {
  const want = await sourcePosition(source);
  for (let i = 0; i < seconds * 10 && appliedPosition(dir) !== want; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(appliedPosition(dir), want, 'the target applied every change the source logged');
}

export interface Follower {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

export function follow(file: string, dir: string): Follower {
  const child = ferrySpawn(['run', file, '--follow'], { cwd: dir });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

export async function stopped(f: Follower, signal: NodeJS.Signals): Promise<number | null> {
  f.child.kill(signal);
  return f.exited;
}

export function planEdit(p: Plan): void {
  p.cdc = {
    slot: 'ferry_follow',
    publication: 'ferry_follow',
    heartbeatSeconds: 1,
    batch: { transactions: 200, changes: 2000, bytes: 2 ** 20, waitMs: 100 },
  };
}

/** Follows while the application writes, stops with SIGTERM once caught up: verify finds the target equal. */
export async function followWhileWriting(source: string, file: string, dir: string): Promise<void> {
  const writer = new Writer(source, 1);
  writer.start();
  const f = follow(file, dir);
  try {
    // the copy, the handoff, then a while of following
    for (let i = 0; i < 600 && appliedPosition(dir) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));
  } finally {
    await writer.stop();
  }
  assert.ok(writer.transactions > 50, `the application wrote (${writer.transactions} transactions)`);
  await caughtUp(dir, source);
  assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
  // without blocking this process: the target may be a server it runs (s3rver)
  const verify = await ferryAsync(['verify', file], { cwd: dir });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
}

/**
 * Kills ferry (SIGKILL) at 10 moments of the copy, the handoff and the stream while the application
 * writes, starting the same command each time, then follows to the end: verify finds the target equal.
 */
export async function followKilledTenTimes(source: string, file: string, dir: string): Promise<void> {
  const writer = new Writer(source, 2);
  const rnd = random(42);
  const phases: string[] = [];
  writer.start();
  try {
    for (let kill = 0; kill < 10; kill++) {
      const f = follow(file, dir);
      // the first kills land in the copy (a few more chunks in each time), the next ones at random,
      // the last ones once the stream is applied (however long a loaded machine takes to get there)
      if (kill < 3) await chunksDone(dir, 2 + kill * 4);
      else if (kill < 6) await new Promise((r) => setTimeout(r, 300 + rnd() * 4000));
      else {
        for (let i = 0; i < 1200 && phaseOf(dir) !== 'stream'; i++) await new Promise((r) => setTimeout(r, 100));
        await new Promise((r) => setTimeout(r, rnd() * 2000));
      }
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
  // without blocking this process: the target may be a server it runs (s3rver)
  const verify = await ferryAsync(['verify', file], { cwd: dir });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
}
