// SQLite dates and times as applications write them: every ISO 8601 text form arrives as the
// same instant; numbers only when the plan's source.numericDates says how to read them; any
// other value is rejected with the reason.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { stateParse } from '../../src/core/values.js';
import { freshPg, freshSqlite, pgExec } from '../helpers.js';
import { planFor } from './support.js';

/** A SQLite database with one table `t` (id, day DATE, at DATETIME, atz TIMESTAMPTZ, clock TIME) and these rows. */
function sqliteWith(name: string, rows: unknown[][]): string {
  const url = freshSqlite(name);
  const db = new Database(url.slice('sqlite:'.length));
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, day DATE, at DATETIME, atz TIMESTAMPTZ, clock TIME)');
  const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?)');
  for (const r of rows) insert.run(...r);
  db.close();
  return url;
}

/** The rows of `t` in PostgreSQL as text (timestamptz in UTC). */
async function pgRows(url: string): Promise<string[][]> {
  const results = (await pgExec(
    url,
    `SET TimeZone = 'UTC'; SELECT id::text, day::text, at::text, atz::text, clock::text FROM t ORDER BY id`,
  )) as unknown as { rows: Record<string, string>[] }[];
  return results[1]!.rows.map((r) => [r.id!, r.day!, r.at!, r.atz!, r.clock!]);
}

function rejectsOf(dir: string): { id: number; reason: string }[] {
  return readFileSync(join(dir, '.ferry', 'rejects', 't.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => stateParse<{ row: bigint[]; reason: string }>(l))
    .map((r) => ({ id: Number(r.row[0]), reason: r.reason }))
    .sort((a, b) => a.id - b.id);
}

describe('SQLite date and time text forms into PostgreSQL', () => {
  test('every ISO 8601 form arrives as its instant (zones applied, as SQLite applies them); other values are rejected with the reason', async () => {
    const source = sqliteWith('dates_forms', [
      [1, '2020-01-02', '2020-01-02 03:04:05', '2020-01-02 03:04:05', '03:04:05'],
      [2, '2020-01-02T00:00:00Z', '2020-01-02T03:04:05.123456Z', '2020-01-02T03:04:05.5Z', '03:04:05.5'],
      [3, '2020-01-02 00:00', '2020-01-02T03:04+02:00', '2020-01-02T03:04+02:00', '03:04'],
      [4, '2020-01-02', '2020-01-01T23:30:00-01:30', '2020-01-01 23:30:00-0130', '23:59:59.999999'],
      [5, '2020-01-02', '2020-01-02', '2020-01-02T03:04:05+05', '00:00'],
      [6, '2020-01-02', '2020-01-02 03:04:05.000', '2020-01-02 03:04:05z', '12:00:00'],
      // not readable as the column's type
      [7, '2020-01-02 10:00:00', null, null, null],
      [8, null, 'yesterday', null, null],
      [9, null, '2020-01-02 03:04:05.1234567', null, null],
      [10, 1577836800, null, null, null],
      [11, null, null, null, 'noon'],
      [12, null, null, 2458849.5, null],
      [13, null, null, null, 3600],
    ]);
    const target = await freshPg('ferry_sqlite_dates');
    const { file, dir, plan } = await planFor(source, target, (p) => (p.settings.maxRejects = 100));
    assert.equal(plan.source.numericDates, 'reject', 'the plan says how numbers in date columns are read');
    const run = await runPlan(file);
    assert.equal(run.rejects, 7);
    assert.deepEqual(await pgRows(target), [
      ['1', '2020-01-02', '2020-01-02 03:04:05', '2020-01-02 03:04:05+00', '03:04:05'],
      ['2', '2020-01-02', '2020-01-02 03:04:05.123456', '2020-01-02 03:04:05.5+00', '03:04:05.5'],
      ['3', '2020-01-02', '2020-01-02 01:04:00', '2020-01-02 01:04:00+00', '03:04:00'],
      ['4', '2020-01-02', '2020-01-02 01:00:00', '2020-01-02 01:00:00+00', '23:59:59.999999'],
      ['5', '2020-01-02', '2020-01-02 00:00:00', '2020-01-01 22:04:05+00', '00:00:00'],
      ['6', '2020-01-02', '2020-01-02 03:04:05', '2020-01-02 03:04:05+00', '12:00:00'],
    ]);
    assert.deepEqual(rejectsOf(dir), [
      { id: 7, reason: 'column day: "2020-01-02 10:00:00" is not a date (YYYY-MM-DD)' },
      { id: 8, reason: 'column at: "yesterday" is not a timestamp (YYYY-MM-DD HH:MM:SS)' },
      {
        id: 9,
        reason:
          'column at: 2020-01-02 03:04:05.1234567 has 7 fractional second digits, more than the 6 the column keeps',
      },
      {
        id: 10,
        reason:
          "column day: 1577836800 is a number, not a date (set the plan's source.numericDates to unixepoch or julianday if the column holds such numbers)",
      },
      { id: 11, reason: 'column clock: "noon" is not a time of day (HH:MM:SS)' },
      {
        id: 12,
        reason:
          "column atz: 2458849.5 is a number, not a timestamptz(6) (set the plan's source.numericDates to unixepoch or julianday if the column holds such numbers)",
      },
      { id: 13, reason: 'column clock: 3600 is a number, not a time(6)' },
    ]);
  });

  test('numbers are read as Unix epoch seconds or Julian days when the plan says so, and verify', async () => {
    const cases: ['unixepoch' | 'julianday', unknown[][], string[][]][] = [
      [
        'unixepoch',
        [
          [1, 1577836800, 1577836800, 1577836800.25, null],
          [2, -86400, 0, -1.5, null],
        ],
        [
          ['1', '2020-01-01', '2020-01-01 00:00:00', '2020-01-01 00:00:00.25+00', null!],
          ['2', '1969-12-31', '1970-01-01 00:00:00', '1969-12-31 23:59:58.5+00', null!],
        ],
      ],
      [
        'julianday',
        [
          [1, 2458849.5, 2458849.75, 2440587.5, null],
          [2, 2451544.5, 2451545, 2451545.0000115741, null],
        ],
        [
          ['1', '2020-01-01', '2020-01-01 06:00:00', '1970-01-01 00:00:00+00', null!],
          ['2', '2000-01-01', '2000-01-01 12:00:00', '2000-01-01 12:00:01+00', null!],
        ],
      ],
    ];
    for (const [policy, rows, expected] of cases) {
      const source = sqliteWith(`dates_${policy}`, rows);
      const target = await freshPg(`ferry_sqlite_${policy}`);
      const { file } = await planFor(source, target, (p) => (p.source.numericDates = policy));
      assert.equal((await runPlan(file)).rejects, 0, policy);
      assert.deepEqual(await pgRows(target), expected, policy);
      assert.ok((await verifyPlan(file)).ok, policy);
    }
  });

  test('a number in a date column that is not a whole day is rejected, not cut to its date', async () => {
    const source = sqliteWith('dates_partial', [[1, 1577836800.5, null, null, null]]);
    const target = await freshPg('ferry_sqlite_partial');
    const { file, dir } = await planFor(source, target, (p) => {
      p.source.numericDates = 'unixepoch';
      p.settings.maxRejects = 1;
    });
    assert.equal((await runPlan(file)).rejects, 1);
    assert.deepEqual(rejectsOf(dir), [
      {
        id: 1,
        reason:
          'column day: 1577836800.5 read as unixepoch is 2020-01-01 00:00:00.5, a time of day a date does not keep',
      },
    ]);
  });
});
