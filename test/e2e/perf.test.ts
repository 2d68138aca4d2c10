// `ferry perf`: the application's queries on the source and on the target after the move, through
// the plan's renames. A dropped index on the target fails the check naming the query, the
// target's plan and the missing index; a changed target row fails it naming the query.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Plan } from '../../src/core/plan.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { splitQueries } from '../../src/pipeline/perf/queries.js';
import { freshMysql, freshPg, mysqlExec, pgExec, tmpDir } from '../helpers.js';
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
  // the machine is shared: a wide margin for noise, which the missing index exceeds by far
  p.settings.perf = { slowerThan: 10, floorMs: 50 };
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
    const { file } = await planFor(source, target);
    assert.equal((await runPlan(file)).rejects, 0);
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
