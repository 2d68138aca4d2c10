// What a person sees in the terminal: progress lines that fit 80 columns, an interrupt that says
// how to go on, readable logs (JSON on request), `run --json` and `ferry runs`.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { abbreviate, duration, fitName, progressLine } from '../../src/cli/progress.js';
import { demoToRunAgain, ferry, ferrySpawn } from './support.js';

/** A seeded generator, so a failing case can be replayed from the seed the assertion prints. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('a progress line fits 80 columns whatever the name, the numbers and the phase', () => {
  const seed = Date.now();
  const random = prng(seed);
  const phases = ['waiting', 'prepare', 'copy', 'indexes', 'foreign keys', 'done'];
  for (let i = 0; i < 2000; i++) {
    const name = 'tåble_'.repeat(1 + Math.floor(random() * 15)).slice(0, 1 + Math.floor(random() * 90));
    const total = Math.floor(10 ** (random() * 14));
    const rows = Math.floor(random() * total * 1.2);
    const rate = random() < 0.2 ? 0 : 10 ** (random() * 8);
    const eta = random() < 0.3 ? '' : duration(random() * 400_000);
    const phase = phases[Math.floor(random() * phases.length)]!;
    const line = progressLine(name, rows, total, rate, eta, phase);
    const why = `seed ${seed}: ${JSON.stringify(line)}`;
    assert.ok(line.length <= 80, why);
    assert.ok(line.startsWith(name.slice(0, 8)), why);
    assert.ok(line.endsWith(phase), why);
    assert.equal(line.includes('ETA'), eta !== '', why);
  }
});

test('numbers are abbreviated, not cut; durations read as time; long names keep both ends', () => {
  assert.deepEqual([0, 999, 1000, 12_345, 999_499, 999_500, 4_500_000, 1.2e9, 7e12].map(abbreviate), [
    '0',
    '999',
    '1.0k',
    '12k',
    '999k',
    '1.0M',
    '4.5M',
    '1.2G',
    '7.0T',
  ]);
  for (let n = 1; n < 1e15; n *= 3.7) assert.ok(abbreviate(n).length <= 5, abbreviate(n));
  assert.deepEqual([0.2, 45, 60, 725, 3600, 11_220].map(duration), ['1s', '45s', '1m00s', '12m05s', '1h00m', '3h07m']);
  assert.equal(duration(Number.POSITIVE_INFINITY), '');
  assert.equal(fitName('customer_order_line_items_archive', 16), 'customer…archive');
  assert.equal(fitName('orders', 8), 'orders  ');
});

test('Ctrl-C ends a run with a line that says how to resume, and the same command finishes it', async () => {
  const { dir, plan } = demoToRunAgain();
  const doc = parse(readFileSync(plan, 'utf8')) as { settings: Record<string, unknown> };
  doc.settings.throttle = { rowsPerSecond: 800 };
  doc.settings.parallelism = 1;
  writeFileSync(plan, stringify(doc));
  const child = ferrySpawn(['run', 'ferry.plan.yaml'], { cwd: dir });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (let i = 0; i < 600 && !/: copy\n/.test(stdout); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1500));
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.equal(
    stderr,
    'ferry: interrupted: run the same command (`ferry run ferry.plan.yaml`) to resume; what was copied is kept\n',
  );
  doc.settings.throttle = undefined;
  writeFileSync(plan, stringify(doc));
  const again = ferry(['run', 'ferry.plan.yaml'], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^resuming: \d+ chunks/m);
  assert.equal(ferry(['verify', 'ferry.plan.yaml'], { cwd: dir }).code, 0);
});

test('run --json prints the summary alone; logs are lines to read, or JSON with --json-logs; ferry runs lists what happened', () => {
  const { dir } = demoToRunAgain();
  const r = ferry(['--log-level', 'info', 'run', 'ferry.plan.yaml', '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { runId: string; copied: number; rejects: number };
  assert.deepEqual([summary.copied, summary.rejects], [5820, 0]);
  assert.match(r.stderr, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: run: run started /m);
  assert.doesNotMatch(r.stderr, /"level":/);

  const v = ferry(['--log-level', 'info', '--json-logs', 'verify', 'ferry.plan.yaml'], { cwd: dir });
  assert.equal(v.code, 0, v.stderr);
  const logs = v.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { level: number; msg: string });
  assert.ok(logs.some((l) => l.level === 30 && l.msg === 'verify: verify started'));

  const runs = JSON.parse(ferry(['runs', '--json'], { cwd: dir }).stdout) as { id: string; command: string }[];
  assert.deepEqual(
    runs.slice(0, 3).map((x) => x.command),
    ['verify', 'run', 'rollback'],
  );
  assert.equal(runs[1]!.id, summary.runId);
  const table = ferry(['runs'], { cwd: dir });
  assert.equal(table.code, 0);
  assert.match(table.stdout, new RegExp(`${summary.runId} .*run .*ferry\\.plan\\.yaml.*done`));
  const none = ferry(['runs', '--state-dir', join(dir, 'nowhere')], { cwd: dir });
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /^ferry: .*nowhere/);
});
