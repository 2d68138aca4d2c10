// What the tests of the way back share: the application writing to the new database (the old
// target) after the switch, over a schema the plan renamed (a table and a column), and
// `ferry cutover --reverse` in a child process.
import type { ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import type { Plan } from '../../src/core/plan.js';
import { rowsOf } from './follow-pg-support.js';
import { random } from './follow-support.js';
import { ferrySpawn, open } from './support.js';

/** The plan's renames: account becomes customer, its name holder; entry keeps its names. */
export function renamed(p: Plan): void {
  for (const w of p.waves)
    for (const t of w.tables)
      if (t.source === 'account') {
        t.target = 'customer';
        for (const c of t.columns) if (c.source === 'name') c.target = 'holder';
      }
}

/**
 * `ferry cutover PLAN --reverse` in a child process (with bounds a slow shared machine meets);
 * its output is kept on the child.
 */
export function cutoverReverse(file: string, cwd: string): ChildProcess & { out: string } {
  const child = ferrySpawn(['cutover', file, '--reverse', '--max-lag', '5s', '--max-freeze', '60s'], {
    cwd,
  }) as ChildProcess & { out: string };
  child.out = '';
  child.stdout!.on('data', (d) => (child.out += d));
  child.stderr!.on('data', (d) => (child.out += d));
  return child;
}

/** Waits (90 s at most) until `ok`; fails at once if `child` ends meanwhile. */
export async function until(
  what: string,
  ok: () => boolean | Promise<boolean>,
  child?: { exitCode: number | null; out: string },
): Promise<void> {
  for (let i = 0; i < 900; i++) {
    if (await ok()) return;
    if (child && child.exitCode !== null) assert.fail(`ended by itself while waiting for ${what}: ${child.out}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`waited 90 s for ${what}`);
}

/** One transaction of the application on the new database: its statements, in the engine's dialect. */
export type Statements = (op: number, pick: (n: number) => number, next: () => number) => string[];

/**
 * The application on the new database: transactions of every kind (inserts, updates, deletes,
 * a key change, a row inserted and deleted in one transaction) until stopped.
 */
export function appWriter(
  transact: (statements: string[]) => Promise<void>,
  statements: Statements,
  seed: number,
): { stop(): Promise<number> } {
  const rnd = random(seed);
  const pick = (n: number) => 1 + Math.floor(rnd() * n);
  let n = 0;
  let stopped = false;
  let done = 0;
  const running = (async () => {
    while (!stopped) {
      await transact(statements(Math.floor(rnd() * 5), pick, () => ++n));
      done++;
      await new Promise((resolve) => setTimeout(resolve, rnd() * 10));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await running;
      return done;
    },
  };
}

/** Every row of both tables, source and target (the renamed plan's), equal value by value. */
export async function assertSame(source: string, target: string): Promise<void> {
  const [src, dst] = await Promise.all([open(source), open(target)]);
  try {
    for (const [from, to] of [
      ['account', 'customer'],
      ['entry', 'entry'],
    ] as const) {
      const [want, got] = await Promise.all([rowsOf(dst, 'target', to), rowsOf(src, 'source', from)]);
      assert.equal(got.length, want.length, `${from}: ${got.length} rows in the source, ${want.length} in the target`);
      assert.deepEqual(got, want, from);
    }
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}
