// Verify with its digests pushed down into the databases: the columns each engine pair digests
// in SQL, the same digest from PostgreSQL, MariaDB and ferry (SQLite's rows) for the same
// canonical rows, and every kind of difference verify finds (a changed value of each type, a
// NULL against an empty string, a missing row, an extra row) still found and named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { RangeDigestBuilder } from '../../src/core/range-digest.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { openSession } from '../../src/pipeline/session/session.js';
import {
  digestGroups,
  engineForms,
  sourcePushes,
  sourceSide,
  targetPushes,
  targetSide,
} from '../../src/pipeline/verify/range-digests.js';
import type { Digest } from '../../src/core/digest.js';
import type { KeyRange } from '../../src/core/types.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { freshMysql, freshPg, freshSqlite, mysqlExec, pgExec } from '../helpers.js';
import { planFor } from './support.js';

type Engine = 'postgres' | 'mysql' | 'sqlite';
const ROWS = 3000;

const DDL: Record<Engine, string> = {
  postgres: `CREATE TABLE t (id int PRIMARY KEY, i bigint, d numeric(12,3), b boolean, c char(4), s varchar(40),
    dt date, ts timestamp(6), bin bytea, f double precision, j jsonb, z numeric(10,0))`,
  mysql: `CREATE TABLE t (id int PRIMARY KEY, i bigint, d decimal(12,3), b boolean, c char(4), s varchar(40),
    dt date, ts datetime(6), bin varbinary(16), f double, j json, z decimal(10,0)) CHARACTER SET utf8mb4`,
  sqlite: `CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, d DECIMAL(12,3), b BOOLEAN, c CHAR(4), s VARCHAR(40),
    dt DATE, ts DATETIME, bin BLOB, f REAL, j JSON, z DECIMAL(10,0))`,
};

type Value = null | number | string | boolean | Buffer;

/** Row n: each column's value, NULL now and then; strings with multi-byte characters and trailing spaces, dates, fractions. */
function row(n: number): Value[] {
  const seconds = String(n % 60).padStart(2, '0');
  const fraction = ['', '.5', '.123456', '.000001'][n % 4];
  const day = new Date(Date.UTC(1950, 0, 1 + n)).toISOString().slice(0, 10);
  return [
    n,
    n * 1000003 - 5_000_000_000,
    n % 7 === 0 ? null : ((n * 37) % 100000) / 1000,
    n % 3 === 0 ? null : n % 2 === 0,
    ['ab', 'abcd', 'x ', ''][n % 4]!,
    n % 5 === 0 ? null : n % 5 === 1 ? '' : `s-${n}-é€😀`,
    day,
    `2021-02-03 04:${String(n % 60).padStart(2, '0')}:${seconds}${fraction}`,
    n % 6 === 0 ? null : Buffer.from([n & 255, (n >> 8) & 255, 0, 255]),
    n % 11 === 0 ? null : n / 7,
    JSON.stringify({ n, a: [1, 'x'] }),
    // a decimal of scale 0: its trailing zeros are digits
    n % 9 === 0 ? null : n * 10,
  ];
}

function literal(engine: Engine, v: Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return engine === 'postgres' ? String(v) : v ? '1' : '0';
  if (typeof v === 'number') return String(v);
  if (Buffer.isBuffer(v)) return engine === 'postgres' ? `'\\x${v.toString('hex')}'::bytea` : `X'${v.toString('hex')}'`;
  return `'${v.replace(/'/g, "''")}'`;
}

function inserts(engine: Engine, from: number, to: number): string {
  const values: string[] = [];
  for (let n = from; n <= to; n++)
    values.push(
      `(${row(n)
        .map((v) => literal(engine, v))
        .join(', ')})`,
    );
  return `INSERT INTO t VALUES ${values.join(', ')}`;
}

async function exec(engine: Engine, url: string, sql: string): Promise<void> {
  if (engine === 'postgres') await pgExec(url, sql);
  else if (engine === 'mysql') await mysqlExec(url, sql);
  else {
    const db = new Database(url.slice('sqlite:'.length));
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  }
}

async function fresh(engine: Engine, name: string): Promise<string> {
  return engine === 'postgres' ? freshPg(name) : engine === 'mysql' ? freshMysql(name) : freshSqlite(name);
}

async function source(engine: Engine, name: string): Promise<string> {
  const url = await fresh(engine, name);
  await exec(engine, url, DDL[engine]);
  for (let n = 1; n <= ROWS; n += 1000) await exec(engine, url, inserts(engine, n, Math.min(ROWS, n + 999)));
  return url;
}

/** One change on the target per kind of difference: the row it is made in, and the column it names. */
function tamper(engine: 'postgres' | 'mysql'): { sql: string[]; expect: RegExp[] } {
  const pg = engine === 'postgres';
  const changes: [number, string, string][] = [
    [101, 'i', 'i = i + 1'],
    [102, 'd', 'd = d + 0.001'],
    [103, 'b', pg ? 'b = NOT b' : 'b = 1 - b'],
    [104, 'c', "c = 'zz'"],
    // row 105's s is NULL in the source: the empty string is a difference
    [105, 's', "s = ''"],
    [106, 's', "s = 's-106-e€😀'"],
    [107, 'dt', pg ? 'dt = dt + 1' : 'dt = DATE_ADD(dt, INTERVAL 1 DAY)'],
    [108, 'ts', pg ? "ts = ts + interval '1 microsecond'" : 'ts = DATE_ADD(ts, INTERVAL 1 MICROSECOND)'],
    [109, 'bin', pg ? "bin = '\\x00'::bytea" : "bin = X'00'"],
    [112, 'f', 'f = f + 0.5'],
    [111, 'j', `j = '{"n": 0}'`],
    [113, 'z', 'z = z + 1'],
  ];
  const extra = row(ROWS + 100).map((v) => literal(engine, v));
  return {
    sql: [
      ...changes.map(([id, , set]) => `UPDATE t SET ${set} WHERE id = ${id}`),
      'DELETE FROM t WHERE id = 50',
      `INSERT INTO t VALUES (${extra.join(', ')})`,
    ],
    expect: [
      ...changes.map(([id, column]) => new RegExp(`^\\(id\\) = ${id}: column ${column} \\(`)),
      /^\(id\) = 50: missing in target$/,
      new RegExp(`^\\(id\\) = ${ROWS + 100}: in target only$`),
    ],
  };
}

/**
 * The columns the pair digests in the databases (empty: none), as verify chooses them, whether
 * the source digests them in its own, and the hash the databases use.
 */
async function pushedColumns(file: string): Promise<{ columns: string[]; bySource: boolean; hash: string }> {
  const session = await openSession(file);
  const view = await session.reader.snapshot(1);
  try {
    const m = session.waves.flat()[0]!;
    const bySource = sourcePushes(session.reader, m, false);
    const forms = await engineForms(session.reader, session.writer, m, view, false);
    const g = digestGroups(m, bySource, targetPushes(session.writer, m), forms);
    const columns = g.pushed ? g.groups[0]! : [];
    return {
      columns: columns.map((i) => m.target.columns[i]!.name),
      bySource: bySource !== undefined && columns.every((i) => g.hash === 'engine' || bySource(i)),
      hash: g.hash,
    };
  } finally {
    await view.release();
    await session.close();
  }
}

/**
 * The whole table's digests as verify's first pass takes them on each side (in the databases,
 * one scan a side), and as it takes them again from rows read whole.
 */
async function firstPass(file: string): Promise<{ source: Digest[]; target: Digest[]; rows: Digest[] }> {
  const session = await openSession(file);
  const view = await session.reader.snapshot(1);
  try {
    const m = session.waves.flat()[0]!;
    const forms = await engineForms(session.reader, session.writer, m, view, false);
    const g = digestGroups(m, sourcePushes(session.reader, m, false), targetPushes(session.writer, m), forms);
    async function* rows(range: KeyRange) {
      for await (const b of session.reader.read(m.source, range, view, 500)) yield m.mapBatch(b, []);
    }
    const options = { source: session.reader, view, mapping: m, rows, refusedRows: false, batchRows: 500 };
    const src = sourceSide(options, g);
    const tgt = targetSide(session.writer, m, g, 500);
    return { source: await src.digests({}), target: await tgt.digests({}), rows: await src.inFerry({}) };
  } finally {
    await view.release();
    await session.close();
  }
}

const CANONICAL = ['id', 'i', 'd', 'b', 'c', 's', 'dt', 'ts', 'bin', 'z'];
const PAIRS: [Engine, 'postgres' | 'mysql', string[], string][] = [
  // one engine on both sides: every column in both databases, by the engine's own hash
  ['postgres', 'postgres', ['id', 'i', 'd', 'b', 'c', 's', 'dt', 'ts', 'bin', 'f', 'j', 'z'], 'engine'],
  // across engines: floats and JSON are digested in ferry; everything else in both databases
  ['mysql', 'postgres', CANONICAL, 'canonical'],
  ['postgres', 'mysql', CANONICAL, 'canonical'],
  // SQLite's values are of any class (the mapping converts them): its side digests in ferry, PostgreSQL's in SQL
  ['sqlite', 'postgres', CANONICAL, 'canonical'],
];

for (const [from, to, pushed, hash] of PAIRS) {
  test(`${from} → ${to}: verify pushed down matches, then finds every difference`, async () => {
    const src = await source(from, `ferry_vpd_${from}_${to}_s`);
    const dst = await fresh(to, `ferry_vpd_${from}_${to}_t`);
    const { file } = await planFor(src, dst, () => {}, { rowsPerChunk: 1000 });
    const run = await runPlan(file);
    assert.equal(run.rejects, 0);
    assert.deepEqual(await pushedColumns(file), { columns: pushed, bySource: from !== 'sqlite', hash });
    // the first pass's digests agree on both sides (no range compared again from rows); those
    // summed from the databases' canonical row hashes are the very ones ferry takes from rows
    // (the engine's hash is not)
    const pass = await firstPass(file);
    assert.equal(pass.source[0]!.rows, ROWS);
    assert.deepEqual(pass.target, pass.source);
    if (hash === 'canonical') assert.deepEqual(pass.rows, pass.source);
    else assert.notDeepEqual(pass.rows, pass.source);

    const clean = await verifyPlan(file);
    assert.ok(clean.ok, JSON.stringify(clean.tables));
    assert.equal(clean.tables[0]!.sourceRows, ROWS);
    assert.equal(clean.tables[0]!.targetRows, ROWS);

    const { sql, expect } = tamper(to);
    for (const s of sql) await exec(to, dst, s);
    const v = await verifyPlan(file, { sample: 50 });
    assert.equal(v.ok, false);
    const t = v.tables[0]!;
    assert.equal(t.status, 'mismatch');
    assert.equal(t.sourceRows, ROWS);
    assert.equal(t.targetRows, ROWS);
    assert.equal(t.sample.length, expect.length, t.sample.join('\n'));
    for (const e of expect)
      assert.ok(
        t.sample.some((line) => e.test(line)),
        `${e} among:\n${t.sample.join('\n')}`,
      );
  });
}

test('postgres → postgres: the engine hash finds a difference in each type it hashes by value or by text', async () => {
  const src = await freshPg('ferry_vpd_engine_s');
  const dst = await freshPg('ferry_vpd_engine_t');
  await pgExec(
    src,
    `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
     CREATE TABLE t (id int PRIMARY KEY, tz timestamptz, iv interval, e mood, arr int[], js json, r real, u uuid,
       t text, n numeric, x time);
     INSERT INTO t SELECT n,
       CASE WHEN n % 5 <> 0 THEN timestamptz '2021-01-01 00:00:00+02' + n * interval '1 minute 1.5 seconds' END,
       n * interval '1 hour', (ARRAY['sad', 'ok', 'happy']::mood[])[1 + n % 3], ARRAY[n, n + 1],
       json_build_object('n', n, 'a', 'x'), CASE WHEN n = 115 THEN 0 ELSE n / 7.0 END, md5(n::text)::uuid,
       CASE WHEN n % 4 = 1 THEN '' WHEN n % 4 <> 0 THEN 'text ' || n END, n / 4.0, time '01:02:03' + n * interval '1 s'
     FROM generate_series(1, ${ROWS}) n`,
  );
  const { file } = await planFor(src, dst, () => {}, { rowsPerChunk: 1000 });
  assert.equal((await runPlan(file)).rejects, 0);
  const all = ['id', 'tz', 'iv', 'e', 'arr', 'js', 'r', 'u', 't', 'n', 'x'];
  assert.deepEqual(await pushedColumns(file), { columns: all, bySource: true, hash: 'engine' });
  const clean = await verifyPlan(file);
  assert.ok(clean.ok, JSON.stringify(clean.tables));

  const changes: [number, string, string][] = [
    [101, 'tz', "tz = tz + interval '1 microsecond'"],
    // equal as intervals (the type's own hash too), different as text: hashed by its text
    [24, 'iv', "iv = interval '1 day'"],
    [103, 'e', "e = 'happy'"],
    [104, 'arr', 'arr = ARRAY[104, 106]'],
    [106, 'js', `js = '{"n": 106, "a": "y"}'`],
    [107, 'r', 'r = r + 1'],
    // equal as floats (and by the type's own hash), a difference in canonical text
    [115, 'r', "r = '-0'"],
    [109, 'u', "u = md5('x')::uuid"],
    // NULL in the source (109 % 4 = 0): the empty string is a difference, and a change of case
    [108, 't', "t = ''"],
    [110, 't', "t = 'Text 110'"],
    [111, 'n', 'n = n + 0.0001'],
    [113, 'x', "x = x + interval '1 microsecond'"],
  ];
  for (const [id, , set] of changes) await pgExec(dst, `UPDATE t SET ${set} WHERE id = ${id}`);
  await pgExec(dst, 'DELETE FROM t WHERE id = 50');
  await pgExec(dst, `INSERT INTO t (id) VALUES (${ROWS + 100})`);
  const v = await verifyPlan(file, { sample: 50 });
  const t = v.tables[0]!;
  assert.equal(t.status, 'mismatch');
  const expect = [
    ...changes.map(([id, column]) => new RegExp(`^\\(id\\) = ${id}: column ${column} \\(`)),
    /^\(id\) = 50: missing in target$/,
    new RegExp(`^\\(id\\) = ${ROWS + 100}: in target only$`),
  ];
  assert.equal(t.sample.length, expect.length, t.sample.join('\n'));
  for (const e of expect)
    assert.ok(
      t.sample.some((line) => e.test(line)),
      `${e} among:\n${t.sample.join('\n')}`,
    );
});

test('PostgreSQL, MariaDB and ferry (over SQLite rows) give the same digest for the same canonical rows', async () => {
  const lite = await source('sqlite', 'ferry_vpd_same');
  const pgUrl = await fresh('postgres', 'ferry_vpd_same_pg');
  const myUrl = await fresh('mysql', 'ferry_vpd_same_my');
  const digests: string[] = [];
  const pgPlan = await planFor(lite, pgUrl, () => {}, { rowsPerChunk: 1000 });
  await runPlan(pgPlan.file);
  const myPlan = await planFor(pgUrl, myUrl, () => {}, { rowsPerChunk: 1000 });
  await runPlan(myPlan.file);
  const range = { lower: [500], upper: [2500] };
  for (const file of [pgPlan.file, myPlan.file]) {
    const session = await openSession(file);
    try {
      const m = session.waves.flat()[0]!;
      const pushed = m.target.columns.filter((c) => session.writer.digestsColumn!(c, c.type));
      assert.equal(pushed.length, 10, pushed.map((c) => c.name).join());
      const d = await session.writer.rangeDigest!(m.target, range, pushed);
      assert.ok(d);
      assert.equal(d.rows, 2000);
      digests.push(d.sum);
      if (file === pgPlan.file) {
        // ferry's digest of the SQLite source's rows, as the run mapped them
        const view = await session.reader.snapshot(1);
        try {
          const types = m.target.columns.map((c) => c.type);
          const at = pushed.map((c) => m.target.columns.indexOf(c));
          const b = new RangeDigestBuilder(
            at,
            at.map((i) => types[i]!),
          );
          for await (const batch of session.reader.read(m.source, range, view, 500))
            for (const r of m.mapBatch(batch, []).rows) b.add(r);
          digests.push(b.result().sum);
        } finally {
          await view.release();
        }
      }
    } finally {
      await session.close();
    }
  }
  assert.equal(digests.length, 3);
  assert.equal(new Set(digests).size, 1, digests.join(' '));
});
