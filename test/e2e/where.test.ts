// A table's where filter on every source engine: one boolean expression with parentheses and
// strings that hold ")" selects exactly its rows; one that leaves its parentheses is refused in
// one line before anything is written.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { FerryError } from '../../src/core/errors.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { mysqlExec, pgExec, tmpDir } from '../helpers.js';
import { ENGINES, freshDb, planFor, type Engine } from './support.js';

const ROWS: [number, string][] = [
  [1, 'a) b'],
  [2, "c'd ("],
  [3, 'plain'],
  [4, 'a) b'],
  [5, 'x\\y'],
];

async function source(engine: Engine): Promise<string> {
  const url = await freshDb(engine, `ferry_where_${engine}`);
  const values = ROWS.map(([id, label]) => `(${id}, '${label.replace(/'/g, "''")}')`).join(', ');
  if (engine === 'postgres')
    await pgExec(url, `CREATE TABLE items (id int PRIMARY KEY, label text); INSERT INTO items VALUES ${values}`);
  else if (engine === 'mysql')
    await mysqlExec(
      url,
      `CREATE TABLE items (id int PRIMARY KEY, label text); INSERT INTO items VALUES ${values.replace(/\\/g, '\\\\')}`,
    );
  else {
    const db = new Database(url.slice('sqlite:'.length));
    db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT); INSERT INTO items VALUES ${values}`);
    db.close();
  }
  return url;
}

for (const engine of ENGINES)
  describe(`where filters on a ${engine} source`, () => {
    test('a filter with parentheses and strings holding ")" copies and verifies exactly its rows', async () => {
      const src = await source(engine);
      const dir = tmpDir('ferry-where-');
      const target = `sqlite:${join(dir, 'target.db')}`;
      const { file } = await planFor(src, target, (p) => {
        p.waves[0]!.tables[0]!.where = "(label = 'a) b' OR label = 'c''d (') AND id > 1";
      });
      const summary = await runPlan(file);
      assert.equal(summary.copied, 2);
      const db = new Database(join(dir, 'target.db'), { readonly: true });
      assert.deepEqual(db.prepare('SELECT id, label FROM items ORDER BY id').raw().all(), [
        [2, "c'd ("],
        [4, 'a) b'],
      ]);
      db.close();
      assert.equal((await verifyPlan(file)).ok, true);
    });

    test('a filter that closes its parentheses is refused before anything is written', async () => {
      const src = await source(engine);
      const dir = tmpDir('ferry-where-');
      const { file, plan } = await planFor(src, `sqlite:${join(dir, 'target.db')}`, (p) => {
        p.waves[0]!.tables[0]!.where = engine === 'mysql' ? "label = 'x\\') OR (1=1 OR label = '" : '1=1) OR (1=1';
      });
      await assert.rejects(runPlan(file), (e: FerryError) => {
        assert.equal(e.code, 'PLAN_INVALID');
        assert.match(
          e.message,
          /waves\[0\]\.tables\[0\]\.where: the filter .* of table items cannot be used: it closes a parenthesis it did not open$/,
        );
        return true;
      });
      assert.equal(existsSync(join(dir, 'target.db')), false);
      assert.equal(existsSync(plan.settings.stateDir), false);
    });

    test('a filter the engine refuses is one line from the engine', async () => {
      const src = await source(engine);
      const { file } = await planFor(src, `sqlite:${join(tmpDir('ferry-where-'), 'target.db')}`, (p) => {
        p.waves[0]!.tables[0]!.where = 'no_such_column = 1';
      });
      await assert.rejects(verifyPlan(file), (e: FerryError) => {
        assert.equal(e.code, 'PLAN_INVALID');
        assert.match(e.message, /cannot be used: .*no_such_column/);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      });
    });
  });
