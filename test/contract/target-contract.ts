// The contract every target connector passes: the same tests for each.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sameColumnValues } from '../../src/core/columns.js';
import type { Connector, Target, TargetTable } from '../../src/core/contracts.js';
import { FerryError } from '../../src/core/errors.js';
import type { KeyRange, RowBatch } from '../../src/core/types.js';
import { canonicalText, convertValue } from '../../src/core/values.js';
import {
  childColumns,
  childRows,
  edgeColumns,
  edgeRows,
  floatSpecials,
  parentColumns,
  parentRows,
  type EdgeColumn,
} from '../fixtures/edge.js';
import { applyContract } from './apply-contract.js';
import { columnBatchesOf } from './column-batches.js';

export async function* batchesOf(rows: unknown[][], size = 1000): AsyncIterable<RowBatch> {
  for (let i = 0; i < rows.length; i += size) yield { rows: rows.slice(i, i + size) };
}

/**
 * Writes rows of (integer id, text note) without end into `table` until `killWriter` (asked again
 * and again) has killed the connection writing them. The write must then fail as a transient
 * WRITE_FAILED, and take no more than a batch or two after the kill (the rows come slowly then,
 * so that the writer hears of its connection's end between two of them): the rows' source is
 * not read on for nothing.
 */
export async function writeUntilKilled(
  target: Target,
  table: TargetTable,
  killWriter: () => Promise<boolean>,
): Promise<void> {
  let pulled = 0;
  let killed = false;
  async function* endless(): AsyncIterable<RowBatch> {
    for (;;) {
      const first = pulled++ * 100;
      yield { rows: Array.from({ length: 100 }, (_, i) => [first + i, 'a row of a chunk that never ends']) };
      await new Promise((r) => setTimeout(r, killed ? 50 : 5));
    }
  }
  let failure: unknown;
  const writing = target
    .writeChunk({ table, range: {}, replace: false, isolate: false }, endless())
    .catch((e: unknown) => (failure = e));
  while (!(await killWriter()));
  killed = true;
  const atKill = pulled;
  await writing;
  assert.ok(failure instanceof FerryError && failure.code === 'WRITE_FAILED' && failure.transient, String(failure));
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(pulled - atKill <= 2, `${pulled - atKill} batches pulled after the writer was killed`);
}

export async function collect(it: AsyncIterable<RowBatch>): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for await (const b of it) out.push(...b.rows);
  return out;
}

/** A target table for canonical columns, with the native types the connector chooses. */
export function tableFor(conn: Connector, name: string, cols: EdgeColumn[], key = ['id']): TargetTable {
  return {
    name,
    columns: cols.map((c) => {
      const nativeType = conn.nativeType(c.type).native;
      return { name: c.name, type: conn.canonicalType(nativeType), nativeType, nullable: !key.includes(c.name) };
    }),
    primaryKey: key,
    key,
    uniqueKeys: [],
    indexes: [],
    foreignKeys: [],
  };
}

/** `tableFor`'s table with its columns as the connector finds them written (to read back what a run wrote). */
export async function foundTable(conn: Connector, name: string, cols: EdgeColumn[]): Promise<TargetTable> {
  const info = (await conn.introspect({ tables: [name] })).tables[0]!;
  return {
    ...tableFor(conn, name, cols),
    columns: info.columns.map((c) => ({ name: c.name, type: c.type, nativeType: c.nativeType, nullable: c.nullable })),
  };
}

/** Canonical text of rows as the target should give them back, sorted by the first column. */
export function expectedText(rows: unknown[][], cols: EdgeColumn[], table: TargetTable): string[][] {
  return rows
    .map((r) =>
      r.map((v, i) => canonicalText(convertValue(v, cols[i]!.type, table.columns[i]!.type), table.columns[i]!.type)),
    )
    .sort((a, b) => Number(a[0]) - Number(b[0]));
}

export function actualText(rows: unknown[][], table: TargetTable): string[][] {
  return rows
    .map((r) => r.map((v, i) => canonicalText(v, table.columns[i]!.type)))
    .sort((a, b) => Number(a[0]) - Number(b[0]));
}

export interface ContractOptions {
  /** opens a connector on a fresh, empty database */
  open: () => Promise<Connector>;
  /** the engine stores NaN and ±Infinity in float columns */
  floatSpecials: boolean;
  /** the connector speaks column batches: its source reads them (readColumns), its target writes them (writeColumns) */
  columns?: boolean;
  /** false for a target that keeps no unique keys, foreign keys or secondary indexes (a key-value store) */
  constraints?: boolean;
  /** false for a target that declares unique keys without refusing a row that breaks one (files) */
  enforcesUniqueKeys?: boolean;
  /** updates the engine's statistics of a table (for sources that split by them) */
  analyze?: (table: string) => Promise<unknown>;
}

export function targetContract(label: string, opts: ContractOptions): void {
  describe(`${label}: target contract`, () => {
    let conn: Connector;
    let target: Target;
    before(async () => {
      conn = await opts.open();
      target = conn.target!();
    });
    after(async () => conn?.close());

    test('every canonical type round-trips its edge values exactly', async () => {
      const t = tableFor(conn, 'edge', edgeColumns);
      await target.prepare(t, 'fail');
      const res = await target.writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(edgeRows));
      assert.equal(res.rows, edgeRows.length);
      assert.deepEqual(res.rejects, []);
      const back = await collect(target.readBack(t, {}, 100));
      assert.deepEqual(actualText(back, t), expectedText(edgeRows, edgeColumns, t));
      assert.equal(await target.count(t, {}), edgeRows.length);
    });

    test('prepare refuses an existing table unless told to drop or truncate it', async () => {
      const t = tableFor(conn, 'edge', edgeColumns);
      await assert.rejects(
        target.prepare(t, 'fail'),
        (e: Error & { code?: string }) => e.code === 'TABLE_EXISTS' && /edge/.test(e.message),
      );
      await target.prepare(t, 'truncate');
      assert.equal(await target.count(t, {}), 0);
      await target.prepare(t, 'drop');
      assert.equal(await target.count(t, {}), 0);
    });

    test('float specials are kept where the engine has them and refused where it has not', async () => {
      const cols = [edgeColumns[0]!, edgeColumns.find((c) => c.name === 'f64')!];
      const t = tableFor(conn, 'floats', cols);
      await target.prepare(t, 'drop');
      const rows = floatSpecials.map((f, i) => [i + 1, f]);
      if (opts.floatSpecials) {
        await target.writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(rows));
        assert.deepEqual(actualText(await collect(target.readBack(t, {}, 10)), t), expectedText(rows, cols, t));
      } else {
        const check = target.valueCheck?.(t.columns[1]!);
        assert.ok(check, 'a target without float specials must say so through valueCheck');
        for (const f of floatSpecials) assert.match(check(f) ?? '', /./);
        assert.equal(check(1.5), undefined);
      }
    });

    test('a replayed chunk replaces its range and leaves other rows alone', async () => {
      const t = tableFor(conn, 'parent', parentColumns);
      await target.prepare(t, 'drop');
      const all = parentRows(300);
      await target.writeChunk(
        { table: t, range: { upper: [101n] }, replace: false, isolate: false },
        batchesOf(all.slice(0, 100)),
      );
      await target.writeChunk(
        { table: t, range: { lower: [101n], upper: [201n] }, replace: false, isolate: false },
        batchesOf(all.slice(100, 200)),
      );
      // an interrupted attempt left part of the last chunk; the replay must not duplicate it
      await target.writeChunk(
        { table: t, range: { lower: [201n] }, replace: false, isolate: false },
        batchesOf(all.slice(200, 250)),
      );
      await target.writeChunk(
        { table: t, range: { lower: [201n] }, replace: true, isolate: false },
        batchesOf(all.slice(200)),
      );
      await target.writeChunk(
        { table: t, range: { lower: [101n], upper: [201n] }, replace: true, isolate: false },
        batchesOf(all.slice(100, 200)),
      );
      const back = await collect(target.readBack(t, {}, 64));
      assert.equal(back.length, 300);
      assert.deepEqual(actualText(back, t), expectedText(all, parentColumns, t));
      assert.equal(await target.count(t, { lower: [101n], upper: [201n] }), 100);
      assert.equal((await collect(target.readBack(t, { lower: [250n], upper: [260n] }, 4))).length, 10);
    });

    test('a chunk without a key range replaces the whole table when replayed', async () => {
      const t = { ...tableFor(conn, 'nokey', parentColumns, []), primaryKey: [], key: [] };
      await target.prepare(t, 'drop');
      await target.writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(parentRows(10)));
      await target.writeChunk({ table: t, range: {}, replace: true, isolate: false }, batchesOf(parentRows(12)));
      assert.equal(await target.count(t, {}), 12);
    });

    test('a failing chunk writes nothing; isolated, it writes all but the refused rows', async () => {
      const t = tableFor(conn, 'strict_parent', parentColumns);
      await target.prepare(t, 'drop');
      const rows = parentRows(50);
      const bad = [...rows, [7n, 'duplicate key', '2024-01-01 00:00:00'], [51n, null, '2024-01-01 00:00:00']];
      t.columns[1]!.nullable = false;
      await target.prepare(t, 'drop');
      await assert.rejects(
        target.writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(bad, 20)),
      );
      assert.equal(await target.count(t, {}), 0);
      const res = await target.writeChunk({ table: t, range: {}, replace: true, isolate: true }, batchesOf(bad, 20));
      assert.equal(res.rows, 50);
      assert.equal(res.rejects.length, 2);
      for (const r of res.rejects) assert.match(r.reason, /\w/);
      assert.deepEqual(res.rejects.map((r) => r.row[0]).sort(), [51n, 7n].sort());
      assert.equal(await target.count(t, {}), 50);
    });

    test('column batches write the values rows write, for every column the target takes as columns', async () => {
      if (!opts.columns) {
        assert.ok(
          !target.takesColumns?.(tableFor(conn, 'parent_columns', parentColumns)),
          'a target that takes column batches runs this suite with columns: true',
        );
        return;
      }
      assert.ok(target.takesColumns && target.writeColumns, 'takesColumns and writeColumns go together');
      const edge = tableFor(conn, 'edge_columns', edgeColumns);
      // the columns a source gives as columns (no value changes on the way) that the target takes as they are
      const taken = edgeColumns.flatMap((c, i) =>
        sameColumnValues(c.type, edge.columns[i]!.type) &&
        target.takesColumns!({ ...edge, columns: [edge.columns[0]!, edge.columns[i]!] })
          ? [i]
          : [],
      );
      assert.equal(taken[0], 0, 'the key column is taken');
      const t: TargetTable = { ...edge, columns: taken.map((i) => edge.columns[i]!) };
      assert.ok(target.takesColumns(t), `${t.columns.map((c) => c.name).join(', ')} are taken together`);
      const cols = taken.map((i) => edgeColumns[i]!);
      const rows = edgeRows.map((r) => taken.map((i) => r[i]));
      await target.prepare(t, 'drop');
      const types = t.columns.map((c) => c.type);
      const res = await target.writeColumns(
        { table: t, range: {}, replace: false, isolate: false },
        columnBatchesOf(rows, types, 3),
      );
      assert.equal(res.rows, rows.length);
      assert.deepEqual(res.rejects, []);
      assert.deepEqual(actualText(await collect(target.readBack(t, {}, 100)), t), expectedText(rows, cols, t));
    });

    test('a chunk of column batches replays as one of rows does; a value the target refuses fails it', async () => {
      if (!opts.columns) return;
      const t = tableFor(conn, 'parent_columns', parentColumns);
      assert.ok(target.takesColumns!(t), 'an integer key, text and a timestamp are taken as columns');
      await target.prepare(t, 'drop');
      const types = t.columns.map((c) => c.type);
      const write = (range: KeyRange, rows: unknown[][], replace: boolean) =>
        target.writeColumns!({ table: t, range, replace, isolate: false }, columnBatchesOf(rows, types, 64));
      const all = parentRows(300);
      await write({ upper: [151n] }, all.slice(0, 150), false);
      // an interrupted attempt left part of the last chunk; the replay must not duplicate it
      await write({ lower: [151n] }, all.slice(150, 200), false);
      await write({ lower: [151n] }, all.slice(150), true);
      const held = actualText(await collect(target.readBack(t, {}, 64)), t);
      assert.deepEqual(held, expectedText(all, parentColumns, t));
      // columns and rows agree: a timestamp that valueCheck() or the target refuses in a row fails a chunk of columns, and writes nothing
      const check = target.valueCheck?.(t.columns[2]!);
      for (const [id, stamp] of [
        [301n, '291000-01-01 00:00:00'],
        [302n, '-289000-01-01 00:00:00'],
      ] as const) {
        const row = [id, `far ${id}`, stamp];
        const range = { lower: [id], upper: [id + 1n] };
        const refusal =
          check?.(stamp) ??
          (await target.writeChunk({ table: t, range, replace: true, isolate: true }, batchesOf([row]))).rejects[0]
            ?.reason;
        if (refusal === undefined) {
          await write(range, [row], true);
          assert.deepEqual(
            actualText(await collect(target.readBack(t, range, 1)), t),
            expectedText([row], parentColumns, t),
          );
          held.push(actualText([row], t)[0]!);
        } else
          await assert.rejects(
            write(range, [row], true),
            (e: Error & { code?: string }) => typeof e.code === 'string' && !e.message.includes('\n'),
            `${stamp} fails the chunk with a one-line error, as ${refusal}`,
          );
      }
      assert.deepEqual(actualText(await collect(target.readBack(t, {}, 64)), t), held);
    });

    test('drop removes a table and what prepare made for it; a fingerprint follows every change', async () => {
      if (!target.drop) {
        // a fingerprint only serves rollback, which needs drop
        assert.equal(target.fingerprint, undefined);
        return;
      }
      const t = tableFor(conn, 'dropped', edgeColumns);
      if (target.exists) assert.equal(await target.exists(t), false);
      await target.prepare(t, 'drop');
      await target.writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(edgeRows));
      if (target.exists) assert.equal(await target.exists(t), true);
      if (target.fingerprint) {
        const before = await target.fingerprint(t);
        assert.equal(before?.rows, edgeRows.length);
        assert.deepEqual(await target.fingerprint(t), before, 'unchanged table, same fingerprint');
        // a row written by someone else (a chunk of its own: every target takes that)
        const added = [(edgeRows[0]![0] as number) + 1000, ...edgeRows[0]!.slice(1)];
        await target.writeChunk(
          { table: t, range: { lower: [added[0]], upper: [(added[0] as number) + 1] }, replace: false, isolate: false },
          batchesOf([added]),
        );
        const after = await target.fingerprint(t);
        assert.equal(after?.rows, edgeRows.length + 1);
        assert.notEqual(after?.hash, before?.hash);
      }
      await target.drop(t);
      await target.drop(t);
      assert.ok(!(await conn.introspect()).tables.some((x) => x.name === 'dropped'), 'the table is gone');
      if (target.fingerprint) assert.equal(await target.fingerprint(t), undefined);
      if (target.exists) assert.equal(await target.exists(t), false);
      // nothing prepare made is left behind to stop the table coming back (PostgreSQL's enum types)
      await target.prepare(t, 'fail');
      await target.drop(t);
    });

    test('a scratch table is apart from the real one: written, read and dropped without touching it', async () => {
      if (!target.scratch) return;
      const real = tableFor(conn, 'scratched', parentColumns);
      await target.prepare(real, 'drop');
      await target.writeChunk({ table: real, range: {}, replace: false, isolate: false }, batchesOf(parentRows(30)));
      const scratch = target.scratch(real, '__ferrytest_c0ffee');
      assert.notEqual(scratch.name, real.name);
      // 'fail': it would refuse if the scratch table were the real one
      await target.prepare(scratch, 'fail');
      await target.writeChunk(
        { table: scratch, range: {}, replace: false, isolate: false },
        batchesOf(parentRows(40).slice(30)),
      );
      assert.equal(await target.count(scratch, {}), 10);
      await target.drop!(scratch);
      assert.equal(await target.count(real, {}), 30);
      assert.deepEqual(
        actualText(await collect(target.readBack(real, {}, 100)), real),
        expectedText(parentRows(30), parentColumns, real),
      );
      await target.drop!(real);
    });

    test('indexes, unique keys and foreign keys come after the data', async () => {
      const p = tableFor(conn, 'fk_parent', parentColumns);
      const c = tableFor(conn, 'fk_child', childColumns);
      c.indexes = [{ name: 'fk_child_parent_idx', columns: ['parent_id'], unique: false }];
      c.uniqueKeys = [['parent_id', 'id']];
      c.foreignKeys = [{ name: 'fk_child_parent', columns: ['parent_id'], refTable: 'fk_parent', refColumns: ['id'] }];
      await target.prepare(p, 'drop');
      await target.prepare(c, 'drop');
      await target.writeChunk({ table: c, range: {}, replace: false, isolate: false }, batchesOf(childRows(500, 20)));
      await target.writeChunk({ table: p, range: {}, replace: false, isolate: false }, batchesOf(parentRows(20)));
      await target.finishTable(p);
      await target.finishTable(c);
      await target.addForeignKeys(c);
      const schema = await conn.introspect({ tables: ['fk_child'] });
      const child = schema.tables.find((x) => x.name === 'fk_child')!;
      assert.ok(child, 'introspect finds the table');
      assert.deepEqual(child.primaryKey, ['id']);
      // a key-value store keeps the data and its key, and says before the run that it keeps nothing else
      if (opts.constraints === false) {
        assert.equal(await target.count(c, {}), 500);
        assert.ok(
          (await target.check([c])).some((f) => f.table === 'fk_child' && /unique keys/.test(f.message)),
          'check() says that the unique keys, foreign keys and indexes are not kept',
        );
        return;
      }
      assert.ok(
        child.indexes.some((i) => i.columns.join() === 'parent_id'),
        'secondary index created',
      );
      assert.ok(
        child.uniqueKeys.some((u) => u.join() === 'parent_id,id'),
        'unique key created',
      );
      assert.equal(child.foreignKeys[0]?.refTable, 'fk_parent');
      assert.deepEqual(child.foreignKeys[0]?.columns, ['parent_id']);
    });

    applyContract(() => ({ conn, target }), opts);
  });
}
