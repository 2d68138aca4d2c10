// What the tests of the way back share: the application writing to the new database (the old
// target) after the switch, over a schema the plan renamed (a table and a column), and the
// follow-back command in a child process.
import type { ChildProcess } from 'node:child_process';
import { openSession } from '../../src/pipeline/session/session.js';
import { checkWayBack, openWayBack, reverseSession } from '../../src/pipeline/reverse/reverse.js';
import type { Plan } from '../../src/core/plan.js';
import { random } from './follow-support.js';
import { ferrySpawn } from './support.js';

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
 * The part of a cutover the way back adds, while the source is frozen and the forward stream
 * drained: the target's change log opened where it stands (pipeline/reverse/reverse.ts).
 */
export async function openWayBackOf(planFile: string): Promise<string> {
  const forward = await openSession(planFile);
  try {
    const back = await reverseSession(forward);
    await checkWayBack(back);
    return await openWayBack(back);
  } finally {
    await forward.close();
  }
}

/** `ferry cutover PLAN --reverse` in a child process; its output is kept on the child. */
export function followBack(file: string, cwd: string): ChildProcess & { out: string } {
  const child = ferrySpawn(['cutover', file, '--reverse'], { cwd }) as ChildProcess & { out: string };
  child.out = '';
  child.stdout!.on('data', (d) => (child.out += d));
  child.stderr!.on('data', (d) => (child.out += d));
  return child;
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
