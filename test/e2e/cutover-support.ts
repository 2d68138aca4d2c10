// What the tests of `ferry cutover` share: an application writing through an ordinary account
// (no superuser, no SUPER) that reconnects when refused, ferry following in a child process, and
// the checks after a cutover and after an abort.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ferryAsync, ferrySpawn, type CliResult } from './support.js';

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
  drainMs: number;
  verifyMs: number;
  positions: { start: string; frozen: string; applied: string };
  freeze: { steps: string[]; unstoppable: { account: string; ended: boolean }[] };
  sequences: { set: string[]; notSet: string[] };
  verified: { table: string; chunks: number; status: string }[];
} {
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout) as ReturnType<typeof cutoverResult>;
  for (const k of ['frozenMs', 'drainMs', 'verifyMs'] as const) assert.equal(typeof c[k], 'number', k);
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
