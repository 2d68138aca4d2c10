// The live dashboard in a real browser (Debian's chromium, headless, driven by playwright-core):
// its numbers move while a throttled run copies and end at the exact row counts, it loads
// nothing from anywhere but ferry, /metrics counts what was copied, and an address beyond
// loopback is served only with a token.
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { DashboardModel } from '../../src/pipeline/observe/dashboard/model.js';
import { isLoopback, parseListen } from '../../src/pipeline/observe/dashboard/server.js';
import type { StoreFacts } from '../../src/pipeline/observe/dashboard/store-facts.js';
import { StateStore, type TableStatus } from '../../src/pipeline/session/checkpoints.js';
import { demoToRunAgain, ferry, ferryAsync, oneLine } from './support.js';
import { launchChromium } from '../browser.js';

/** The demo's tables and their rows. */
const DEMO_ROWS: Record<string, number> = { customer: 500, product: 70, order: 1500, order_item: 3750 };
const DEMO_TOTAL = Object.values(DEMO_ROWS).reduce((a, b) => a + b, 0);

const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

interface Served {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function serve(args: string[], cwd: string): Served {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Waits (two minutes at most) until `found` finds something in what the process printed. */
async function waitFor<T>(s: Served, found: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 2400; i++) {
    const v = found();
    if (v !== undefined) return v;
    if (s.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what} never came; stdout: ${s.stdout()}\nstderr: ${s.stderr()}`);
}

function dashboardUrl(s: Served): Promise<string> {
  return waitFor(s, () => /^dashboard: (http:\/\/\S+)/m.exec(s.stdout())?.[1], 'the dashboard line');
}

/** The samples of a Prometheus text exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

test('the dashboard in a browser: numbers move during a run and end at the exact counts; nothing is loaded from elsewhere; /metrics agrees', async (t) => {
  const { dir, plan } = demoToRunAgain();
  const doc = parse(readFileSync(plan, 'utf8')) as { settings: Record<string, unknown> };
  doc.settings.throttle = { rowsPerSecond: 400 };
  doc.settings.parallelism = 1;
  writeFileSync(plan, stringify(doc));
  // the browser first: started on a busy machine, it must not miss the run
  const browser = await launchChromium();
  const run = serve(['run', 'ferry.plan.yaml', '--serve', '127.0.0.1:0'], dir);
  try {
    const url = await dashboardUrl(run);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const origin = new URL(url).origin;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(url);
    const total = page.locator('[data-total="rows"]');
    const rowsSeen: number[] = [];
    // the page's total, as often as it changes, until the run is over
    while (!/the run is over/.test(run.stdout())) {
      if (run.child.exitCode !== null) assert.fail(`the run ended early: ${run.stderr()}`);
      const v = await total.getAttribute('data-value', { timeout: 60_000 }).catch(() => undefined);
      if (v !== undefined && v !== null && Number(v) !== rowsSeen.at(-1)) rowsSeen.push(Number(v));
      await page.waitForTimeout(200);
    }
    const during = rowsSeen.filter((n) => n > 0 && n < DEMO_TOTAL);
    assert.ok(during.length >= 3, `the total moved while the run copied: ${rowsSeen.join(', ')}`);
    assert.deepEqual(
      rowsSeen,
      [...rowsSeen].sort((a, b) => a - b),
      `the total only grows: ${rowsSeen.join(', ')}`,
    );

    // the end: the exact counts, table by table, and the run's status
    await page.waitForFunction(
      `document.querySelector('[data-total="rows"]')?.getAttribute('data-value') === '${DEMO_TOTAL}'`,
      undefined,
      { timeout: 30_000 },
    );
    for (const [table, rows] of Object.entries(DEMO_ROWS)) {
      const row = page.locator(`tr[data-table="${table}"]`);
      assert.equal(await row.locator('[data-field="rows"]').getAttribute('data-value'), String(rows), table);
      assert.equal(await row.locator('[data-field="phase"]').textContent(), 'done', table);
      assert.equal(await row.locator('[data-field="rejects"]').getAttribute('data-value'), '0', table);
    }
    assert.equal(await total.textContent(), DEMO_TOTAL.toLocaleString('en-US'));
    // the report's verdict: copied, and no verification since
    assert.match(
      (await page.locator('#status').textContent()) ?? '',
      /^copied, not verified every table was copied; run ferry verify ferry\.plan\.yaml to prove source and target agree \(run done at \S+\)$/,
    );
    assert.equal(await page.locator('#throughput svg').count(), 1, 'the throughput chart is drawn');

    const shots = mkdtempSync(join(tmpdir(), 'ferry-dashboard-'));
    const screenshot = join(shots, 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    assert.ok(statSync(screenshot).size > 10_000);
    t.diagnostic(`screenshot: ${screenshot}`);

    assert.ok(requests.length >= 2, requests.join(', '));
    const elsewhere = requests.filter((r) => !r.startsWith(`${origin}/`) && !r.startsWith('data:'));
    assert.deepEqual(elsewhere, [], 'every request went to the dashboard');

    const metrics = await fetch(`${origin}/metrics`);
    assert.equal(metrics.status, 200);
    // a page of another site whose name points at 127.0.0.1 (DNS rebinding) is refused
    const rebound = await new Promise<number>((ok, fail) =>
      get(`${origin}/snapshot`, { headers: { host: `attacker.example:${new URL(origin).port}` } }, (res) => {
        res.resume();
        ok(res.statusCode ?? 0);
      }).on('error', fail),
    );
    assert.equal(rebound, 403);
    const m = samples(await metrics.text());
    for (const [table, rows] of Object.entries(DEMO_ROWS)) {
      assert.equal(m.get(`ferry_rows_copied_total{table="${table}"}`), rows, table);
      assert.equal(m.get(`ferry_rejected_rows_total{table="${table}"}`), 0, table);
      assert.equal(m.get(`ferry_chunks{table="${table}",state="pending"}`), 0, table);
      assert.ok(m.get(`ferry_chunks{table="${table}",state="done"}`)! >= 1, table);
    }
    assert.ok(m.has('process_cpu_user_seconds_total'), 'the process metrics are there');
  } finally {
    await browser.close();
    run.child.kill('SIGINT');
  }
  assert.equal(await run.exited, 0, run.stderr());
});

test('ferry serve shows a finished run from its state: live changes and their lag, rejects by reason without their values, the verification; beyond loopback only with a token', async () => {
  const { dir } = demoToRunAgain();
  assert.equal(ferry(['run', 'ferry.plan.yaml'], { cwd: dir }).code, 0);
  const target = new Database(join(dir, 'shop-migrated.db'));
  target.prepare("UPDATE customer SET name = name || '!' WHERE id = 7").run();
  target.close();
  assert.equal(ferry(['verify', 'ferry.plan.yaml'], { cwd: dir }).code, 3);
  // rows refused with their values (as the state keeps them): the dashboard shows the reason and how many
  const state = new StateStore(join(dir, '.ferry'), { existing: true });
  const secret = 'jane.secret@example.com';
  const reason = 'email: the target refused the value (value too long for type character varying(10))';
  const hash = state.run()!.planHash;
  // a stream of live changes, as the follow loop records its batches: 40 changes, then 2 more later
  const committedAgo = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
  state.setStreamStart(hash, '0/16B3748');
  state.setStreamApplied(hash, {
    position: '0/16B4000',
    committed: committedAgo(3),
    changes: 40,
    counts: [
      { table: 'order', op: 'insert', changes: 30 },
      { table: 'order', op: 'update', changes: 10 },
    ],
  });
  state.addChangeRejects(hash, [
    { table: 'customer', row: [1, secret], reason, refusedBy: 'target' },
    { table: 'customer', row: [2, `x${secret}`], reason, refusedBy: 'target' },
  ]);

  const refused = ferry(['serve', '--listen', '0.0.0.0:0'], { cwd: dir });
  assert.equal(refused.code, 2);
  assert.match(
    oneLine(refused.stderr),
    /^ferry: the dashboard would listen on 0\.0\.0\.0, which is not a loopback address, without a token: add --token/,
  );
  const alone = ferry(['run', 'ferry.plan.yaml', '--token'], { cwd: dir });
  assert.equal(alone.code, 2);
  assert.equal(
    oneLine(alone.stderr),
    "ferry: --token is the dashboard's: add --serve [host:]port, or leave --token out",
  );
  const bad = ferry(['run', 'ferry.plan.yaml', '--serve', 'nowhere:port'], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.match(oneLine(bad.stderr), /^ferry: cannot listen on 'nowhere:port': not \[host:\]port/);

  const served = serve(['serve', '--listen', '0.0.0.0:0', '--token'], dir);
  try {
    const url = await dashboardUrl(served);
    const m = /^http:\/\/0\.0\.0\.0:(\d+)\/\?token=([\w-]+)$/.exec(url);
    assert.ok(m, url);
    const [, port, token] = m;
    const base = `http://127.0.0.1:${port}`;
    for (const path of ['/', '/metrics', '/events', '/snapshot']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 401, path);
      assert.match(await res.text(), /needs its token/);
    }
    assert.equal((await fetch(`${base}/metrics?token=wrong${token}`)).status, 401);
    const taken = await ferryAsync(['serve', '--listen', `127.0.0.1:${port}`], { cwd: dir });
    assert.equal(taken.code, 2);
    assert.equal(
      oneLine(taken.stderr),
      `ferry: cannot listen on 127.0.0.1:${port}: the port is in use: choose another port (0 takes a free one) or address`,
    );
    const page = await fetch(`${base}/?token=${token}`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);

    // the next batch: the dashboard's next look at the state sees it
    await new Promise((r) => setTimeout(r, 1100));
    state.setStreamApplied(hash, {
      position: '0/16B5000',
      committed: committedAgo(5),
      changes: 2,
      counts: [
        { table: 'order', op: 'update', changes: 1 },
        { table: 'customer', op: 'delete', changes: 1 },
      ],
    });
    state.close();
    let cdc: { start: string; applied: string; changes: number; lagSeconds: number } | undefined;
    for (let i = 0; i < 200 && cdc?.changes !== 42; i++) {
      await new Promise((r) => setTimeout(r, 100));
      cdc = ((await (await fetch(`${base}/snapshot?token=${token}`)).json()) as { cdc: typeof cdc }).cdc;
    }
    assert.deepEqual([cdc?.start, cdc?.applied, cdc?.changes], ['0/16B3748', '0/16B5000', 42]);
    assert.ok(cdc!.lagSeconds >= 5 && cdc!.lagSeconds < 60, String(cdc!.lagSeconds));
    // what the page is sent: the lag over time as a chart of its two batches
    const events = await fetch(`${base}/events?token=${token}`);
    const reader = events.body!.getReader();
    let sent = '';
    while (!/^data: .*\n\n/m.test(sent)) sent += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const pushed = JSON.parse(/^data: (.*)$/m.exec(sent)![1]!) as { lagSvg: string; throughputSvg: string };
    assert.match(pushed.lagSvg, /^<figure><svg id="lag"[\s\S]*<polyline points="[\d., ]+"/);
    assert.match(
      pushed.throughputSvg,
      /^<figure><svg id="throughput"/,
      'the run before it was watched, from its audit log',
    );

    const snapshot = await (await fetch(`${base}/snapshot?token=${token}`)).text();
    assert.ok(!snapshot.includes(secret), 'no value of a rejected row');
    const shown = JSON.parse(snapshot) as {
      verdict: { kind: string; title: string; detail: string };
      rejects: unknown[];
      verification: { stale: boolean; results: { table: string; status: string }[] };
    };
    assert.deepEqual(shown.verdict, {
      kind: 'mismatches',
      title: 'mismatches',
      detail: 'verification found differences in customer: see Verification below',
    });
    assert.deepEqual(shown.rejects, [{ table: 'customer', reason, refusedBy: 'target', rows: 2 }]);
    assert.equal(shown.verification.stale, false);
    assert.deepEqual(
      shown.verification.results.map((r) => [r.table, r.status]),
      [
        ['customer', 'mismatch'],
        ['product', 'match'],
        ['order', 'match'],
        ['order_item', 'match'],
      ],
    );

    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(metrics.status, 200);
    const counts = samples(await metrics.text());
    for (const [table, rows] of Object.entries(DEMO_ROWS)) {
      assert.equal(counts.get(`ferry_rows_copied_total{table="${table}"}`), rows, table);
      assert.equal(counts.get(`ferry_rejected_rows_total{table="${table}"}`), table === 'customer' ? 2 : 0, table);
      assert.equal(counts.get(`ferry_verify_mismatched_rows{table="${table}"}`), table === 'customer' ? 1 : 0, table);
    }
    assert.equal(counts.get('ferry_cdc_changes_applied_total{table="order",op="insert"}'), 30);
    assert.equal(counts.get('ferry_cdc_changes_applied_total{table="order",op="update"}'), 11);
    assert.equal(counts.get('ferry_cdc_changes_applied_total{table="customer",op="delete"}'), 1);
    assert.equal(counts.get('ferry_cdc_lag_seconds'), cdc!.lagSeconds);
    assert.equal(served.stdout().split(token!).length, 2, 'the token is printed once');
    assert.ok(!served.stderr().includes(token!), 'the token is in no log');
  } finally {
    served.child.kill('SIGINT');
  }
  assert.equal(await served.exited, 0, served.stderr());
});

test('a listen address is [host:]port, loopback unless a host says otherwise', () => {
  assert.deepEqual(parseListen('8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
  assert.deepEqual(parseListen('[::1]:9000'), { host: '::1', port: 9000 });
  assert.deepEqual(parseListen('localhost:7478'), { host: 'localhost', port: 7478 });
  for (const bad of ['', 'host', ':80', '80:host', '70000', '[localhost]:80', 'a:b:80'])
    assert.throws(() => parseListen(bad), /cannot listen on/, bad);
  assert.deepEqual(
    ['127.0.0.1', '127.8.9.1', '::1', 'localhost', '0.0.0.0', '10.0.0.5', '::', 'example.com'].map(isLoopback),
    [true, true, true, true, false, false, false, false],
  );
});

test("a table's rate counts the last seconds of its copy, its ETA what is left at that rate", () => {
  const model = new DashboardModel();
  const facts = (rows: number, status?: TableStatus): StoreFacts => ({
    run: {
      id: 'r1',
      planHash: 'h',
      planFile: 'p.yaml',
      command: 'run',
      started: '2026-01-01T00:00:00Z',
      finished: null,
      status: 'running',
      error: null,
    },
    tables: [{ name: 't', wave: 1, rowsEstimate: 3000 }],
    stored: new Map([
      ['t', { ...(status ? { status } : {}), chunks: { pending: 2, running: 1, done: 1, failed: 0 }, rows }],
    ]),
    findings: [],
    rejects: [],
  });
  model.watch('r1', []);
  // waiting for its wave: not in its rate
  model.update(facts(0), -5000);
  assert.equal(model.snapshot().tables[0]!.phase, 'waiting');
  model.update(facts(0, 'prepared'), 0);
  model.update(facts(500, 'prepared'), 1000);
  model.update(facts(1500, 'prepared'), 2000);
  const copying = model.snapshot().tables[0]!;
  assert.deepEqual([copying.phase, copying.rows, copying.rowsPerSecond, copying.etaSeconds], ['copy', 1500, 750, 2]);
  // a stall, then 1,000 rows in a second: the 10-second window holds only the last two looks (192 rows/s over the whole copy)
  model.update(facts(1500, 'prepared'), 12_000);
  model.update(facts(2500, 'prepared'), 13_000);
  const resumed = model.snapshot().tables[0]!;
  assert.deepEqual([resumed.rowsPerSecond, resumed.etaSeconds], [1000, 0.5]);
  model.update(facts(3000, 'copied'), 14_000);
  // the store alone does not say what the target does after the data (indexes, a manifest)
  const indexing = model.snapshot().tables[0]!;
  assert.deepEqual([indexing.phase, indexing.rowsPerSecond, indexing.etaSeconds], ['finishing', 0, undefined]);
  assert.equal(model.snapshot().totals.rows, 3000);
});
