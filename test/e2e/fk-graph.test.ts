// Foreign-key cycles and self-references: tables that refer to each other directly (a 2-cycle),
// through a chain (a 3-cycle) or to themselves are planned into one wave, the default plan runs
// and verifies from each SQL engine into each, and every foreign key is in the target at the end,
// also when a second plan empties the tables the first one made.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { TableInfo } from '../../src/core/types.js';
import { join } from 'node:path';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { rollbackRun } from '../../src/pipeline/safety/rollback.js';
import { waves } from '../../src/pipeline/plan/waves.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { dbName, mariadbClientArgs, pgExec } from '../helpers.js';
import { ENGINES, freshDb, open, planFor, type Engine } from './support.js';

// tables first, then rows, then the keys: rows that refer to each other go in before the keys do
const TABLES = [
  'CREATE TABLE dept (id int PRIMARY KEY, name varchar(20) NOT NULL, head int)',
  'CREATE TABLE emp (id int PRIMARY KEY, name varchar(20) NOT NULL, dept int NOT NULL)',
  'CREATE TABLE ca (id int PRIMARY KEY, next int)',
  'CREATE TABLE cb (id int PRIMARY KEY, next int)',
  'CREATE TABLE cc (id int PRIMARY KEY, next int)',
  'CREATE TABLE node (id int PRIMARY KEY, parent int, label varchar(20))',
  'CREATE TABLE badge (id int PRIMARY KEY, emp int NOT NULL, node int)',
];
const ROWS = [
  "INSERT INTO dept VALUES (1, 'ops', 10), (2, 'dev', 20), (3, 'new', NULL)",
  "INSERT INTO emp VALUES (10, 'ann', 1), (20, 'bob', 2), (21, 'cy', 2)",
  'INSERT INTO ca VALUES (1, 1), (2, NULL)',
  'INSERT INTO cb VALUES (1, 1), (2, 2)',
  'INSERT INTO cc VALUES (1, 1), (2, 1)',
  "INSERT INTO node VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 2, 'b'), (4, 4, 'loop')",
  'INSERT INTO badge VALUES (1, 10, 3), (2, 21, NULL)',
];
// name, table, column, referenced table
const KEYS: [string, string, string, string][] = [
  ['dept_head_fk', 'dept', 'head', 'emp'],
  ['emp_dept_fk', 'emp', 'dept', 'dept'],
  ['ca_next_fk', 'ca', 'next', 'cb'],
  ['cb_next_fk', 'cb', 'next', 'cc'],
  ['cc_next_fk', 'cc', 'next', 'ca'],
  ['node_parent_fk', 'node', 'parent', 'node'],
  ['badge_emp_fk', 'badge', 'emp', 'emp'],
  ['badge_node_fk', 'badge', 'node', 'node'],
];
const addKey = ([name, table, column, ref]: (typeof KEYS)[number]) =>
  `ALTER TABLE ${table} ADD CONSTRAINT ${name} FOREIGN KEY (${column}) REFERENCES ${ref} (id)`;

async function load(engine: Engine): Promise<string> {
  const url = await freshDb(engine, `ferry_fkg_${engine}`);
  if (engine === 'postgres') for (const s of [...TABLES, ...ROWS, ...KEYS.map(addKey)]) await pgExec(url, s);
  else if (engine === 'mysql')
    execFileSync('mariadb', [...mariadbClientArgs(), dbName(url)], {
      input: [...TABLES.map((s) => `${s} ENGINE=InnoDB`), ...ROWS, ...KEYS.map(addKey)].map((s) => `${s};`).join('\n'),
    });
  else {
    // SQLite declares foreign keys with the table (any order: they are checked only when enforced)
    const db = new Database(url.slice('sqlite:'.length));
    db.pragma('foreign_keys = OFF');
    for (const s of TABLES) {
      const table = s.split(' ')[2]!;
      const keys = KEYS.filter((k) => k[1] === table).map(
        ([name, , column, ref]) => `, CONSTRAINT ${name} FOREIGN KEY (${column}) REFERENCES ${ref} (id)`,
      );
      db.exec(s.replace(/\)$/, `${keys.join('')})`));
    }
    for (const s of ROWS) db.exec(s);
    db.close();
  }
  return url;
}

async function tableNames(url: string): Promise<string[]> {
  const c = await open(url);
  try {
    return (await c.introspect()).tables.map((t) => t.name);
  } finally {
    await c.close();
  }
}

/** The foreign keys of a database as "table.column -> referenced table", sorted. */
async function foreignKeys(url: string): Promise<string[]> {
  const c = await open(url);
  try {
    const schema = await c.introspect();
    return schema.tables
      .flatMap((t) => t.foreignKeys.map((f) => `${t.name}.${f.columns.join()} -> ${f.refTable}`))
      .sort();
  } finally {
    await c.close();
  }
}

const EXPECTED_KEYS = KEYS.map(([, table, column, ref]) => `${table}.${column} -> ${ref}`).sort();

describe('foreign-key cycles and self-references', () => {
  for (const from of ENGINES)
    for (const to of ENGINES)
      test(`${from} into ${to}: cycles share a wave, the plan runs and verifies, every foreign key is added, again after truncate, rolled back`, async () => {
        const source = await load(from);
        const target = await freshDb(to, `ferry_fkg_${from}_${to}`);
        const { file, plan, dir } = await planFor(source, target);
        assert.deepEqual(
          plan.waves.map((w) => w.tables.map((t) => t.target).sort()),
          [['ca', 'cb', 'cc', 'dept', 'emp', 'node'], ['badge']],
        );
        const run = await runPlan(file);
        assert.equal(run.rejects, 0);
        assert.equal(run.copied, 18);
        const v = await verifyPlan(file);
        assert.deepEqual(v.tables.map((t) => [t.table, t.status, t.targetRows]).sort(), [
          ['badge', 'match', 2],
          ['ca', 'match', 2],
          ['cb', 'match', 2],
          ['cc', 'match', 2],
          ['dept', 'match', 3],
          ['emp', 'match', 3],
          ['node', 'match', 4],
        ]);
        assert.deepEqual(await foreignKeys(target), EXPECTED_KEYS);
        // again into the tables and keys the first run left: emptied, not dropped
        const again = await planFor(source, target, (p) => (p.target.ifExists = 'truncate'));
        assert.equal((await runPlan(again.file)).copied, 18);
        assert.equal((await verifyPlan(again.file)).ok, true);
        assert.deepEqual(await foreignKeys(target), EXPECTED_KEYS);
        // the first run made the tables: rolling it back drops them, keys that refer to each other and
        // all (forced: the second run wrote them again, which PostgreSQL's fingerprint tells apart)
        const back = await rollbackRun({ stateDir: join(dir, '.ferry'), force: true });
        assert.deepEqual(
          back.steps.map((s) => s.action),
          Array(7).fill('drop'),
        );
        assert.deepEqual(await tableNames(target), []);
      });
});

/** Tables referring to others: "a>b,c" is table a with foreign keys to b and c. */
function graph(...spec: string[]): TableInfo[] {
  return spec.map((s) => {
    const [name, refs] = s.split('>');
    return {
      name,
      foreignKeys: (refs ? refs.split(',') : []).map((r) => ({
        name: `${name}_${r}`,
        columns: ['x'],
        refTable: r,
        refColumns: ['id'],
      })),
    } as unknown as TableInfo;
  });
}
const names = (ws: TableInfo[][]) => ws.map((w) => w.map((t) => t.name));

describe('waves', () => {
  test('parents before children; a cycle and everything on it share a wave; a self-reference stays in its wave', () => {
    assert.deepEqual(names(waves(graph('c>b', 'b>a', 'a'))), [['a'], ['b'], ['c']]);
    assert.deepEqual(names(waves(graph('x>y', 'y>x', 'z>z', 'w>x,z', 'v>w', 'u>outside'))), [
      ['x', 'y', 'z', 'u'],
      ['w'],
      ['v'],
    ]);
    // a cycle through a chain, with a table before it and one after
    assert.deepEqual(names(waves(graph('after>p', 'p>q', 'q>r', 'r>p,before', 'before'))), [
      ['before'],
      ['p', 'q', 'r'],
      ['after'],
    ]);
    // two cycles, one referring to the other
    assert.deepEqual(names(waves(graph('a>b', 'b>a,c', 'c>d', 'd>c'))), [
      ['c', 'd'],
      ['a', 'b'],
    ]);
  });

  test('a chain of 20000 tables is ordered without overflowing the stack', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => (i === 0 ? 't0' : `t${i}>t${i - 1}`));
    const ws = waves(graph(...chain.reverse()));
    assert.equal(ws.length, 20_000);
    assert.deepEqual(names(ws.slice(0, 2)), [['t0'], ['t1']]);
  });
});
