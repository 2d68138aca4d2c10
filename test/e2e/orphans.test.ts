// Foreign keys the source does not enforce (SQLite; MariaDB with foreign_key_checks off): assess
// counts the rows that refer to no parent, the plan decides per key what happens to them
// (onOrphans), and no run copies everything and then fails adding the key.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { stateParse } from '../../src/core/values.js';
import { dryRun } from '../../src/pipeline/copy/dryrun.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { assess } from '../../src/pipeline/plan/assess.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { dbName, freshSqlite, mariadbClientArgs, mysqlExec, pgExec, tmpDir } from '../helpers.js';
import { freshDb, planFor, type Engine } from './support.js';

const TABLES = [
  'CREATE TABLE parent (id int PRIMARY KEY, name varchar(20))',
  'CREATE TABLE child (id int PRIMARY KEY, parent_id int, note varchar(20))',
];
const ROWS = [
  "INSERT INTO parent VALUES (1, 'one'), (2, 'two')",
  "INSERT INTO child VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 9, 'lost'), (4, NULL, 'none'), (5, 7, 'lost too')",
];
const KEY = 'CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id)';

/** parent and child, two of whose rows refer to no parent, in a source that does not check. */
async function load(engine: 'sqlite' | 'mysql', name: string): Promise<string> {
  const url = await freshDb(engine, name);
  if (engine === 'mysql')
    execFileSync('mariadb', [...mariadbClientArgs(), dbName(url)], {
      input: [
        'SET foreign_key_checks = 0',
        ...TABLES.map((s) => `${s} ENGINE=InnoDB`),
        `ALTER TABLE child ADD ${KEY}`,
        ...ROWS,
      ]
        .map((s) => `${s};`)
        .join('\n'),
    });
  else {
    const db = new Database(url.slice('sqlite:'.length));
    db.pragma('foreign_keys = OFF');
    db.exec(TABLES[0]!);
    db.exec(TABLES[1]!.replace(/\)$/, `, ${KEY})`));
    for (const s of ROWS) db.exec(s);
    db.close();
  }
  return url;
}

/** The target's foreign keys as "name validated|not valid" (PostgreSQL) or "name" (MariaDB). */
async function targetKeys(url: string, to: Engine): Promise<string[]> {
  if (to === 'postgres')
    return (
      await pgExec(url, "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' ORDER BY conname")
    ).rows.map(
      (r: { conname: string; convalidated: boolean }) => `${r.conname} ${r.convalidated ? 'validated' : 'not valid'}`,
    );
  const rows = (await mysqlExec(
    url,
    'SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1',
  )) as { CONSTRAINT_NAME: string }[];
  return rows.map((r) => r.CONSTRAINT_NAME);
}

async function childIds(url: string): Promise<number[]> {
  const sql = 'SELECT id FROM child ORDER BY id';
  const rows = url.startsWith('postgres')
    ? (await pgExec(url, sql)).rows
    : ((await mysqlExec(url, sql)) as { id: number }[]);
  return rows.map((r: { id: number }) => Number(r.id));
}

function rejectsOf(dir: string): { id: number; reason: string }[] {
  return readFileSync(join(dir, '.ferry', 'rejects', 'child.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => stateParse<{ row: unknown[]; reason: string }>(l))
    .map((r) => ({ id: Number(r.row[0]), reason: r.reason }))
    .sort((a, b) => a.id - b.id);
}

const SOURCES = ['sqlite', 'mysql'] as const;
/** The key's name as introspect reads it: SQLite keeps no constraint names, ferry names its keys as PostgreSQL does. */
const keyName = (from: (typeof SOURCES)[number]) => (from === 'sqlite' ? 'child_parent_id_fkey' : 'child_parent_fk');
const TARGETS = ['postgres', 'mysql'] as const;

describe('foreign keys the source does not enforce', () => {
  for (const from of SOURCES)
    test(`assess counts ${from}'s orphan rows and says what the plan does with them`, async () => {
      const source = await load(from, `ferry_orph_assess_${from}`);
      for (const to of TARGETS) {
        const target = await freshDb(to, `ferry_orph_assess_${from}_${to}`);
        const found = (await assess({ source, target })).findings.filter((f) => f.code === 'ORPHAN_ROWS');
        assert.deepEqual(
          found.map((f) => [f.severity, f.message, f.action]),
          [
            [
              'warning',
              `2 rows of child refer to no row of parent by foreign key ${keyName(from)} (parent_id)`,
              'the plan copies them and adds the key as NOT VALID (checked for rows written later only) (onOrphans: not-valid); set onOrphans to skip-key or reject-rows in the plan (reject-rows counts against the error budget), or fix the rows in the source',
            ],
          ],
        );
      }
    });

  for (const from of SOURCES)
    for (const to of TARGETS)
      test(`${from} into ${to}, the default plan: every row is copied and verified, the key added unchecked for them`, async () => {
        const source = await load(from, `ferry_orph_def_${from}_${to}`);
        const target = await freshDb(to, `ferry_orph_def_t_${from}_${to}`);
        const { file, plan } = await planFor(source, target);
        const fk = plan.waves.flatMap((w) => w.tables).find((t) => t.target === 'child')!.foreignKeys[0]!;
        assert.equal(fk.onOrphans, 'not-valid');
        // the plan says why beside the key
        const line = readFileSync(file, 'utf8')
          .split('\n')
          .find((l) => l.includes('onOrphans'))!;
        assert.match(
          line,
          /# 2 rows refer to no parent row: onOrphans not-valid keeps them \(or skip-key, reject-rows\)$/,
        );
        const run = await runPlan(file);
        assert.equal(run.rejects, 0);
        assert.deepEqual(await childIds(target), [1, 2, 3, 4, 5]);
        assert.deepEqual(
          await targetKeys(target, to),
          to === 'postgres' ? [`${keyName(from)} not valid`] : [keyName(from)],
        );
        assert.equal((await verifyPlan(file)).ok, true);
        // the key holds for rows written later
        const insert = 'INSERT INTO child VALUES (6, 8, NULL)';
        if (to === 'postgres') await assert.rejects(pgExec(target, insert), /violates foreign key/);
        else await assert.rejects(mysqlExec(target, insert), /foreign key constraint fails/);
      });

  for (const from of SOURCES)
    test(`${from} into SQLite, the default plan: the key is declared and not checked for the rows there, only for new ones`, async () => {
      const source = await load(from, `ferry_orph_lite_${from}`);
      const target = await freshDb('sqlite', `ferry_orph_lite_t_${from}`);
      const { file, plan } = await planFor(source, target);
      const fk = plan.waves.flatMap((w) => w.tables).find((t) => t.target === 'child')!.foreignKeys[0]!;
      assert.equal(fk.onOrphans, 'not-valid');
      assert.equal((await runPlan(file)).rejects, 0);
      assert.equal((await verifyPlan(file)).ok, true);
      const db = new Database(target.slice('sqlite:'.length));
      try {
        assert.deepEqual(db.prepare('SELECT id FROM child ORDER BY id').pluck().all(), [1, 2, 3, 4, 5]);
        assert.deepEqual(
          db.prepare('SELECT "from", "table", "to" FROM pragma_foreign_key_list(?)').raw().all('child'),
          [['parent_id', 'parent', 'id']],
        );
        db.pragma('foreign_keys = ON');
        assert.throws(() => db.exec('INSERT INTO child VALUES (6, 8, NULL)'), /FOREIGN KEY constraint failed/);
      } finally {
        db.close();
      }
    });

  for (const from of SOURCES)
    for (const to of TARGETS)
      test(`${from} into ${to}, reject-rows: the orphans are rejected with the reason, the key is added`, async () => {
        const source = await load(from, `ferry_orph_rej_${from}_${to}`);
        const target = await freshDb(to, `ferry_orph_rej_t_${from}_${to}`);
        const { file, dir } = await planFor(source, target, (p) => {
          p.settings.maxRejects = 2;
          for (const t of p.waves.flatMap((w) => w.tables)) for (const f of t.foreignKeys) f.onOrphans = 'reject-rows';
        });
        const run = await runPlan(file);
        assert.equal(run.rejects, 2);
        assert.deepEqual(rejectsOf(dir), [
          {
            id: 3,
            reason: `foreign key ${keyName(from)}: no row of parent has (id) = (9) (the plan's onOrphans is reject-rows)`,
          },
          {
            id: 5,
            reason: `foreign key ${keyName(from)}: no row of parent has (id) = (7) (the plan's onOrphans is reject-rows)`,
          },
        ]);
        assert.deepEqual(await childIds(target), [1, 2, 4]);
        assert.deepEqual(await targetKeys(target, to), [
          to === 'postgres' ? `${keyName(from)} validated` : keyName(from),
        ]);
        const v = await verifyPlan(file);
        assert.deepEqual(
          v.tables.map((t) => [t.table, t.status, t.targetRows, t.rejected]),
          [
            ['parent', 'match', 2, 0],
            ['child', 'match', 3, 2],
          ],
        );
      });

  for (const to of TARGETS)
    test(`reject-rows into ${to}: a row whose parent row is rejected is rejected too, down a tree`, async () => {
      const source = freshSqlite(`ferry_orph_tree_${to}`);
      const db = new Database(source.slice('sqlite:'.length));
      db.pragma('foreign_keys = OFF');
      db.exec(`CREATE TABLE node (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES node (id), label TEXT);
               INSERT INTO node VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 99, 'lost'), (4, 3, 'under lost'),
                 (5, 4, 'deeper'), (6, 2, 'b');`);
      db.close();
      const target = await freshDb(to, `ferry_orph_tree_t_${to}`);
      const { file, dir } = await planFor(source, target, (p) => {
        p.settings.maxRejects = 3;
        for (const f of p.waves[0]!.tables[0]!.foreignKeys) f.onOrphans = 'reject-rows';
      });
      assert.equal((await runPlan(file)).rejects, 3);
      const reason = (what: string) => `foreign key node_parent_fkey: ${what} (the plan's onOrphans is reject-rows)`;
      assert.deepEqual(
        readFileSync(join(dir, '.ferry', 'rejects', 'node.ndjson'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => stateParse<{ row: unknown[]; reason: string }>(l))
          .map((r) => [Number(r.row[0]), r.reason])
          .sort((a, b) => Number(a[0]) - Number(b[0])),
        [
          [3, reason('no row of node has (id) = (99)')],
          [4, reason('the row of node (id) = (3) is rejected itself')],
          [5, reason('the row of node (id) = (4) is rejected itself')],
        ],
      );
      const sql = 'SELECT id FROM node ORDER BY id';
      const ids =
        to === 'postgres' ? (await pgExec(target, sql)).rows : ((await mysqlExec(target, sql)) as { id: number }[]);
      assert.deepEqual(
        ids.map((r: { id: number }) => Number(r.id)),
        [1, 2, 6],
      );
      assert.deepEqual(await targetKeys(target, to), [
        to === 'postgres' ? 'node_parent_fkey validated' : 'node_parent_fkey',
      ]);
    });

  test('a dry run of reject-rows rejects the orphans of its sample with the reason, and writes the rest', async () => {
    const source = await load('mysql', 'ferry_orph_dry');
    const target = await freshDb('postgres', 'ferry_orph_dry_t');
    const { file } = await planFor(source, target, (p) => {
      for (const t of p.waves.flatMap((w) => w.tables)) for (const f of t.foreignKeys) f.onOrphans = 'reject-rows';
    });
    const r = await dryRun(file);
    assert.deepEqual(
      r.tables.map((t) => [t.table, t.sampled, t.written, t.rejected, t.match]),
      [
        ['parent', 2, 2, 0, true],
        ['child', 5, 3, 2, true],
      ],
    );
    assert.deepEqual(r.tables[1]!.rejects, [
      "foreign key child_parent_fk: no row of parent has (id) = (9) (the plan's onOrphans is reject-rows)",
      "foreign key child_parent_fk: no row of parent has (id) = (7) (the plan's onOrphans is reject-rows)",
    ]);
  });

  test('reject-rows within the error budget only: a run over it stops while copying the table', async () => {
    const source = await load('sqlite', 'ferry_orph_budget');
    const target = await freshDb('postgres', 'ferry_orph_budget_t');
    const { file } = await planFor(source, target, (p) => {
      for (const t of p.waves.flatMap((w) => w.tables)) for (const f of t.foreignKeys) f.onOrphans = 'reject-rows';
    });
    await assert.rejects(runPlan(file), /2 rows were rejected and the plan allows 0; the last in child/);
  });

  for (const to of TARGETS)
    test(`skip-key into ${to} copies every row and adds no key`, async () => {
      const source = await load('sqlite', `ferry_orph_skip_${to}`);
      const target = await freshDb(to, `ferry_orph_skip_t_${to}`);
      const skip = await planFor(source, target, (p) => {
        for (const t of p.waves.flatMap((w) => w.tables)) for (const f of t.foreignKeys) f.onOrphans = 'skip-key';
      });
      assert.equal((await runPlan(skip.file)).rejects, 0);
      assert.deepEqual(await childIds(target), [1, 2, 3, 4, 5]);
      assert.deepEqual(await targetKeys(target, to), []);
    });

  test('not-valid into a target that cannot add a key unchecked (a folder) is refused before any run; the default there is skip-key', async () => {
    const source = await load('sqlite', 'ferry_orph_folder');
    const target = `file:${tmpDir('ferry-orph-')}`;
    const { plan } = await planFor(source, target);
    assert.equal(
      plan.waves.flatMap((w) => w.tables).find((t) => t.target === 'child')!.foreignKeys[0]!.onOrphans,
      'skip-key',
    );
    const notValid = await planFor(source, target, (p) => {
      for (const t of p.waves.flatMap((w) => w.tables)) for (const f of t.foreignKeys) f.onOrphans = 'not-valid';
    });
    await assert.rejects(
      runPlan(notValid.file),
      /waves\[1\]\.tables\[0\]: foreign key child_parent_id_fkey: onOrphans not-valid adds the key unchecked for the rows there \(PostgreSQL's NOT VALID\), which objectstore cannot/,
    );
  });
});
