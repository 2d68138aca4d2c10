// `ferry perf`: the application's queries on the source and on the target after the move, through
// the plan's renames. A dropped index on the target fails the check naming the query, the
// target's plan and the missing index; a changed target row fails it naming the query.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Plan, TablePlan } from '../../src/core/plan.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { answerDifference, type Answer } from '../../src/pipeline/perf/answers.js';
import type { PerfResult } from '../../src/pipeline/perf/perf.js';
import { splitQueries } from '../../src/pipeline/perf/queries.js';
import { translateQuery } from '../../src/pipeline/perf/translate.js';
import Database from 'better-sqlite3';
import { freshMysql, freshPg, freshSqlite, mysqlExec, pgExec, tmpDir } from '../helpers.js';
import { privateMariadb } from '../private-mariadb.js';
import { privatePostgres } from '../private-postgres.js';
import { ferry, planFor } from './support.js';

const ROWS = 200_000;

// each of 60 correlated lookups scans the whole table without the index: hundreds of times slower
const QUERIES = `-- the application's queries
-- name: lookups by customer
SELECT sum((SELECT count(*) FROM orders o WHERE o.customer = s.n)) AS found
  FROM (SELECT id AS n FROM orders WHERE id <= 60) s;

-- name: big orders
SELECT id, amount, note FROM orders WHERE amount >= 999.5 ORDER BY id;
`;

function renamed(p: Plan): void {
  const t = p.waves[0]!.tables[0]!;
  t.target = 'purchases';
  t.columns.find((c) => c.source === 'customer')!.target = 'customer_id';
  for (const ix of t.indexes) ix.columns = ix.columns.map((c) => (c === 'customer' ? 'customer_id' : c));
  wideMargin(p);
}

/** The machine is shared: a wide margin for noise, which the missing index exceeds by far. */
function wideMargin(p: Plan): void {
  p.settings.perf = { slowerThan: 10, floorMs: 50 };
}

/** For the tests of answers, not times: no time on a shared machine counts. */
function answersOnly(p: Plan): void {
  p.settings.perf = { slowerThan: 10, floorMs: 60_000 };
}

async function checkIndexAndChange(source: string, sourceKind: 'postgres' | 'mysql'): Promise<void> {
  const target = await freshPg(`ferry_perf_dst_${sourceKind}`);
  const { file, dir } = await planFor(source, target, renamed, { rowsPerChunk: 50_000 });
  assert.equal((await runPlan(file)).rejects, 0);
  const queries = join(dir, 'queries.sql');
  writeFileSync(queries, QUERIES);

  const same = ferry(['perf', file, '--queries', queries]);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.match(same.stdout, /^lookups by customer: ok: p95 /m);
  assert.match(same.stdout, /^big orders: ok: p95 /m);

  await pgExec(target, 'DROP INDEX orders_customer_idx');
  const slow = ferry(['perf', file, '--queries', queries]);
  assert.equal(slow.code, 3, slow.stdout + slow.stderr);
  assert.match(slow.stdout, /^lookups by customer: slower: p95 /m);
  assert.match(
    slow.stdout,
    /likely cause: the source has index orders_customer_idx on orders\(customer\); the target has none on purchases\(customer_id\)/,
  );
  assert.match(slow.stdout, /the target plans it as:\n(.*\n)*\s+.*Seq Scan on purchases/);
  assert.match(slow.stdout, /^big orders: ok/m, 'the other query still passes');

  await pgExec(target, 'CREATE INDEX orders_customer_idx ON purchases (customer_id)');
  await pgExec(target, `UPDATE purchases SET note = 'changed' WHERE id = 1999`);
  const changed = ferry(['perf', file, '--queries', queries, '--json']);
  assert.equal(changed.code, 3, changed.stdout + changed.stderr);
  const r = JSON.parse(changed.stdout) as { queries: { name: string; status: string; message?: string }[] };
  assert.deepEqual(
    r.queries.map((q) => [q.name, q.status]),
    [
      ['lookups by customer', 'ok'],
      ['big orders', 'differs'],
    ],
  );
  assert.equal(r.queries[1]!.message, 'row 2 differs: source (1999, 999.5, note 1999), target (1999, 999.5, changed)');
}

test('PostgreSQL to PostgreSQL: a dropped index makes a query slower, named with its cause; a changed row makes one differ', async () => {
  const source = await freshPg('ferry_perf_src');
  await pgExec(
    source,
    `CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, amount numeric(10,2), note text)`,
  );
  await pgExec(
    source,
    `INSERT INTO orders SELECT g, g % 50000, (g % 1000) + 0.50, 'note ' || g FROM generate_series(1, ${ROWS}) g`,
  );
  await pgExec(source, 'CREATE INDEX orders_customer_idx ON orders (customer)');
  await pgExec(source, 'ANALYZE orders');
  await checkIndexAndChange(source, 'postgres');
});

test('MariaDB to PostgreSQL: the same checks across engines', async () => {
  const source = await freshMysql('ferry_perf_msrc');
  await mysqlExec(
    source,
    `CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, amount decimal(10,2), note text, KEY orders_customer_idx (customer))`,
  );
  await mysqlExec(
    source,
    `INSERT INTO orders SELECT seq, seq % 50000, (seq % 1000) + 0.50, CONCAT('note ', seq) FROM seq_1_to_${ROWS}`,
  );
  await checkIndexAndChange(source, 'mysql');
});

test('a query file splits on its ";" tokens: names, comments, and ";" inside strings, quoted names and dollar quotes', () => {
  const text = `-- name: first
SELECT 'a;b' AS "x;y" FROM t; -- a comment; with a ";"
/* a block; comment */
-- name: second one
SELECT $q$ it's; here $q$, E'\\';' FROM t
;
SELECT 3;`;
  assert.deepEqual(splitQueries(text, 'postgres'), [
    { name: 'first', sql: `SELECT 'a;b' AS "x;y" FROM t` },
    { name: 'second one', sql: `SELECT $q$ it's; here $q$, E'\\';' FROM t` },
    { name: 'query 3', sql: 'SELECT 3' },
  ]);
  assert.deepEqual(splitQueries("# name-less\nSELECT 'it\\'s;' FROM `a;b`; SELECT \"x;\";", 'mysql'), [
    { name: 'query 1', sql: "SELECT 'it\\'s;' FROM `a;b`" },
    { name: 'query 2', sql: 'SELECT "x;"' },
  ]);
});

test("--from-stats runs the source's costliest SELECTs from pg_stat_statements, and says which it skipped", async () => {
  const server = await privatePostgres({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
  try {
    const source = await server.database('ferry_perf_stats');
    await pgExec(source, 'CREATE EXTENSION pg_stat_statements');
    await pgExec(source, `CREATE TABLE items (id int PRIMARY KEY, label text)`);
    await pgExec(source, `INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g`);
    const target = await freshPg('ferry_perf_stats_dst');
    const { file } = await planFor(source, target, answersOnly);
    assert.equal((await runPlan(file)).rejects, 0);
    // the statistics from here on are the application's (ferry's own reads of the copy left out)
    await pgExec(source, 'SELECT pg_stat_statements_reset()');
    for (let i = 0; i < 3; i++) {
      await pgExec(source, 'SELECT count(*) FROM items WHERE label IS NOT NULL');
      await pgExec(source, 'SELECT label FROM items WHERE id = 7');
    }
    const r = ferry(['perf', file, '--from-stats', '--top', '5']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^top \d \(3 calls\): ok: p95 /m);
    assert.match(
      r.stdout,
      /^skipped \(its constants are placeholders the statistics left in it\): SELECT label FROM items WHERE id = \$1$/m,
    );
  } finally {
    server.stop();
  }
});

test('--from-stats without pg_stat_statements is a one-line error saying how to enable it', async () => {
  const source = await freshPg('ferry_perf_nostats');
  await pgExec(source, `CREATE TABLE items (id int PRIMARY KEY)`);
  const target = await freshPg('ferry_perf_nostats_dst');
  const { file } = await planFor(source, target);
  const r = ferry(['perf', file, '--from-stats']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /pg_stat_statements is not installed in the source database: add it to the server's shared_preload_libraries/,
  );
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('perf needs a SQL target: a folder of files is refused in one line', async () => {
  const source = await freshPg('ferry_perf_folder');
  await pgExec(source, `CREATE TABLE items (id int PRIMARY KEY)`);
  const { file } = await planFor(source, `file:${tmpDir()}`);
  const r = ferry(['perf', file, '--from-stats']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /perf needs a SQL target: objectstore does not run queries/);
});

test("a query takes the plan's renames and the target's quotes; one the mapping cannot answer for says why", () => {
  const orders = {
    source: 'orders',
    target: 'purchases',
    columns: [
      { source: 'id', target: 'id' },
      { source: 'customer', target: 'customer_id' },
      { source: 'email', target: 'email', transform: { value: 'x' } },
      { source: 'secret', target: 'secret', exclude: true },
    ],
  } as unknown as TablePlan;
  const people = {
    source: 'people',
    target: 'people',
    columns: [
      { source: 'id', target: 'person_id' },
      { source: 'customer', target: 'customer' },
    ],
  } as unknown as TablePlan;
  const t = translateQuery(
    "SELECT `id`, count(*) FROM orders WHERE customer = 'customer' GROUP BY `Orders`.id",
    [orders, people],
    'mysql',
    'postgres',
  );
  assert.ok(!('problem' in t));
  assert.equal(
    t.sql,
    `SELECT "id", count(*) FROM "purchases" WHERE "customer_id" = 'customer' GROUP BY "purchases".id`,
  );
  assert.deepEqual([...t.columns.get('orders')!], ['id', 'customer']);
  const problem = (sql: string) => {
    const r = translateQuery(sql, [orders, people], 'postgres', 'postgres');
    return 'problem' in r ? r.problem : r.sql;
  };
  assert.equal(problem('SELECT email FROM orders'), 'column email of orders is transformed by the plan');
  assert.equal(problem('SELECT secret FROM orders'), 'column secret of orders is left out of the copy');
  assert.equal(
    problem('SELECT o.id FROM orders o JOIN people p ON p.customer = o.customer'),
    'column id has different target names in the tables of the query (id, person_id)',
  );
  assert.equal(problem('SELECT 1 FROM elsewhere'), 'it names no table of the plan');
});

test('answers compare as canonical values: 1.50 is 1.5, a boolean is 1, order counts only when the query orders', () => {
  const num = { kind: 'decimal' } as const;
  const source: Answer = {
    columns: [
      { name: 'a', type: num },
      { name: 'b', type: { kind: 'bool' } },
    ],
    rows: [
      ['1.50', true],
      ['2', false],
    ],
  };
  const target: Answer = {
    columns: [
      { name: 'a', type: num },
      { name: 'b', type: { kind: 'int', bits: 32, unsigned: false } },
    ],
    rows: [
      ['2.000', 0],
      ['1.5', 1],
    ],
  };
  assert.equal(answerDifference(source, target, false), undefined);
  assert.equal(answerDifference(source, target, true), 'row 1 differs: source (1.5, 1), target (2, 0)');
  assert.equal(
    answerDifference(
      source,
      {
        ...target,
        rows: [
          ['1.5', 1],
          ['2', null],
        ],
      },
      false,
    ),
    'the source answers 2 rows, the target 2; only the source has (2, 0); only the target has (2, NULL)',
  );
});

test('SQLite to SQLite: the same answers pass, a changed target row differs, a transformed column is not translated', async () => {
  const source = freshSqlite('ferry_perf_lite_src');
  const db = new Database(source.slice('sqlite:'.length));
  db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, price NUMERIC(8,2), label TEXT, secret TEXT)`);
  const insert = db.prepare(`INSERT INTO items VALUES (?, ?, ?, ?)`);
  for (let i = 1; i <= 100; i++) insert.run(i, i / 4, `item ${i}`, `s${i}`);
  db.close();
  const target = freshSqlite('ferry_perf_lite_dst');
  const { file, dir } = await planFor(source, target, (p) => {
    answersOnly(p);
    const t = p.waves[0]!.tables[0]!;
    t.target = 'goods';
    t.columns.find((c) => c.source === 'label')!.target = 'title';
    t.columns.find((c) => c.source === 'secret')!.transform = { value: 'hidden' };
  });
  assert.equal((await runPlan(file)).rejects, 0);
  const queries = join(dir, 'queries.sql');
  writeFileSync(
    queries,
    `-- name: dear\nSELECT label, price, count(*) AS n FROM items WHERE id > 80 GROUP BY label, price;\n-- name: secrets\nSELECT secret FROM items;\n`,
  );
  const first = ferry(['perf', file, '--queries', queries, '--json']);
  const before = JSON.parse(first.stdout) as {
    queries: { name: string; status: string; message?: string; rows?: object }[];
  };
  assert.deepEqual(
    before.queries.map((q) => [q.name, q.status, q.rows ?? q.message]),
    [
      ['dear', 'ok', { source: 20, target: 20 }],
      [
        'secrets',
        'untranslatable',
        "the plan's mapping cannot translate it: column secret of items is transformed by the plan",
      ],
    ],
  );
  assert.equal(first.code, 3, 'a query the check could not run is no pass');
  const t = new Database(target.slice('sqlite:'.length));
  t.exec(`UPDATE goods SET title = 'renamed' WHERE id = 100`);
  t.close();
  const second = JSON.parse(ferry(['perf', file, '--queries', queries, '--json']).stdout) as typeof before;
  assert.equal(second.queries[0]!.status, 'differs');
  assert.equal(
    second.queries[0]!.message,
    'the source answers 20 rows, the target 20; only the source has (item 100, 25, 1); only the target has (renamed, 25, 1)',
  );
});

test('--from-stats on MariaDB reads performance_schema digests: a digest with ? placeholders is skipped, one without runs on PostgreSQL', async () => {
  const server = await privateMariadb({ settings: ['--performance_schema=ON'] });
  try {
    const source = await server.database('ferry_perf_mstats');
    await mysqlExec(source, `CREATE TABLE items (id int PRIMARY KEY, label text)`);
    await mysqlExec(source, `INSERT INTO items SELECT seq, CONCAT('item ', seq) FROM seq_1_to_1000`);
    const target = await freshPg('ferry_perf_mstats_dst');
    const { file } = await planFor(source, target, answersOnly);
    assert.equal((await runPlan(file)).rejects, 0);
    // the statistics from here on are the application's (ferry's own reads of the copy left out)
    await mysqlExec(source, 'TRUNCATE performance_schema.events_statements_summary_by_digest');
    for (let i = 0; i < 3; i++) {
      await mysqlExec(source, 'SELECT count(*) FROM items WHERE label IS NOT NULL');
      await mysqlExec(source, 'SELECT label FROM items WHERE id = 7');
    }
    const r = ferry(['perf', file, '--from-stats', '--top', '5', '--json']);
    const result = JSON.parse(r.stdout) as PerfResult;
    const counted = result.queries.find((q) => /count/i.test(q.sql));
    assert.equal(counted?.status, 'ok', r.stdout);
    assert.match(counted.targetSql!, /FROM "items" WHERE "label" IS NOT NULL/);
    assert.ok(
      result.skipped.some(
        (s) =>
          /WHERE `?id`? = \?/i.test(s.sql) && s.reason === 'its constants are placeholders the statistics left in it',
      ),
      r.stdout,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
  } finally {
    server.stop();
  }
});

test('--from-stats with performance_schema off is a one-line error saying how to turn it on', async () => {
  const source = await freshMysql('ferry_perf_nopfs');
  await mysqlExec(source, `CREATE TABLE items (id int PRIMARY KEY)`);
  const probe = (await mysqlExec(source, 'SELECT @@performance_schema AS p')) as { p: number }[];
  assert.equal(Number(probe[0]!.p), 0, 'the shared MariaDB runs without performance_schema');
  const { file } = await planFor(source, await freshPg('ferry_perf_nopfs_dst'));
  const r = ferry(['perf', file, '--from-stats']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stderr.trim(),
    "ferry: performance_schema is off on the source server: set performance_schema=ON in the server's configuration and restart it",
  );
});

test('bad input: no query source, a missing file, and a statement that writes, each said in one line', async () => {
  const source = await freshPg('ferry_perf_bad');
  await pgExec(source, `CREATE TABLE items (id int PRIMARY KEY)`);
  await pgExec(source, `INSERT INTO items VALUES (1), (2)`);
  const target = await freshPg('ferry_perf_bad_dst');
  const { file, dir } = await planFor(source, target, answersOnly);
  assert.equal((await runPlan(file)).rejects, 0);
  const neither = ferry(['perf', file]);
  assert.equal(neither.code, 2);
  assert.equal(neither.stderr.trim(), 'ferry: give --queries FILE or --from-stats: ferry perf PLAN --queries FILE');
  const missing = ferry(['perf', file, '--queries', join(dir, 'nowhere.sql')]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(
    missing.stderr,
    /^ferry: cannot read the query file .*nowhere\.sql: .*check the path given to --queries\n$/,
  );
  const writes = join(dir, 'writes.sql');
  writeFileSync(writes, '-- name: cleanup\nDELETE FROM items;\n');
  const r = ferry(['perf', file, '--queries', writes]);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^cleanup: failed\n {2}the source refused it: .*cannot execute DELETE in a read-only transaction$/m,
  );
  assert.deepEqual((await pgExec(source, 'SELECT count(*)::int AS n FROM items')).rows, [{ n: 2 }], 'nothing deleted');
});
