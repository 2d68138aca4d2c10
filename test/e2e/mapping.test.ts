// The plan's mapping rules as a user writes them: renames, exclusions, casts, a row filter and
// personal-data transforms, applied by run and honoured by verify.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { freshMysql, freshPg, mysqlExec, pgExec } from '../helpers.js';
import { planFor } from './support.js';

test('rename, exclude, cast, filter, hash, mask and fixed value', async () => {
  const key = 'a secret key of the email hash';
  process.env.FERRY_TEST_MAPPING_KEY = key;
  const source = await freshPg('ferry_map_src');
  await pgExec(
    source,
    `CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL, phone text, secret text, score numeric(6,2), country text)`,
  );
  await pgExec(
    source,
    `INSERT INTO people SELECT g, 'user' || g || '@example.com', '+33 6 12 34 ' || lpad(g::text, 4, '0'), 'hidden ' || g, g * 1.5, CASE WHEN g % 3 = 0 THEN 'FR' ELSE 'DE' END FROM generate_series(1, 300) g`,
  );
  const target = await freshMysql('ferry_map_dst');
  const { file } = await planFor(source, target, (p) => {
    const t = p.waves[0]!.tables[0]!;
    t.target = 'customers';
    t.where = "country = 'FR'";
    const col = (name: string) => t.columns.find((c) => c.source === name)!;
    col('id').target = 'customer_id';
    t.primaryKey = ['customer_id'];
    col('email').transform = { hash: { salt: '${env:FERRY_TEST_MAPPING_KEY}' } };
    col('email').type = 'varchar(64)';
    col('phone').transform = { mask: { keepFirst: 0, keepLast: 4, char: '*' } };
    col('secret').exclude = true;
    col('score').type = 'varchar(20)';
    col('country').transform = { value: 'France' };
  });
  const run = await runPlan(file);
  assert.equal(run.rejects, 0);
  const rows = (await mysqlExec(target, 'SELECT * FROM customers ORDER BY customer_id')) as Record<string, unknown>[];
  assert.equal(rows.length, 100, 'only the rows of the filter');
  assert.deepEqual(
    Object.keys(rows[0]!),
    ['customer_id', 'email', 'phone', 'score', 'country'],
    'renamed, and the excluded column left out',
  );
  const first = rows[0]!;
  assert.equal(first.customer_id, 3);
  assert.equal(first.email, createHmac('sha256', key).update('user3@example.com').digest('hex'));
  assert.equal(first.phone, '************0003');
  assert.equal(first.score, '4.50', 'cast to text from the exact decimal, scale kept');
  assert.equal(first.country, 'France');
  const v = await verifyPlan(file);
  assert.ok(v.ok, JSON.stringify(v.tables));
  assert.equal(v.tables[0]!.sourceRows, 100);
});

test('verify finds a changed, a missing and an extra row and names their keys', async () => {
  const source = await freshPg('ferry_map_v_src');
  await pgExec(source, `CREATE TABLE t (id int PRIMARY KEY, v text)`);
  await pgExec(source, `INSERT INTO t SELECT g, 'value ' || g FROM generate_series(1, 20000) g`);
  const target = await freshPg('ferry_map_v_dst');
  const { file } = await planFor(source, target);
  await runPlan(file);
  await pgExec(
    target,
    `UPDATE t SET v = 'tampered' WHERE id = 12345; DELETE FROM t WHERE id = 777; INSERT INTO t VALUES (30000, 'extra')`,
  );
  const v = await verifyPlan(file, { sample: 10 });
  assert.equal(v.ok, false);
  const sample = v.tables[0]!.sample.join('\n');
  assert.match(sample, /\(id\) = 12345: column v \(string\): source "value 12345", target "tampered"/);
  assert.match(sample, /\(id\) = 777: missing in target/);
  assert.match(sample, /\(id\) = 30000: in target only/);
});
