// What the tests of `ferry cutover` share: an application writing through an ordinary account
// (no superuser, no SUPER) that reconnects when refused, ferry following in a child process, and
// the checks after a cutover and after an abort.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Plan } from '../../src/core/plan.js';
import { mysqlExec, pgExec, unique } from '../helpers.js';
import { rowsOf } from './follow-pg-support.js';
import { ferryAsync, ferrySpawn, oneLine, open, planFor, type CliResult } from './support.js';

/** One connection of the application: a write (an insert without a key, an update, a delete) by number. */
export interface AppConnection {
  write(n: number): Promise<void>;
  close(): Promise<void>;
}

/** The application: writes one after another until stopped, a new connection after each refusal. */
export class App {
  committed = 0;
  refused = 0;
  lastError = '';
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly connect: () => Promise<AppConnection>,
    private readonly pauseMs = 5,
  ) {}

  start(): this {
    this.running = this.loop();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    let n = 0;
    let conn: AppConnection | undefined;
    while (!this.stopped) {
      try {
        conn ??= await this.connect();
        await conn.write(n++);
        this.committed++;
      } catch (e) {
        this.refused++;
        this.lastError = (e as Error).message;
        await conn?.close().catch(() => {});
        conn = undefined;
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, this.pauseMs));
    }
    await conn?.close().catch(() => {});
  }
}

export interface Follower {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

/** Starts `ferry run PLAN --follow` in `dir`. */
export function follow(file: string, dir: string): Follower {
  const child = ferrySpawn(['run', file, '--follow'], { cwd: dir });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exit };
}

/** `ferry status PLAN --json` */
export async function status(file: string, dir: string): Promise<{ phase: string; stream?: { applied?: string } }> {
  const r = await ferryAsync(['status', file, '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { phase: string };
}

/** Waits until `ok` holds (a minute at most). */
export async function until(what: string, ok: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`waited a minute for ${what}`);
}

export function cutover(file: string, dir: string, args: string[] = []): Promise<CliResult> {
  return ferryAsync(['cutover', file, ...args], { cwd: dir });
}

/** The JSON a successful `ferry cutover --json` printed, with its timings checked for shape. */
export function cutoverResult(r: CliResult): {
  frozenMs: number;
  freezeMs: number;
  markMs: number;
  drainMs: number;
  verifyMs: number;
  sequencesMs: number;
  positions: { start: string; frozen: string; applied: string };
  freeze: { steps: string[]; unstoppable: { account: string; ended: boolean }[] };
  sequences: { set: string[]; notSet: string[] };
  verified: { table: string; chunks: number; status: string }[];
  compacted?: { table: string; changeFiles: number }[];
} {
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout) as ReturnType<typeof cutoverResult>;
  for (const k of ['frozenMs', 'freezeMs', 'markMs', 'drainMs', 'verifyMs', 'sequencesMs'] as const)
    assert.equal(typeof c[k], 'number', k);
  return c;
}

/** The events of the state folder's cutover audit logs, in order. */
export function cutoverEvents(dir: string): string[] {
  const folder = join(dir, '.ferry', 'audit');
  const events: string[] = [];
  for (const f of readdirSync(folder).sort()) {
    const lines = readFileSync(join(folder, f), 'utf8').trim().split('\n');
    const first = JSON.parse(lines[0]!) as { command: string };
    if (first.command !== 'cutover') continue;
    for (const l of lines) events.push((JSON.parse(l) as { event: string }).event);
  }
  return events;
}

/** Runs SQL on a PostgreSQL or MySQL URL: the rows, or for an insert into entry without a key, its id. */
export async function sql(url: string, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  if (url.startsWith('postgres')) return (await pgExec(url, text, params)).rows as Record<string, unknown>[];
  const r = await mysqlExec(url, text, params);
  return Array.isArray(r) ? (r as Record<string, unknown>[]) : [{ id: (r as { insertId: number }).insertId }];
}

/** The same URL as another account. */
export function as(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = '';
  return u.toString();
}

/** What a cutover test of one source and target needs. */
export interface CutoverFixture {
  /** the source as ferry's account (seeded: account, entry with auto-increment keys) and as the application's */
  source: string;
  appSource: string;
  target: string;
  /** inserts an entry without a key as the application on `url`; its key */
  insertEntry(url: string): Promise<string>;
  /** the next key the source's entry counter gives */
  sourceNext(): Promise<bigint>;
  /** what refuses the application's writes on the frozen source */
  refused: RegExp;
  /** an account with SUPER (MySQL) holding a session open during the cutover, or none */
  privileged?: { account: string; hold(): Promise<() => Promise<void>> };
  close(): Promise<void>;
}

export const ACCOUNTS = 200;

/** The application's writes: an insert without a key, an update, a delete now and then. */
export async function appConnection(url: string): Promise<AppConnection> {
  if (url.startsWith('postgres')) {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => {});
    await c.connect();
    return {
      write: async (n) => {
        await c.query(appStatement(n, '$1', '$2'), appParams(n));
      },
      close: () => c.end(),
    };
  }
  const c = await mysql.createConnection({ uri: url });
  c.on('error', () => {});
  return {
    write: async (n) => {
      await c.query(appStatement(n, '?', '?'), appParams(n));
    },
    close: () => c.end(),
  };
}

function appStatement(n: number, p1: string, p2: string): string {
  if (n % 10 === 9) return `DELETE FROM entry WHERE id = ${p1}`;
  if (n % 2) return `UPDATE account SET balance = balance + 1 WHERE id = ${p1}`;
  return `INSERT INTO entry (account, amount) VALUES (${p1}, ${p2})`;
}

function appParams(n: number): unknown[] {
  if (n % 10 === 9) return [n * 3];
  return n % 2 ? [1 + (n % ACCOUNTS)] : [1 + (n % ACCOUNTS), n % 97];
}

/** A plan's cdc section for the tests: slot and publication `slot`, heartbeats every second, small batches sent within 100 ms. */
export function quickCdc(slot: string, transactions: number): NonNullable<Plan['cdc']> {
  return {
    slot,
    publication: slot,
    heartbeatSeconds: 1,
    batch: { transactions, changes: transactions * 10, bytes: 8 * 2 ** 20, waitMs: 100 },
  };
}

/** The plan of a fixture, following live changes with heartbeats every second. */
export function followedPlan(fx: CutoverFixture): Promise<{ file: string; dir: string }> {
  const slot = unique('ferry_cutover');
  return planFor(fx.source, fx.target, (p) => (p.cdc = quickCdc(slot, 100)), { rowsPerChunk: 500 });
}

/** After a cutover: the target holds the frozen source's rows exactly, and the application cannot write on the source. */
export async function assertCutOver(fx: CutoverFixture): Promise<void> {
  await assert.rejects(fx.insertEntry(fx.appSource), fx.refused);
  const s = await open(fx.source);
  const t = await open(fx.target);
  try {
    for (const table of ['account', 'entry'])
      assert.deepEqual(await rowsOf(t, 'target', table), await rowsOf(s, 'source', table), table);
  } finally {
    await Promise.all([s.close(), t.close()]);
  }
  const next = await fx.sourceNext();
  const inserted = BigInt(await fx.insertEntry(fx.target));
  assert.ok(inserted >= next, `${inserted} >= ${next}`);
}

/**
 * The cutover tests of one pair: each abort (a failing switch hook, a freeze past --max-freeze, a
 * target that differs, a lag never under --max-lag) leaves the source writable and following on,
 * and so does `--unfreeze` after a cutover killed while frozen;
 * then a cutover under the application's writes: the target equals the frozen source, the
 * application cannot write on the source, an insert without a key succeeds on the target, and the
 * follow process ends with 0.
 */
export function cutoverTests(make: () => Promise<CutoverFixture>): void {
  let fx: CutoverFixture;
  let file: string;
  let dir: string;
  let follower: Follower;
  let app: App;

  /** the source is writable by the application, and ferry follows: a marker row reaches the target */
  async function writableAndFollowing(): Promise<void> {
    const id = await fx.insertEntry(fx.appSource);
    await until(
      'the marker on the target',
      async () => (await sql(fx.target, 'SELECT 1 FROM entry WHERE id = ' + Number(id))).length === 1,
    );
    assert.equal(follower.child.exitCode, null, 'the follow process runs on');
    assert.equal((await status(file, dir)).phase, 'following');
  }

  before(async () => {
    fx = await make();
    ({ file, dir } = await followedPlan(fx));
    app = new App(() => appConnection(fx.appSource)).start();
    follower = follow(file, dir);
    await until('following', async () => (await status(file, dir)).phase === 'following');
  });

  after(async () => {
    await app?.stop();
    follower?.child.kill('SIGKILL');
    await fx?.close();
  });

  test('a switch hook that fails: aborted, the source writable again, following on', async () => {
    const r = await cutover(file, dir, [
      '--switch-hook',
      'echo moving; echo no route >&2; exit 7',
      '--max-freeze',
      '20s',
    ]);
    assert.equal(r.code, 1);
    assert.match(
      oneLine(r.stderr),
      /^ferry: cutover aborted while running the switch hook: the switch hook exited with 7 \(moving \/ no route\); the source is writable again and following goes on: fix the hook/,
    );
    await writableAndFollowing();
  });

  test('a freeze that would pass --max-freeze: aborted by the timer, the source writable again', async () => {
    const r = await cutover(file, dir, ['--max-freeze', '1ms']);
    assert.equal(r.code, 1);
    assert.match(
      oneLine(r.stderr),
      /^ferry: cutover aborted while \w[\w ]+: the freeze would pass --max-freeze \(1 ms\); the source is writable again and following goes on/,
    );
    await writableAndFollowing();
  });

  test('a target that differs from the frozen source in a chunk the stream touched: aborted by verify', async () => {
    await sql(fx.appSource, "UPDATE account SET name = 'touched' WHERE id = 7");
    await until(
      'the update on the target',
      async () => (await sql(fx.target, 'SELECT name FROM account WHERE id = 7'))[0]?.name === 'touched',
    );
    await sql(fx.target, "UPDATE account SET name = 'changed on the target' WHERE id = 7");
    const r = await cutover(file, dir, ['--max-freeze', '20s']);
    await sql(fx.target, "UPDATE account SET name = 'touched' WHERE id = 7");
    assert.equal(r.code, 1);
    assert.match(
      oneLine(r.stderr),
      /^ferry: cutover aborted while verifying: the target differs from the frozen source in account \(\(id\) = 7: column name \(string\): source "touched", target "changed on the target"\); the source is writable again/,
    );
    await writableAndFollowing();
  });

  test('a lag never under --max-lag: nothing is frozen', async () => {
    const r = await cutover(file, dir, ['--max-lag', '0ms', '--wait', '1s']);
    assert.equal(r.code, 1);
    assert.match(
      oneLine(r.stderr),
      /^ferry: the target stayed [\d.]+ s behind the source, more than --max-lag, for 1 s: nothing was frozen/,
    );
    await writableAndFollowing();
  });

  test('a cutover killed while frozen: status and the follow process say so, --unfreeze makes the source writable again', async () => {
    const hookPid = join(dir, 'hook.pid');
    // the hook stands for a step that hangs: the process is killed in the frozen window
    const killed = ferrySpawn(
      ['cutover', file, '--max-freeze', '120s', '--switch-hook', `echo $$ > ${hookPid}; exec sleep 120`],
      { cwd: dir },
    );
    const gone = new Promise((r) => killed.on('exit', r));
    await until('the switch hook running', () => existsSync(hookPid) && readFileSync(hookPid, 'utf8').trim() !== '');
    killed.kill('SIGKILL');
    await gone;
    process.kill(Number(readFileSync(hookPid, 'utf8')), 'SIGKILL');
    await assert.rejects(fx.insertEntry(fx.appSource), fx.refused);
    const frozen = (await status(file, dir)) as { phase: string; freezes?: { side: string; standing: string }[] };
    assert.equal(frozen.phase, 'frozen');
    assert.deepEqual(
      frozen.freezes?.map((f) => [f.side, f.standing]),
      [['source', 'stale']],
    );
    await until('the follow process telling of the freeze', () =>
      /the source has been frozen since \S+ by a cutover that is gone .*--unfreeze` makes it writable again/.test(
        follower.out(),
      ),
    );
    const r = await ferryAsync(['cutover', file, '--unfreeze'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^the source is writable again \(frozen since \S+ by run \S+\)$/m);
    await writableAndFollowing();
    const again = await ferryAsync(['cutover', file, '--unfreeze'], { cwd: dir });
    assert.equal(again.stdout.trim(), `nothing to undo: no freeze of ${file} is recorded`);
  });

  test('cutover: the target equals the frozen source, the application cannot write on the source, an insert without a key succeeds on the target, following ends', async () => {
    const before = app.committed;
    await until('the application writing', () => app.committed > before + 20);
    const release = await fx.privileged?.hold();
    const hookOut = join(dir, 'hook.env');
    const r = await cutover(file, dir, [
      '--json',
      '--max-freeze',
      '20s',
      '--switch-hook',
      `env | grep ^FERRY_ > ${hookOut}`,
    ]);
    await release?.();
    const c = cutoverResult(r);
    assert.ok(c.frozenMs >= c.freezeMs + c.markMs + c.drainMs + c.verifyMs + c.sequencesMs, JSON.stringify(c));
    assert.deepEqual(c.sequences, { set: ['account', 'entry'], notSet: [] });
    assert.deepEqual(c.freeze.unstoppable, fx.privileged ? [{ account: fx.privileged.account, ended: false }] : []);
    assert.equal(await follower.exit, 0, follower.out());
    assert.match(follower.out(), /the plan is cut over/);
    await app.stop();
    assert.match(app.lastError, fx.refused);
    // the application cannot write on the source, even on a new session
    await assertCutOver(fx);
    await sql(fx.target, "INSERT INTO account (name, balance) VALUES ('after', 0)");
    assert.equal((await status(file, dir)).phase, 'cut over');
    // the hook's environment: the plan and the positions, no URL
    const env = new Map(
      readFileSync(hookOut, 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    assert.equal(env.get('FERRY_FROZEN_POSITION'), c.positions.frozen);
    assert.equal(env.get('FERRY_APPLIED_POSITION'), c.positions.applied);
    assert.equal(env.get('FERRY_PLAN'), file);
    assert.ok(![...env.values()].some((v) => /(postgres|mysql):\/\//.test(v)));
    const events = cutoverEvents(dir);
    for (const e of [
      'writes frozen on the source',
      'the target is ready',
      'the switch hook succeeded',
      'cutover finished',
    ])
      assert.ok(events.includes(e), e);
    assert.equal(events.filter((e) => e === 'cutover aborted').length, 3);
  });
}
