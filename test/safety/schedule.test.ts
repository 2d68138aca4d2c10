// Latency controls: schedule windows (with an injected clock), throttles on rows and bytes per
// second, and the cap on source connections.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { insideWindow, nextOpening, parseWindow } from '../../src/core/schedule.js';
import { parsePlan } from '../../src/core/plan.js';
import { runPlan, type RunEvent } from '../../src/pipeline/copy/run.js';
import type { Clock } from '../../src/pipeline/copy/schedule.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { dbName, freshPg, freshSqlite, PG_BASE, pgExec } from '../helpers.js';
import { planFor } from '../e2e/support.js';

/** Time that passes only when the run sleeps. */
class FakeClock implements Clock {
  slept = 0;
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
    this.slept += ms;
    await new Promise((r) => setImmediate(r));
  }
}

const at = (iso: string) => Date.parse(iso);

test('windows: days, ranges past midnight, time zones, and the next opening', () => {
  const sat = parseWindow('Sat 01:00-05:00 UTC');
  // 2026-11-28 is a Saturday
  assert.equal(insideWindow(sat, at('2026-11-28T00:59:59Z')), false);
  assert.equal(insideWindow(sat, at('2026-11-28T01:00:00Z')), true);
  assert.equal(insideWindow(sat, at('2026-11-28T04:59:59Z')), true);
  assert.equal(insideWindow(sat, at('2026-11-28T05:00:00Z')), false);
  assert.equal(insideWindow(sat, at('2026-11-29T02:00:00Z')), false);
  assert.equal(nextOpening([sat], at('2026-11-28T05:00:00Z')), at('2026-12-05T01:00:00Z'));
  assert.equal(nextOpening([sat], at('2026-11-28T02:00:00Z')), at('2026-11-28T02:00:00Z'));

  // past midnight: the window belongs to the day it opens
  const night = parseWindow('Mon-Fri 22:00-06:00');
  assert.equal(insideWindow(night, at('2026-11-27T23:30:00Z')), true, 'Friday night');
  assert.equal(insideWindow(night, at('2026-11-28T05:59:00Z')), true, 'early Saturday, still Friday night');
  assert.equal(insideWindow(night, at('2026-11-28T23:00:00Z')), false, 'Saturday night');
  assert.equal(insideWindow(night, at('2026-11-30T05:00:00Z')), false, 'early Monday follows Sunday');

  // wall-clock time of the zone, daylight saving included
  const paris = parseWindow('daily 09:00-10:00 Europe/Paris');
  assert.equal(insideWindow(paris, at('2026-07-01T07:30:00Z')), true, 'CEST is UTC+2');
  assert.equal(insideWindow(paris, at('2026-12-01T08:30:00Z')), true, 'CET is UTC+1');
  assert.equal(insideWindow(paris, at('2026-12-01T07:30:00Z')), false);

  for (const [bad, why] of [
    ['Sat 01:00', /time range/],
    ['Caturday 01:00-02:00', /not a day of the week/],
    ['Sat 25:00-26:00', /not a time of day/],
    ['Sat 01:00-01:00', /empty/],
    ['Sat 01:00-02:00 Mars/Olympus', /not a time zone/],
  ] as const)
    assert.throws(() => parseWindow(bad), why);
});

test('a plan with a bad window is refused at load, naming the place', () => {
  const plan = `ferry: 1
source: { url: "sqlite:a.db" }
target: { url: "sqlite:b.db" }
settings:
  schedule: { windows: ["Sat 01:00-05:00 UTC", "Sun 1-2"] }
waves:
  - tables:
      - { source: t, target: t, chunking: { key: [], rowsPerChunk: 10 }, columns: [{ source: id, target: id, sourceType: int64, type: INTEGER }] }
`;
  assert.throws(
    () => parsePlan(plan, 'p.yaml'),
    /p\.yaml:5:\d+: settings\.schedule\.windows\[1\]: schedule window "Sun 1-2"/,
  );
});

test('outside the window the run pauses between chunks and resumes when the window opens', async () => {
  const source = freshSqlite('ferry_safety_window_src');
  const db = new Database(source.slice('sqlite:'.length));
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO items VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= 6000; i++) insert.run(i, `item ${i}`);
  })();
  db.close();
  const target = freshSqlite('ferry_safety_window_dst');
  const { file } = await planFor(
    source,
    target,
    (p) => {
      p.settings.parallelism = 1;
      p.settings.batchRows = 500;
      p.settings.schedule = { windows: ['Sat 01:00-05:00 UTC'] };
      // a second of (virtual) time per thousand rows, so the window closes during the copy
      p.settings.throttle = { rowsPerSecond: 1000 };
    },
    { rowsPerChunk: 1000 },
  );

  // three seconds before a window closes
  const clock = new FakeClock(at('2026-11-28T04:59:57Z'));
  const seen: { e: RunEvent; t: number; rows: number }[] = [];
  let rows = 0;
  const summary = await runPlan(file, {
    clock,
    onEvent: (e) => {
      if (e.type === 'progress') rows += e.rows;
      seen.push({ e, t: clock.now(), rows });
    },
  });
  assert.equal(summary.tables[0]!.rows, 6000);
  const paused = seen.findIndex((s) => s.e.type === 'paused');
  const resumed = seen.findIndex((s) => s.e.type === 'resumed');
  assert.ok(paused > 0 && resumed > paused, 'paused once, then resumed');
  const atPause = seen[paused]!;
  assert.deepEqual(atPause.e, { type: 'paused', until: '2026-12-05T01:00:00.000Z' });
  assert.ok(atPause.rows > 0 && atPause.rows < 6000, `paused mid-table (${atPause.rows} rows in)`);
  assert.equal(atPause.rows % 1000, 0, 'a chunk in flight finished; the next one waited');
  assert.ok(atPause.t >= at('2026-11-28T05:00:00Z'), 'paused when the window closed');
  assert.ok(!seen.slice(paused + 1, resumed).some((s) => s.e.type === 'progress'), 'nothing copied while paused');
  assert.ok(
    seen.slice(resumed).every((s) => s.t >= at('2026-12-05T01:00:00Z')),
    'copying went on only inside the next window',
  );
  const out = new Database(target.slice('sqlite:'.length), { readonly: true });
  assert.equal(
    (out.prepare('SELECT count(*) n, count(DISTINCT id) d FROM items').get() as { n: number; d: number }).d,
    6000,
  );
  out.close();
  assert.ok((await verifyPlan(file)).ok);
});

test('throttles: rows per second and bytes per second hold the read rate down', async () => {
  const source = await freshPg('ferry_safety_throttle_src');
  await pgExec(source, `CREATE TABLE items (id int PRIMARY KEY, payload text NOT NULL)`);
  await pgExec(source, `INSERT INTO items SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g`);
  for (const [limits, floorSeconds] of [
    [{ rowsPerSecond: 1000 }, 4],
    // about 108 bytes a row: 5000 rows are some 540 kB
    [{ bytesPerSecond: 100_000 }, 4],
  ] as const) {
    const { file } = await planFor(
      source,
      freshSqlite('ferry_safety_throttle_dst'),
      (p) => {
        p.settings.throttle = limits;
        p.settings.batchRows = 250;
      },
      { rowsPerChunk: 1000 },
    );
    const clock = new FakeClock(at('2026-11-25T12:00:00Z'));
    await runPlan(file, { clock });
    // the first second is a burst; the rest waits for the rate
    assert.ok(clock.slept / 1000 >= floorSeconds, `${JSON.stringify(limits)}: slept ${clock.slept} ms`);
    assert.ok(
      clock.slept / 1000 < floorSeconds + 2,
      `${JSON.stringify(limits)}: no more than needed (${clock.slept} ms)`,
    );
  }
});

/** The most connections of ferry to a PostgreSQL database seen while `work` runs. */
async function peakConnections(database: string, work: Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  const finished = work.finally(() => (done = true));
  while (!done) {
    const { rows } = await pgExec(
      `${PG_BASE}/postgres`,
      "SELECT count(*)::int n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ferry'",
      [database],
    );
    peak = Math.max(peak, rows[0].n);
    await new Promise((r) => setTimeout(r, 20));
  }
  await finished;
  return peak;
}

test('sourceConnections caps the readers on the source', async () => {
  const source = await freshPg('ferry_safety_conns_src');
  await pgExec(source, `CREATE TABLE items (id int PRIMARY KEY, payload text NOT NULL)`);
  await pgExec(source, `INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 3000) g`);
  const peaks: number[] = [];
  for (const sourceConnections of [undefined, 1]) {
    // a target that writes chunks in parallel (SQLite takes one writer at a time)
    const { file } = await planFor(
      source,
      await freshPg('ferry_safety_conns_dst'),
      (p) => {
        p.settings.parallelism = 4;
        p.settings.batchRows = 100;
        // slow enough (in real time) for every reader to be open at once
        p.settings.throttle = { rowsPerSecond: 1500, ...(sourceConnections ? { sourceConnections } : {}) };
      },
      { rowsPerChunk: 150 },
    );
    peaks.push(await peakConnections(dbName(source), runPlan(file)));
  }
  const [free, capped] = peaks as [number, number];
  // one reader, plus the connection that holds the snapshot and the one that read the catalog
  assert.ok(capped <= 3, `capped at ${capped} connections`);
  assert.ok(free >= capped + 2, `without the cap ${free} connections, with it ${capped}`);
});
