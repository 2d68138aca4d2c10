// Real sample databases written by others, migrated between engines and verified.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { freshDb, loadChinook, loadPagila, open, planFor, type Engine } from './support.js';

const CHINOOK_ROWS = 15607;

async function migrateAndVerify(source: string, target: string, edit?: Parameters<typeof planFor>[2]) {
  const { file, plan } = await planFor(source, target, edit, { rowsPerChunk: 700 });
  const run = await runPlan(file);
  assert.equal(run.rejects, 0, 'no row rejected');
  const v = await verifyPlan(file);
  assert.ok(v.ok, JSON.stringify(v.tables.filter((t) => t.status !== 'match')));
  return { run, verify: v, plan };
}

describe('Chinook between every pair of engines', () => {
  const sources: Partial<Record<Engine, string>> = {};
  before(async () => {
    sources.postgres = await loadChinook('postgres', 'ferry_chinook_pg');
    sources.mysql = await loadChinook('mysql', 'ferry_chinook_my');
    sources.sqlite = await loadChinook('sqlite', 'ferry_chinook_lite');
  });
  const pairs: [Engine, Engine][] = [
    ['mysql', 'postgres'],
    ['sqlite', 'postgres'],
    ['postgres', 'mysql'],
    ['sqlite', 'mysql'],
    ['postgres', 'sqlite'],
    ['mysql', 'sqlite'],
  ];
  for (const [from, to] of pairs)
    test(`${from} -> ${to}: 11 tables, ${CHINOOK_ROWS} rows, verified, keys and foreign keys in place`, async () => {
      const target = await freshDb(to, `ferry_chinook_${from}_to_${to}`);
      const { run, plan } = await migrateAndVerify(sources[from]!, target);
      assert.equal(run.tables.length, 11);
      assert.equal(
        run.tables.reduce((n, t) => n + t.rows, 0),
        CHINOOK_ROWS,
      );
      const conn = await open(target);
      try {
        const schema = await conn.introspect();
        assert.equal(schema.tables.length, 11);
        const fks = schema.tables.reduce((n, t) => n + t.foreignKeys.length, 0);
        assert.equal(fks, 11);
        const composite = schema.tables.find((t) => t.primaryKey.length === 2);
        assert.ok(composite, 'the two-column primary key survives');
        assert.ok(plan.waves.length >= 3, 'waves follow foreign keys');
      } finally {
        await conn.close();
      }
    });
});

describe('Pagila (PostgreSQL features) ', () => {
  let source: string;
  before(async () => {
    source = await loadPagila('ferry_pagila_src');
  });
  test('PostgreSQL -> PostgreSQL: enums, arrays, domains, bytea, partitioned payment, verified', async () => {
    const target = await freshDb('postgres', 'ferry_pagila_pg');
    const { run } = await migrateAndVerify(source, target);
    const payment = run.tables.find((t) => t.table === 'payment');
    assert.ok(payment && payment.rows > 16000, 'partitioned payment copied once through its parent');
    const conn = await open(target);
    try {
      const film = (await conn.introspect({ tables: ['film'] })).tables[0]!;
      assert.equal(film.columns.find((c) => c.name === 'special_features')!.type.kind, 'array');
      assert.equal(film.columns.find((c) => c.name === 'rating')!.type.kind, 'enum');
    } finally {
      await conn.close();
    }
  });
  test('PostgreSQL -> MySQL: the same data in another engine, verified', async () => {
    const target = await freshDb('mysql', 'ferry_pagila_my');
    await migrateAndVerify(source, target);
  });
});
