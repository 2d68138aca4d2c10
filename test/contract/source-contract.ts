// The contract every source connector passes. The data is put in place through the same
// connector's target side, so the suite needs nothing engine-specific.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { columnLayout, rowsOfColumns, type ColumnBatch } from '../../src/core/columns.js';
import type { Connector, SourceTable, TargetTable } from '../../src/core/contracts.js';
import { FerryError } from '../../src/core/errors.js';
import type { ProfileAsk } from '../../src/core/profile.js';
import type { CanonicalType, Column, ForeignKey, KeyRange } from '../../src/core/types.js';
import { parseType } from '../../src/core/types.js';
import { canonicalText } from '../../src/core/values.js';
import { childColumns, childRows, edgeColumns, edgeRows, parentColumns, parentRows } from '../fixtures/edge.js';
import { actualText, batchesOf, collect, expectedText, tableFor, type ContractOptions } from './target-contract.js';

function sourceTableOf(t: TargetTable, columns: Column[], key = t.key, where?: string): SourceTable {
  return { name: t.name, columns: t.columns.map((c) => columns.find((x) => x.name === c.name)!), key, where };
}

/** Column batches as rows of canonical values, after checking the layout's bookkeeping (counts, length prefixes). */
function rowsOfBatches(batches: ColumnBatch[], types: CanonicalType[]): unknown[][] {
  for (const b of batches)
    b.columns.forEach((v, i) => {
      const nonNull = v.nulls ? v.nulls.reduce((n, x) => n + 1 - x, 0) : b.rows;
      assert.equal(v.count, nonNull, `column ${i} holds a value for each row that is not NULL`);
      if (!v.offsets) return;
      const buf = Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
      for (let k = 0; k < v.count; k++)
        assert.equal(
          buf.readInt32LE(v.offsets[k]!),
          v.offsets[k + 1]! - v.offsets[k]! - 4,
          'a bytes value starts with its length',
        );
    });
  return batches.flatMap((b) => rowsOfColumns(b, types));
}

export function sourceContract(label: string, opts: ContractOptions): void {
  describe(`${label}: source contract`, () => {
    let conn: Connector;
    let parent: TargetTable;
    let edge: TargetTable;
    const N = 2500;
    before(async () => {
      conn = await opts.open();
      const target = conn.target!();
      parent = tableFor(conn, 'src_parent', parentColumns);
      edge = tableFor(conn, 'src_edge', edgeColumns);
      const child = tableFor(conn, 'src_child', childColumns);
      child.indexes = [{ name: 'src_child_parent_idx', columns: ['parent_id'], unique: false }];
      child.foreignKeys = [
        { name: 'src_child_parent_fk', columns: ['parent_id'], refTable: 'src_parent', refColumns: ['id'] },
      ];
      for (const t of [parent, edge, child]) await target.prepare(t, 'drop');
      await target.writeChunk({ table: parent, range: {}, replace: false, isolate: false }, batchesOf(parentRows(N)));
      await target.writeChunk({ table: edge, range: {}, replace: false, isolate: false }, batchesOf(edgeRows));
      await target.writeChunk(
        { table: child, range: {}, replace: false, isolate: false },
        batchesOf(childRows(100, 50)),
      );
      for (const t of [parent, edge, child]) await target.finishTable(t);
      await target.addForeignKeys(child);
    });
    after(async () => conn?.close());

    test('introspect reports tables, columns, keys, indexes, foreign keys and sizes', async () => {
      const schema = await conn.introspect();
      assert.ok(schema.version.length > 0);
      const p = schema.tables.find((t) => t.name === 'src_parent');
      const c = schema.tables.find((t) => t.name === 'src_child');
      assert.ok(p && c, 'tables found');
      assert.deepEqual(
        p.columns.map((x) => x.name),
        ['id', 'name', 'created'],
      );
      assert.deepEqual(p.primaryKey, ['id']);
      assert.equal(p.columns[0]!.nullable, false);
      assert.ok(p.rowEstimate >= 0 && p.bytesEstimate > 0);
      assert.equal(c.foreignKeys.length, 1);
      assert.equal(c.foreignKeys[0]!.refTable, 'src_parent');
      assert.deepEqual(c.foreignKeys[0]!.refColumns, ['id']);
      assert.ok(c.indexes.some((i) => i.columns.join() === 'parent_id' && !i.unique));
      const only = await conn.introspect({ tables: ['src_child'] });
      assert.deepEqual(
        only.tables.map((t) => t.name),
        ['src_child'],
      );
    });

    test('introspected types are the canonical types the columns were created with', async () => {
      const schema = await conn.introspect({ tables: ['src_edge'] });
      const cols = schema.tables[0]!.columns;
      edge.columns.forEach((c, i) => assert.deepEqual(cols[i]!.type, c.type, `column ${c.name} (${c.nativeType})`));
    });

    test('split covers every row exactly once in chunks of about the asked size', async () => {
      const schema = await conn.introspect({ tables: ['src_parent'] });
      const st = sourceTableOf(parent, schema.tables[0]!.columns);
      const source = conn.source!();
      const view = await source.snapshot(2);
      try {
        const ranges = await source.split(st, 400, view);
        assert.ok(ranges.length >= 5 && ranges.length <= 8, `${ranges.length} ranges`);
        const seen = new Set<string>();
        let total = 0;
        for (const r of ranges) {
          const n = await source.count(st, r, view);
          assert.ok(n <= 800, `chunk of ${n} rows`);
          total += n;
          for (const row of await collect(source.read(st, r, view, 128))) {
            const id = String(row[0]);
            assert.ok(!seen.has(id), `row ${id} read twice`);
            seen.add(id);
          }
        }
        assert.equal(total, N);
        assert.equal(seen.size, N);
        const sub = await source.split(st, 100, view, ranges[1]);
        assert.ok(sub.length >= 3);
        let subTotal = 0;
        for (const r of sub) subTotal += await source.count(st, r, view);
        assert.equal(subTotal, await source.count(st, ranges[1]!, view));
      } finally {
        await view.release();
      }
    });

    if (opts.analyze)
      test('a dense key is split by arithmetic on its statistics, a sparse one exactly; both cover every row once', async () => {
        // ids 1..4000, then every other id up to 6000: 5,000 rows over 6,000 key values
        const dense = tableFor(conn, 'src_dense', parentColumns);
        const ids = [
          ...Array.from({ length: 4000 }, (_, i) => i + 1),
          ...Array.from({ length: 1000 }, (_, i) => 4001 + 2 * i),
        ];
        // 5,000 rows over 5 million key values
        const sparse = tableFor(conn, 'src_sparse', parentColumns);
        for (const [t, keys] of [
          [dense, ids],
          [sparse, ids.map((id) => id * 1000)],
        ] as const) {
          await conn.target!().prepare(t, 'drop');
          await conn.target!().writeChunk(
            { table: t, range: {}, replace: false, isolate: false },
            batchesOf(keys.map((id) => [BigInt(id), `row ${id}`, '2024-01-01 00:00:00'])),
          );
          await conn.target!().finishTable(t);
          await opts.analyze!(t.name);
        }
        const schema = await conn.introspect({ tables: ['src_dense', 'src_sparse'] });
        const source = conn.source!();
        const view = await source.snapshot(1);
        try {
          const covered = async (st: SourceTable, ranges: KeyRange[]) => {
            const counts = [];
            for (const r of ranges) counts.push(await source.count(st, r, view));
            assert.equal(
              counts.reduce((a, b) => a + b, 0),
              5000,
            );
            return counts;
          };
          const denseTable = sourceTableOf(dense, schema.tables.find((t) => t.name === 'src_dense')!.columns);
          const even = await source.split(denseTable, 1200, view);
          // equal spans of 1,200 key values (exact ones would fall at rows 1,201, 2,401, 3,601 and 4,801: ids 1201, 2401, 3601 and 5601)
          assert.deepEqual(
            even.map((r) => r.upper?.[0]),
            [1201n, 2401n, 3601n, 4801n, undefined],
          );
          assert.deepEqual(await covered(denseTable, even), [1200, 1200, 1200, 800, 600]);
          const sparseTable = sourceTableOf(sparse, schema.tables.find((t) => t.name === 'src_sparse')!.columns);
          const exact = await source.split(sparseTable, 1200, view);
          assert.deepEqual(await covered(sparseTable, exact), [1200, 1200, 1200, 1200, 200]);
        } finally {
          await view.release();
        }
      });

    test('read gives canonical values', async () => {
      const schema = await conn.introspect({ tables: ['src_edge'] });
      const st = sourceTableOf(edge, schema.tables[0]!.columns);
      const source = conn.source!();
      const view = await source.snapshot(1);
      try {
        const rows = await collect(source.read(st, {}, view, 2));
        assert.deepEqual(actualText(rows, edge), expectedText(edgeRows, edgeColumns, edge));
        for (const r of rows) {
          const i64 = r[edgeColumns.findIndex((c) => c.name === 'i64')];
          if (i64 !== null) assert.equal(typeof i64, 'bigint');
          const blob = r[edgeColumns.findIndex((c) => c.name === 'blob')];
          if (blob !== null) assert.ok(blob instanceof Uint8Array);
        }
      } finally {
        await view.release();
      }
    });

    if (opts.columns)
      test('readColumns gives the values read gives, for every type with a column layout', async () => {
        const schema = await conn.introspect({ tables: ['src_edge'] });
        const st = sourceTableOf(edge, schema.tables[0]!.columns);
        const columnar = st.columns.flatMap((c, i) => (columnLayout(c.type) ? [i] : []));
        const table: SourceTable = { ...st, columns: columnar.map((i) => st.columns[i]!) };
        const target: TargetTable = { ...edge, columns: columnar.map((i) => edge.columns[i]!) };
        const source = conn.source!();
        const view = await source.snapshot(1);
        try {
          const read = source.readColumns!(table, {}, view, 3);
          assert.ok(read, `${table.columns.map((c) => c.name).join(', ')} are read as columns`);
          const batches: ColumnBatch[] = [];
          for await (const b of read) batches.push(b);
          assert.deepEqual(
            batches.map((b) => b.rows),
            [3, 1],
          );
          const fromColumns = actualText(
            rowsOfBatches(
              batches,
              table.columns.map((c) => c.type),
            ),
            target,
          );
          assert.deepEqual(fromColumns, actualText(await collect(source.read(table, {}, view, 3)), target));
          assert.deepEqual(
            fromColumns,
            expectedText(
              edgeRows.map((r) => columnar.map((i) => r[i])),
              columnar.map((i) => edgeColumns[i]!),
              target,
            ),
          );
        } finally {
          await view.release();
        }
      });

    test('profile measures the longest values and counts orphan rows, a NULL in a key column leaving the row unchecked', async () => {
      const columns = [
        { name: 'id', type: parseType('int64') },
        { name: 'parent_id', type: parseType('int64') },
        { name: 'parent_name', type: parseType('varchar(100)') },
        { name: 'payload', type: parseType('bytes') },
        { name: 'nothing', type: parseType('text') },
      ];
      const orphan = tableFor(conn, 'src_orphan', columns);
      await conn.target!().prepare(orphan, 'drop');
      const bytes = (...b: number[]) => new Uint8Array(b);
      // by parent_id alone rows 5 and 6 are orphans; by (parent_id, parent_name) rows 2 and 5
      const rows = [
        [1n, 1n, 'parent 1 é', bytes(0xff, 0xfe, 0xfd), null],
        [2n, 2n, 'wrong', bytes(), null],
        [3n, null, 'x', null, null],
        [4n, 3n, null, bytes(0, 1, 2, 3, 4, 5, 6), null],
        [5n, BigInt(N + 5), 'parent 5 é', null, null],
        [6n, BigInt(N + 6), null, null, null],
      ];
      await conn.target!().writeChunk({ table: orphan, range: {}, replace: false, isolate: false }, batchesOf(rows));
      await conn.target!().finishTable(orphan);
      const fk = (name: string, own: string[], ref: string[]): ForeignKey => ({
        name,
        columns: own,
        refTable: 'src_parent',
        refColumns: ref,
      });
      const asks: ProfileAsk[] = [
        { kind: 'maxLength', column: 'parent_name' },
        { kind: 'orphans', foreignKey: fk('by_id', ['parent_id'], ['id']) },
        { kind: 'maxLength', column: 'payload' },
        { kind: 'orphans', foreignKey: fk('by_id_name', ['parent_id', 'parent_name'], ['id', 'name']) },
        { kind: 'maxLength', column: 'nothing' },
      ];
      const [info] = (await conn.introspect({ tables: ['src_orphan'] })).tables;
      const source = conn.source!();
      const answers = await source.profile!(info!, asks);
      assert.equal(answers.length, asks.length);
      assert.deepEqual(
        asks.map((ask) => answers.find((a) => a.ask === ask)?.answer),
        [{ length: 10 }, { rows: 2 }, { length: 7 }, { rows: 2 }, { length: 0 }],
      );
      await assert.rejects(
        source.profile!({ name: 'src_missing', columns: info!.columns }, asks),
        (e: unknown) => e instanceof FerryError && e.code === 'TABLE_NOT_FOUND' && e.message.includes('src_missing'),
      );
    });

    test('a row filter selects rows, and the snapshot hides later writes', async () => {
      const schema = await conn.introspect({ tables: ['src_parent'] });
      const source = conn.source!();
      const view = await source.snapshot(2);
      try {
        await conn.target!().writeChunk(
          { table: parent, range: { lower: [BigInt(N + 1)] }, replace: false, isolate: false },
          batchesOf(parentRows(10, N + 1)),
        );
        const st = sourceTableOf(parent, schema.tables[0]!.columns);
        assert.equal(await source.count(st, {}, view), N, 'rows written after the snapshot are not seen');
        const filtered = sourceTableOf(parent, schema.tables[0]!.columns, ['id'], 'id <= 10');
        const rows = await collect(source.read(filtered, {}, view, 100));
        assert.deepEqual(rows.map((r) => canonicalText(r[0], parentColumns[0]!.type)).sort(), [
          '1',
          '10',
          '2',
          '3',
          '4',
          '5',
          '6',
          '7',
          '8',
          '9',
        ]);
        const range: KeyRange = { lower: [5n], upper: [8n] };
        assert.equal(await source.count(filtered, range, view), 3);
      } finally {
        await view.release();
      }
      const fresh = await source.snapshot(1);
      try {
        const st = sourceTableOf(parent, schema.tables[0]!.columns);
        assert.equal(await source.count(st, {}, fresh), N + 10);
      } finally {
        await fresh.release();
      }
    });
  });
}
