// `ferry compact PLAN` as a user runs it: a SQLite table copied into a folder of Parquet files,
// changed in the source and, as a follow would, in the target (its change files), verified
// before and after the compaction, and read by DuckDB as the source holds it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { objectStoreConnector } from '../../src/connectors/objectstore/index.js';
import { UNCHANGED } from '../../src/core/changes.js';
import type { AppliedChange, TargetTable } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { duckdb } from '../connectors/objectstore-servers.js';
import { freshSqlite, tmpDir } from '../helpers.js';
import { ferry, oneLine, planFor } from './support.js';

test('ferry compact folds the live changes of an object storage target into its tables; verify agrees before and after', async () => {
  const source = freshSqlite('ferry_compact_src');
  const db = new Database(source.slice('sqlite:'.length));
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, notes TEXT)');
  const insert = db.prepare('INSERT INTO items VALUES (?, ?, ?)');
  for (let i = 1; i <= 300; i++) insert.run(i, `item ${i}`, i % 4 === 0 ? null : `notes ${i}`);
  const lake = tmpDir('ferry-compact-lake-');
  const { file, dir } = await planFor(source, `file:${lake}`, () => {}, { rowsPerChunk: 100 });
  try {
    const run = ferry(['run', file], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);

    // the source changes; the target gets the same changes as a follow would apply them
    db.exec(
      "UPDATE items SET name = 'renamed ' || id WHERE id <= 10; DELETE FROM items WHERE id BETWEEN 50 AND 59; " +
        "INSERT INTO items VALUES (301, 'item 301', 'new'); UPDATE items SET id = 1000 WHERE id = 100",
    );
    const conn = await objectStoreConnector.connect({ url: `file:${lake}`, log: silentLogger });
    try {
      const info = (await conn.introspect({ tables: ['items'] })).tables[0]!;
      const items: TargetTable = { ...info, key: info.primaryKey };
      const changes: AppliedChange[] = [];
      for (let i = 1n; i <= 10n; i++)
        changes.push({ table: items, change: { op: 'update', key: [i], row: [i, `renamed ${i}`, UNCHANGED] } });
      for (let i = 50n; i <= 59n; i++) changes.push({ table: items, change: { op: 'delete', key: [i] } });
      changes.push({ table: items, change: { op: 'upsert', row: [301n, 'item 301', 'new'] } });
      changes.push({ table: items, change: { op: 'update', key: [100n], row: [1000n, UNCHANGED, UNCHANGED] } });
      await conn.target!().applyChanges!(changes.slice(0, 15), 'stream', 'p1');
      await conn.target!().applyChanges!(changes.slice(15), 'stream', 'p2');
    } finally {
      await conn.close();
    }
    const before = ferry(['verify', file], { cwd: dir });
    assert.equal(before.code, 0, before.stdout + before.stderr);

    const compact = ferry(['compact', file], { cwd: dir });
    assert.equal(compact.code, 0, compact.stderr);
    // a new chunk of files for each of the copy's three key ranges
    assert.match(compact.stdout, /items\s*│\s*2\s*│\s*291\s*│\s*3\b/);
    assert.match(compact.stdout, /compact: 1 of 1 tables written anew with their live changes/);
    assert.equal(
      readdirSync(join(lake, 'items')).filter((f) => f.endsWith('.parquet')).length,
      3,
      'the new files only',
    );
    const changesDir = join(lake, 'items', '_changes');
    assert.deepEqual(existsSync(changesDir) ? readdirSync(changesDir) : [], [], 'no change file left');

    const after = ferry(['verify', file], { cwd: dir });
    assert.equal(after.code, 0, after.stdout + after.stderr);
    const expected = db.prepare('SELECT id, name, notes FROM items ORDER BY id').raw().all() as unknown[][];
    const read = await duckdb(
      `SELECT id::INTEGER, name, notes FROM read_parquet('${lake}/items/**/*.parquet', hive_partitioning = true) ORDER BY id`,
    );
    assert.deepEqual(read, expected);

    const again = ferry(['compact', file, '--json'], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      (JSON.parse(again.stdout) as { tables: { changeFiles: number; rows: number }[] }).tables.map((t) => [
        t.changeFiles,
        t.rows,
      ]),
      [[0, 291]],
    );
  } finally {
    db.close();
  }
});

test('ferry compact of a plan into a SQL target is refused in one line', async () => {
  const source = freshSqlite('ferry_compact_sql_src');
  const db = new Database(source.slice('sqlite:'.length));
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
  db.close();
  const { file, dir } = await planFor(source, freshSqlite('ferry_compact_sql_dst'));
  const r = ferry(['compact', file], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(
    oneLine(r.stderr),
    /^ferry: sqlite targets apply live changes in place: there is nothing to compact: .*object storage/,
  );
});
