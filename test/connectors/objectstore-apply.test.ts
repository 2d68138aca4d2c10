// Live changes into object storage beyond the apply contract (which the target contract runs):
// the change files as readers find them, a call cut short between its change files and its
// position record, and compaction into a Hive-readable snapshot, in a folder and on S3.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { objectStoreConnector } from '../../src/connectors/objectstore/index.js';
import { UNCHANGED } from '../../src/core/changes.js';
import type { AppliedChange, Connector, TargetTable } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { parseType } from '../../src/core/types.js';
import { stateParse, stateStringify } from '../../src/core/values.js';
import type { ChunkRecord } from '../../src/connectors/objectstore/chunk-files.js';
import { actualText, batchesOf, collect, expectedText, tableFor } from '../contract/target-contract.js';
import { childColumns, childRows, parentColumns, parentRows, type EdgeColumn } from '../fixtures/edge.js';
import { tmpDir } from '../helpers.js';
import { duckdb, startS3, type S3Server } from './objectstore-servers.js';

const open = (url: string, options?: Record<string, unknown>) =>
  objectStoreConnector.connect({ url, log: silentLogger, options });

const col = (name: string, type: string): EdgeColumn => ({ name, type: parseType(type) });

const upsert = (table: TargetTable, row: unknown[]): AppliedChange => ({ table, change: { op: 'upsert', row } });
const update = (table: TargetTable, key: unknown[], row: unknown[]): AppliedChange => ({
  table,
  change: { op: 'update', key, row },
});
const remove = (table: TargetTable, key: unknown[]): AppliedChange => ({ table, change: { op: 'delete', key } });

/** Copies rows into a fresh table in chunks of `per` rows (as a run with several chunks does), and finishes it. */
async function copied(conn: Connector, table: TargetTable, rows: unknown[][], per = 50): Promise<TargetTable> {
  const target = conn.target!();
  await target.prepare(table, 'drop');
  for (let i = 0; i < rows.length; i += per) {
    const range = {
      ...(i > 0 ? { lower: [rows[i]![0]] } : {}),
      ...(i + per < rows.length ? { upper: [rows[i + per]![0]] } : {}),
    };
    await target.writeChunk({ table, range, replace: false, isolate: false }, batchesOf(rows.slice(i, i + per)));
  }
  await target.finishTable(table);
  return table;
}

const held = async (conn: Connector, table: TargetTable) =>
  actualText(await collect(conn.target!().readBack(table, {}, 100)), table);

/** Every file under a folder, relative to it, sorted. */
const filesUnder = (dir: string): string[] =>
  existsSync(dir)
    ? (
        readdirSync(dir, { recursive: true, withFileTypes: true }) as {
          name: string;
          parentPath: string;
          isFile(): boolean;
        }[]
      )
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
        .sort()
    : [];

/** The changes of the tests below, and the rows they leave of childRows(200, 5). */
function someChanges(c: TargetTable): { changes: AppliedChange[]; rows: unknown[][] } {
  const rows = new Map<bigint, unknown[]>(childRows(200, 5).map((r) => [r[0] as bigint, r]));
  const changes: AppliedChange[] = [];
  for (let i = 1n; i <= 20n; i++) {
    // the note is left out: a large value the log did not carry
    changes.push(update(c, [i], [i, 5n, '5.55', UNCHANGED]));
    rows.set(i, [i, 5n, '5.55', rows.get(i)![3]]);
  }
  changes.push(update(c, [21n], [1021n, 1n, '21.00', UNCHANGED]));
  rows.set(1021n, [1021n, 1n, '21.00', rows.get(21n)![3]]);
  rows.delete(21n);
  for (let i = 30n; i < 40n; i++) {
    changes.push(remove(c, [i]));
    rows.delete(i);
  }
  for (let i = 500n; i < 510n; i++) {
    const row = [i, (i % 5n) + 1n, '0.50', `new ${i}`];
    changes.push(upsert(c, row));
    rows.set(i, row);
  }
  return { changes, rows: [...rows.values()] };
}

describe('objectstore live changes, in a folder', () => {
  test('change files stay out of the data readers read, and hold the operation, position and unchanged columns', async () => {
    const dir = tmpDir('ferry-os-apply-');
    const conn = await open(`file:${dir}`);
    try {
      const c = await copied(conn, tableFor(conn, 'orders', childColumns), childRows(200, 5));
      await conn.target!().applyChanges!(
        [update(c, [1n], [1n, 2n, '9.99', UNCHANGED]), remove(c, [2n]), upsert(c, [300n, 1n, '3.00', 'new'])],
        'plan abc',
        '0/16B3748',
      );
      const changeFiles = filesUnder(join(dir, 'orders')).filter((f) => f.startsWith('_changes/'));
      assert.equal(changeFiles.length, 1);
      assert.match(changeFiles[0]!, /^_changes\/[0-9a-f]{16}-000000000001\.changes$/);
      // a glob of the data does not take the change file
      assert.deepEqual(await duckdb(`SELECT count(*)::INTEGER FROM read_parquet('${dir}/orders/**/*.parquet')`), [
        [200],
      ]);
      const records = await duckdb(
        `SELECT _ferry_op, _ferry_position, _ferry_key, _ferry_unchanged, id::VARCHAR, amount::VARCHAR, note ` +
          `FROM read_parquet('${dir}/orders/_changes/*.changes')`,
      );
      assert.deepEqual(records, [
        ['update', '0/16B3748', '[{"$big":"1"}]', '["note"]', '1', '9.99', null],
        ['delete', '0/16B3748', null, null, '2', null, null],
        ['upsert', '0/16B3748', null, null, '300', '3.00', 'new'],
      ]);
      const positions = filesUnder(join(dir, '_ferry_positions'));
      assert.equal(positions.length, 1);
      const { appliedAt, ...record } = JSON.parse(
        readFileSync(join(dir, '_ferry_positions', positions[0]!), 'utf8'),
      ) as Record<string, unknown>;
      assert.match(String(appliedAt), /^\d{4}-\d\d-\d\dT/);
      assert.deepEqual(record, { stream: 'plan abc', sequence: 1, position: '0/16B3748', tables: ['orders/'] });
      // introspect still finds one table
      assert.deepEqual(
        (await conn.introspect()).tables.map((t) => t.name),
        ['orders'],
      );
      assert.equal(await conn.target!().count(c, {}), 200);
    } finally {
      await conn.close();
    }
  });

  test('a call cut short before its position record counts for nothing, and is applied again in other batches', async () => {
    const dir = tmpDir('ferry-os-apply-');
    const conn = await open(`file:${dir}`);
    try {
      const a = await copied(conn, tableFor(conn, 'cut_a', parentColumns), parentRows(10));
      const b = await copied(conn, tableFor(conn, 'cut_b', childColumns), childRows(10, 3));
      const target = conn.target!();
      await target.applyChanges!([upsert(a, parentRows(1, 11)[0]!)], 's', 'p1');
      // the second call writes its change files, and is killed before its record
      await target.applyChanges!(
        [remove(a, [1n]), update(b, [1n], [1n, 1n, '1.01', UNCHANGED]), remove(b, [2n])],
        's',
        'p3',
      );
      const records = filesUnder(join(dir, '_ferry_positions'));
      rmSync(join(dir, '_ferry_positions', records.at(-1)!));
      const fresh = await open(`file:${dir}`);
      try {
        assert.equal(await fresh.target!().appliedPosition!('s'), 'p1');
        assert.deepEqual(await held(fresh, a), expectedText(parentRows(11), parentColumns, a));
        assert.deepEqual(await held(fresh, b), expectedText(childRows(10, 3), childColumns, b));
        // the stream again from p1, batched otherwise: a first batch that changes only table a
        await fresh.target!().applyChanges!([remove(a, [1n])], 's', 'p2');
        assert.deepEqual(await held(fresh, b), expectedText(childRows(10, 3), childColumns, b), 'b unchanged so far');
        await fresh.target!().applyChanges!([update(b, [1n], [1n, 1n, '1.01', UNCHANGED]), remove(b, [2n])], 's', 'p3');
        assert.equal(await fresh.target!().appliedPosition!('s'), 'p3');
        assert.deepEqual(await held(fresh, a), expectedText(parentRows(10, 2), parentColumns, a));
        const bRows = childRows(10, 3).filter((r) => r[0] !== 2n);
        bRows[0] = [1n, 1n, '1.01', 'note 1'];
        assert.deepEqual(await held(fresh, b), expectedText(bRows, childColumns, b));
        // compaction takes in what counts and removes what was left
        const results = await fresh.target!().compact!([a, b]);
        assert.deepEqual(
          results.map((r) => [r.table, r.rows, r.changeFiles]),
          [
            ['cut_a', 10, 2],
            ['cut_b', 9, 1],
          ],
        );
        assert.deepEqual(
          filesUnder(join(dir, 'cut_b')).filter((f) => f.startsWith('_changes/')),
          [],
        );
        assert.deepEqual(await held(fresh, b), expectedText(bRows, childColumns, b));
      } finally {
        await fresh.close();
      }
    } finally {
      await conn.close();
    }
  });

  test('a column added while following: files written before read it as NULL, and compaction writes it into every file', async () => {
    const dir = tmpDir('ferry-os-apply-');
    const conn = await open(`file:${dir}`);
    try {
      const c = await copied(conn, tableFor(conn, 'orders', childColumns), childRows(200, 5));
      const wider = tableFor(conn, 'orders', [...childColumns, col('tag', 'text')]);
      const tag = wider.columns.at(-1)!;
      const target = conn.target!();
      await target.addColumn!(wider, tag);
      const schema = JSON.parse(readFileSync(join(dir, 'orders', '_schema.json'), 'utf8')) as {
        columns: { name: string; nullable: boolean }[];
      };
      assert.deepEqual(schema.columns.at(-1), { ...schema.columns.at(-1), name: 'tag', nullable: true });
      // a change file written before the column (a batch of the old mapping), then one with it
      await target.applyChanges!([update(c, [2n], [2n, 3n, '2.22', UNCHANGED])], 'plan', 'p1');
      await target.applyChanges!(
        [update(wider, [1n], [1n, 2n, '9.99', UNCHANGED, 'one']), upsert(wider, [300n, 1n, '3.00', 'new', null])],
        'plan',
        'p2',
      );
      const rows = childRows(200, 5).map((r) => [...r, null]);
      rows[0] = [1n, 2n, '9.99', rows[0]![3], 'one'];
      rows[1] = [2n, 3n, '2.22', rows[1]![3], null];
      rows.push([300n, 1n, '3.00', 'new', null]);
      const columns = [...childColumns, col('tag', 'text')];
      assert.deepEqual(await held(conn, wider), expectedText(rows, columns, wider));
      // the table as the plan had it before the column reads as it did
      assert.deepEqual(
        await held(conn, c),
        expectedText(
          rows.map((r) => r.slice(0, -1)),
          childColumns,
          c,
        ),
      );

      const [result] = await target.compact!([wider]);
      assert.equal(result!.rows, rows.length);
      assert.deepEqual(await held(conn, wider), expectedText(rows, columns, wider));
      // every data file has the column now: DuckDB reads them with one schema
      assert.deepEqual(
        await duckdb(
          `SELECT count(*)::INTEGER, count(tag)::INTEGER, max(tag) FROM read_parquet('${dir}/orders/**/*.parquet')`,
        ),
        [[rows.length, 1, 'one']],
      );
      await assert.rejects(
        target.addColumn!(tableFor(conn, 'orders', [...columns, col('rank', 'int32')]), {
          ...tag,
          name: 'rank',
          default: '7',
        }),
        /column rank of orders has a default \(7\): the rows the files of an object storage target hold cannot be given it/,
      );
    } finally {
      await conn.close();
    }
  });

  test('compaction writes the table as it is now, partitioned, with its manifest; DuckDB reads exactly those rows', async () => {
    const dir = tmpDir('ferry-os-apply-');
    const conn = await open(`file:${dir}`);
    try {
      const c = await copied(
        conn,
        { ...tableFor(conn, 'lines', childColumns), options: { partitionBy: 'parent_id' } },
        childRows(200, 5),
      );
      const { changes, rows } = someChanges(c);
      const target = conn.target!();
      await target.applyChanges!(changes.slice(0, 25), 'plan', 'p1');
      await target.applyChanges!(changes.slice(25), 'plan', 'p2');
      assert.deepEqual(await held(conn, c), expectedText(rows, childColumns, c));
      assert.equal(await target.count(c, {}), rows.length);
      assert.equal(await target.count(c, { lower: [100n] }), rows.filter((r) => (r[0] as bigint) >= 100n).length);

      const [result] = await target.compact!([c]);
      // a new chunk for each of the copy's four key ranges, each in the five partitions
      assert.deepEqual(result, { table: 'lines', rows: rows.length, changeFiles: 2, files: 20 });
      const files = filesUnder(join(dir, 'lines'));
      const records = files
        .filter((f) => f.startsWith('_chunks/'))
        .map((f) => stateParse<ChunkRecord>(readFileSync(join(dir, 'lines', f), 'utf8')));
      assert.deepEqual(
        files.filter((f) => !f.startsWith('parent_id=') && !f.startsWith('_chunks/')),
        ['_manifest.json', '_schema.json'],
        'no change files',
      );
      assert.deepEqual(
        records
          .filter((r) => r.pending)
          .map((r) => stateStringify(r.range))
          .sort(),
        [{ upper: [51n] }, { lower: [51n], upper: [101n] }, { lower: [101n], upper: [151n] }, { lower: [151n] }]
          .map((r) => stateStringify(r))
          .sort(),
        'the ranges of the copy',
      );
      assert.equal(records.filter((r) => r.activates).length, 1, 'and the switch');
      assert.equal(
        await target.count(c, { lower: [51n], upper: [101n] }),
        rows.filter((r) => (r[0] as bigint) >= 51n && (r[0] as bigint) < 101n).length,
      );
      const manifest = JSON.parse(readFileSync(join(dir, 'lines', '_manifest.json'), 'utf8')) as {
        rows: number;
        files: { path: string }[];
        changesThrough: Record<string, number>;
      };
      assert.equal(manifest.rows, rows.length);
      assert.deepEqual(
        manifest.files.map((f) => f.path).sort(),
        files.filter((f) => f.startsWith('parent_id=')),
      );
      assert.deepEqual(Object.values(manifest.changesThrough), [2]);
      assert.equal(filesUnder(join(dir, '_ferry_positions')).length, 1, 'only the last position record is kept');
      assert.equal(await target.appliedPosition!('plan'), 'p2');
      const lake = await duckdb(
        `SELECT id::VARCHAR, parent_id::VARCHAR, amount::VARCHAR, note FROM read_parquet('${dir}/lines/**/*.parquet', hive_partitioning = true) ORDER BY id`,
      );
      assert.deepEqual(
        lake,
        [...rows]
          .sort((x, y) => Number((x[0] as bigint) - (y[0] as bigint)))
          .map((r) => [String(r[0]), String(r[1]), r[2], r[3]]),
      );
      assert.deepEqual(await held(conn, c), expectedText(rows, childColumns, c));

      // the stream goes on after it, and a second compaction takes in the new changes only
      await target.applyChanges!([remove(c, [1n]), update(c, [2n], [2n, 5n, '2.22', UNCHANGED])], 'plan', 'p3');
      const after = rows.filter((r) => r[0] !== 1n).map((r) => (r[0] === 2n ? [2n, 5n, '2.22', r[3]] : r));
      assert.deepEqual(await held(conn, c), expectedText(after, childColumns, c));
      const [again] = await target.compact!([c]);
      assert.deepEqual([again!.rows, again!.changeFiles], [after.length, 1]);
      const reopened = await open(`file:${dir}`);
      try {
        assert.deepEqual(await held(reopened, c), expectedText(after, childColumns, c));
        assert.equal(await reopened.target!().appliedPosition!('plan'), 'p3');
        const [nothing] = await reopened.target!().compact!([c]);
        assert.deepEqual([nothing!.rows, nothing!.changeFiles], [after.length, 0]);
      } finally {
        await reopened.close();
      }
    } finally {
      await conn.close();
    }
  });

  test('a compaction killed after its switch is finished by the next one', async () => {
    const dir = tmpDir('ferry-os-apply-');
    const conn = await open(`file:${dir}`);
    try {
      const c = await copied(conn, tableFor(conn, 'killed', childColumns), childRows(200, 5));
      const { changes, rows } = someChanges(c);
      await conn.target!().applyChanges!(changes, 'plan', 'p1');
      const saved = tmpDir('ferry-os-saved-');
      cpSync(join(dir, 'killed'), saved, { recursive: true });
      await conn.target!().compact!([c]);
      const compacted = filesUnder(join(dir, 'killed'));
      // as if killed right after the new chunk record and the manifest: the old records, files and change file are still there
      cpSync(saved, join(dir, 'killed'), { recursive: true, force: false });
      rmSync(join(dir, 'killed', '_manifest.json'));
      cpSync(join(saved, '_manifest.json'), join(dir, 'killed', '_manifest.json'));
      assert.ok(filesUnder(join(dir, 'killed')).length > compacted.length);
      const next = await open(`file:${dir}`);
      try {
        assert.deepEqual(
          await held(next, c),
          expectedText(rows, childColumns, c),
          'the new record replaces the old ones',
        );
        const [second] = await next.target!().compact!([c]);
        assert.deepEqual([second!.rows, second!.changeFiles], [rows.length, 0]);
        assert.deepEqual(filesUnder(join(dir, 'killed')), compacted);
        assert.deepEqual(await held(next, c), expectedText(rows, childColumns, c));
      } finally {
        await next.close();
      }
    } finally {
      await conn.close();
    }
  });
  test('a compaction killed before its switch counts for nothing, and the next one writes over it', async () => {
    const dir = tmpDir('ferry-os-apply-');
    const conn = await open(`file:${dir}`);
    try {
      const c = await copied(conn, tableFor(conn, 'unswitched', childColumns), childRows(200, 5));
      const { changes, rows } = someChanges(c);
      await conn.target!().applyChanges!(changes, 'plan', 'p1');
      const saved = tmpDir('ferry-os-saved-');
      cpSync(join(dir, 'unswitched'), saved, { recursive: true });
      await conn.target!().compact!([c]);
      const compacted = filesUnder(join(dir, 'unswitched'));
      // as if killed before the switch record: the new chunks' files and pending records, and all that was there
      const switchRecord = compacted.find(
        (f) =>
          f.startsWith('_chunks/') &&
          stateParse<ChunkRecord>(readFileSync(join(dir, 'unswitched', f), 'utf8')).activates !== undefined,
      )!;
      rmSync(join(dir, 'unswitched', switchRecord));
      rmSync(join(dir, 'unswitched', '_manifest.json'));
      cpSync(saved, join(dir, 'unswitched'), { recursive: true });
      const next = await open(`file:${dir}`);
      try {
        assert.deepEqual(
          await held(next, c),
          expectedText(rows, childColumns, c),
          'the old chunks and the change file',
        );
        assert.equal(await next.target!().count(c, {}), rows.length);
        const [again] = await next.target!().compact!([c]);
        assert.deepEqual([again!.rows, again!.changeFiles], [rows.length, 1]);
        assert.deepEqual(filesUnder(join(dir, 'unswitched')), compacted);
        assert.deepEqual(await held(next, c), expectedText(rows, childColumns, c));
      } finally {
        await next.close();
      }
    } finally {
      await conn.close();
    }
  });
});

describe('objectstore live changes, on S3', () => {
  let s3: S3Server;
  before(async () => {
    s3 = await startS3();
  });
  after(async () => s3?.stop());

  test('changes, a reopened target and compaction, as in a folder', async () => {
    const url = s3.url('apply');
    const conn = await open(url);
    try {
      const c = await copied(conn, tableFor(conn, 'lines', childColumns), childRows(200, 5));
      const { changes, rows } = someChanges(c);
      await conn.target!().applyChanges!(changes, 'plan', 'p1');
      const reopened = await open(url);
      try {
        assert.equal(await reopened.target!().appliedPosition!('plan'), 'p1');
        assert.deepEqual(await held(reopened, c), expectedText(rows, childColumns, c));
        const [result] = await reopened.target!().compact!([c]);
        assert.deepEqual([result!.rows, result!.changeFiles], [rows.length, 1]);
        assert.deepEqual(await held(reopened, c), expectedText(rows, childColumns, c));
      } finally {
        await reopened.close();
      }
    } finally {
      await conn.close();
    }
  });
});
