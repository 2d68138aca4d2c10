// The part of the target contract about live changes (Target.applyChanges): every target that
// applies changes passes these, through the contract alone. Rows are compared exactly, as the
// target gives them back.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { UNCHANGED } from '../../src/core/changes.js';
import type { AppliedChange, Connector, Target, TargetTable } from '../../src/core/contracts.js';
import { FerryError } from '../../src/core/errors.js';
import { childColumns, edgeColumns, edgeRows, parentColumns, parentRows } from '../fixtures/edge.js';
import { actualText, batchesOf, collect, expectedText, tableFor } from './target-contract.js';

const upsert = (table: TargetTable, row: unknown[]): AppliedChange => ({ table, change: { op: 'upsert', row } });
const update = (table: TargetTable, key: unknown[], row: unknown[]): AppliedChange => ({
  table,
  change: { op: 'update', key, row },
});
const remove = (table: TargetTable, key: unknown[]): AppliedChange => ({ table, change: { op: 'delete', key } });

/** A parent row (id, name, created) of the fixtures' parent table. */
const parent = (id: number, name = `parent ${id} é`): unknown[] => [BigInt(id), name, parentRows(1, id)[0]![2]];
/** A child row (id, parent_id, amount, note): the note plays the large value a change log may leave out. */
const child = (id: number, note: string | null = `note ${id}`): unknown[] => [
  BigInt(id),
  BigInt(id % 3),
  `${id}.25`,
  note,
];

/** What the table holds, as canonical text sorted by key (compared with `expectedText`). */
async function held(target: Target, table: TargetTable): Promise<string[][]> {
  return actualText(await collect(target.readBack(table, {}, 100)), table);
}

/** A fresh table written as the copy writes it (one chunk). */
async function copied(target: Target, table: TargetTable, rows: unknown[][]): Promise<TargetTable> {
  await target.prepare(table, 'drop');
  if (rows.length > 0) await target.writeChunk({ table, range: {}, replace: false, isolate: false }, batchesOf(rows));
  return table;
}

const isFerryError =
  (code: string, transient = false) =>
  (e: unknown) =>
    e instanceof FerryError && e.code === code && e.transient === transient && !e.oneLine().includes('\n');

/**
 * The applyChanges tests, for the connector and target the target contract opened (asked for
 * when the tests run). A target without applyChanges skips them.
 */
export function applyContract(
  sides: () => { conn: Connector; target: Target },
  opts: { constraints?: boolean; enforcesUniqueKeys?: boolean },
): void {
  const applying = (t: TestContext): { conn: Connector; target: Target } | undefined => {
    const s = sides();
    if (s.target.applyChanges && s.target.appliedPosition) return s;
    assert.equal(s.target.applyChanges ?? s.target.appliedPosition, undefined, 'both or neither');
    t.skip('the target does not apply live changes');
    return undefined;
  };

  test('applyChanges: inserts, updates and deletes in order, with the position stored under its stream', async (t) => {
    const s = applying(t);
    if (!s) return;
    const { conn, target } = s;
    assert.equal(await target.appliedPosition!('orders'), undefined, 'no position before the first apply');
    const p = await copied(target, tableFor(conn, 'apply_parent', parentColumns), parentRows(10));
    await target.applyChanges!(
      [
        upsert(p, parent(11)),
        upsert(p, parent(2, 'two, replaced')),
        update(p, [3n], parent(3, "three, updated 'quoted'")),
        remove(p, [4n]),
        remove(p, [99n]),
        update(p, [5n], parent(50, 'five, now fifty')),
        upsert(p, parent(12)),
        remove(p, [12n]),
        upsert(p, parent(13, 'thirteen, first')),
        upsert(p, parent(13, 'thirteen, second')),
        remove(p, [6n]),
        upsert(p, parent(6, 'six, again')),
        upsert(p, parent(14)),
        update(p, [14n], parent(15, 'fourteen, now fifteen')),
        update(p, [15n], parent(16, 'then sixteen')),
      ],
      'orders',
      'position 1',
    );
    const rows = [
      parent(1),
      parent(2, 'two, replaced'),
      parent(3, "three, updated 'quoted'"),
      parent(6, 'six, again'),
      parent(7),
      parent(8),
      parent(9),
      parent(10),
      parent(11),
      parent(13, 'thirteen, second'),
      parent(16, 'then sixteen'),
      parent(50, 'five, now fifty'),
    ];
    assert.deepEqual(await held(target, p), expectedText(rows, parentColumns, p));
    assert.equal(await target.appliedPosition!('orders'), 'position 1');
    assert.equal(await target.appliedPosition!('another stream'), undefined);
    await target.applyChanges!([], 'another stream', 'its own');
    await target.applyChanges!([remove(p, [1n])], 'orders', 'position 2');
    assert.equal(await target.appliedPosition!('orders'), 'position 2');
    assert.equal(await target.appliedPosition!('another stream'), 'its own');
    assert.deepEqual(await held(target, p), expectedText(rows.slice(1), parentColumns, p));
  });

  test('applyChanges: UNCHANGED columns keep what the target holds, through key changes too', async (t) => {
    const s = applying(t);
    if (!s) return;
    const { conn, target } = s;
    const c = await copied(
      target,
      tableFor(conn, 'apply_toast', childColumns),
      [1, 2, 3, 4, 5, 6].map((i) => child(i)),
    );
    const partial = (id: number, amount: string) => [BigInt(id), BigInt(id % 3), amount, UNCHANGED];
    await target.applyChanges!(
      [
        // the row is there: its other columns change, the note stays
        update(c, [1n], partial(1, '100.00')),
        // a new key: the note goes with the row
        update(c, [2n], partial(20, '200.00')),
        // a row the target does not hold (deleted later in the source, and copied so): nothing to update
        remove(c, [3n]),
        update(c, [3n], partial(3, '300.00')),
        // moved onto a key the target holds already (a copy later than the change): that row stays, updated
        update(c, [4n], partial(5, '400.00')),
        // a whole row moved, with neither key in the target: inserted
        update(c, [30n], child(31, 'thirty-one')),
        // a whole row moved onto a key the target holds: replaces it, the old key is gone
        update(c, [6n], child(20, 'twenty, whole')),
        // NULL is a value, not UNCHANGED
        update(c, [1n], [1n, 1n, '101.00', null]),
        update(c, [1n], partial(1, '102.00')),
      ],
      'toast',
      '1',
    );
    const rows = [
      [1n, 1n, '102.00', null],
      [5n, 2n, '400.00', 'note 5'],
      child(20, 'twenty, whole'),
      child(31, 'thirty-one'),
    ];
    assert.deepEqual(await held(target, c), expectedText(rows, childColumns, c));
  });

  test('applyChanges: the same batch applied twice leaves the same rows', async (t) => {
    const s = applying(t);
    if (!s) return;
    const { conn, target } = s;
    const c = await copied(
      target,
      tableFor(conn, 'apply_replay', childColumns),
      [1, 2, 3, 4, 5].map((i) => child(i)),
    );
    const batch = [
      upsert(c, child(6)),
      update(c, [1n], [1n, 1n, '9.99', UNCHANGED]),
      update(c, [2n], [22n, 1n, '22.00', UNCHANGED]),
      update(c, [22n], [23n, 2n, '23.00', UNCHANGED]),
      update(c, [3n], child(33, 'whole')),
      remove(c, [4n]),
      upsert(c, child(7)),
      remove(c, [7n]),
      remove(c, [77n]),
    ];
    await target.applyChanges!(batch, 'replay', 'a');
    const once = await held(target, c);
    assert.deepEqual(
      once,
      expectedText(
        [[1n, 1n, '9.99', 'note 1'], [23n, 2n, '23.00', 'note 2'], child(5), child(6), child(33, 'whole')],
        childColumns,
        c,
      ),
    );
    await target.applyChanges!(batch, 'replay', 'a');
    assert.deepEqual(await held(target, c), once);
    assert.equal(await target.appliedPosition!('replay'), 'a');
  });

  test('applyChanges: a key of two columns', async (t) => {
    const s = applying(t);
    if (!s) return;
    const { conn, target } = s;
    const c = await copied(
      target,
      tableFor(conn, 'apply_pair', childColumns, ['id', 'parent_id']),
      [1, 2, 3, 4, 5, 6].map((i) => child(i)),
    );
    await target.applyChanges!(
      [
        remove(c, [1n, 1n]),
        remove(c, [2n, 2n]),
        remove(c, [3n, 3n]),
        upsert(c, [7n, 1n, '7.25', 'note 7']),
        upsert(c, [7n, 2n, '7.50', 'another 7']),
        update(c, [4n, 1n], [4n, 2n, '4.00', UNCHANGED]),
        update(c, [5n, 2n], [5n, 2n, '5.00', UNCHANGED]),
        update(c, [6n, 0n], [6n, 1n, '6.00', 'six']),
      ],
      'pair',
      '1',
    );
    const rows = [
      child(3),
      [4n, 2n, '4.00', 'note 4'],
      [5n, 2n, '5.00', 'note 5'],
      [6n, 1n, '6.00', 'six'],
      [7n, 1n, '7.25', 'note 7'],
      [7n, 2n, '7.50', 'another 7'],
    ];
    // two rows share an id: in key order
    const sorted = (text: string[][]) => text.map((r) => JSON.stringify(r)).sort();
    assert.deepEqual(sorted(await held(target, c)), sorted(expectedText(rows, childColumns, c)));
  });

  test('applyChanges: every canonical type arrives as a chunk writes it', async (t) => {
    const s = applying(t);
    if (!s) return;
    const { conn, target } = s;
    const e = await copied(target, tableFor(conn, 'apply_edge', edgeColumns), []);
    await target.applyChanges!(
      edgeRows.map((r) => upsert(e, r)),
      'edge',
      'inserted',
    );
    assert.deepEqual(await held(target, e), expectedText(edgeRows, edgeColumns, e));
    // every row again: as updates of whole rows, then of every other column (the rest UNCHANGED), then the others
    const key = (r: unknown[]) => [r[0]];
    const every = (r: unknown[], odd: boolean) => r.map((v, i) => (i > 0 && i % 2 === (odd ? 0 : 1) ? UNCHANGED : v));
    await target.applyChanges!(
      [
        ...edgeRows.map((r) => update(e, key(r), r)),
        ...edgeRows.map((r) => update(e, key(r), every(r, true))),
        ...edgeRows.map((r) => update(e, key(r), every(r, false))),
      ],
      'edge',
      'updated',
    );
    assert.deepEqual(await held(target, e), expectedText(edgeRows, edgeColumns, e));
    // moved to new keys, whole
    await target.applyChanges!(
      edgeRows.map((r) => update(e, key(r), [(r[0] as number) + 100, ...r.slice(1)])),
      'edge',
      'moved',
    );
    const moved = edgeRows.map((r) => [(r[0] as number) + 100, ...r.slice(1)]);
    assert.deepEqual(await held(target, e), expectedText(moved, edgeColumns, e));
    await target.applyChanges!(
      moved.map((r) => remove(e, key(r))),
      'edge',
      'deleted',
    );
    assert.equal(await target.count(e, {}), 0);
  });

  test('applyChanges: a batch the target refuses leaves neither its changes nor its position', async (t) => {
    const s = applying(t);
    if (!s) return;
    const { conn, target } = s;
    const p = tableFor(conn, 'apply_refused', parentColumns);
    p.columns[1]!.nullable = false;
    await copied(target, p, parentRows(5));
    await target.applyChanges!([upsert(p, parent(6))], 'refused', 'good');
    const before = await held(target, p);
    await assert.rejects(
      target.applyChanges!(
        [upsert(p, parent(7)), remove(p, [1n]), update(p, [2n], parent(20)), upsert(p, [8n, null, parent(8)[2]])],
        'refused',
        'bad',
      ),
      isFerryError('WRITE_FAILED'),
    );
    assert.deepEqual(await held(target, p), before);
    assert.equal(await target.appliedPosition!('refused'), 'good');
  });

  test('applyChanges: a table without a primary key is refused at its first change, saying what to do', async (t) => {
    const s = applying(t);
    if (!s) return;
    const { conn, target } = s;
    const keyed = await copied(target, tableFor(conn, 'apply_keyed', parentColumns), parentRows(2));
    const bare = await copied(target, { ...tableFor(conn, 'apply_bare', parentColumns, []), key: [] }, parentRows(2));
    await assert.rejects(
      target.applyChanges!([upsert(keyed, parent(3)), upsert(bare, parent(3))], 'bare', 'p'),
      (e: unknown) =>
        isFerryError('UNSUPPORTED')(e) &&
        /apply_bare/.test((e as Error).message) &&
        /primary key/.test((e as FerryError).action),
    );
    assert.equal(await target.count(keyed, {}), 2);
    assert.equal(await target.appliedPosition!('bare'), undefined);
  });

  test('applyChanges: unique keys hold in order; a row holding a unique value is never written over', async (t) => {
    const s = applying(t);
    if (!s) return;
    if (opts.constraints === false || opts.enforcesUniqueKeys === false) {
      t.skip('the target does not enforce unique keys');
      return;
    }
    const { conn, target } = s;
    const p = tableFor(conn, 'apply_unique', parentColumns);
    p.uniqueKeys = [['name']];
    await copied(target, p, [parent(1, 'a'), parent(2, 'b')]);
    await target.finishTable(p);
    // values of a unique key that move between rows, in the source's order (one multi-row step, then single ones)
    await target.applyChanges!(
      [
        upsert(p, parent(1, 'c')),
        upsert(p, parent(2, 'a')),
        update(p, [1n], parent(1, 'b')),
        upsert(p, parent(3, 'c')),
      ],
      'unique',
      '1',
    );
    const rows = [parent(1, 'b'), parent(2, 'a'), parent(3, 'c')];
    assert.deepEqual(await held(target, p), expectedText(rows, parentColumns, p));
    // a row whose unique value another row holds: refused, whatever the engine's upsert would match
    for (const change of [upsert(p, parent(4, 'a')), upsert(p, parent(1, 'a')), update(p, [3n], parent(5, 'b'))]) {
      await assert.rejects(target.applyChanges!([change], 'unique', '2'), isFerryError('WRITE_FAILED'));
      assert.deepEqual(await held(target, p), expectedText(rows, parentColumns, p));
    }
    assert.equal(await target.appliedPosition!('unique'), '1');
  });
}

/**
 * Applies a long batch until `killApplier` (asked again and again) has killed the connection
 * applying it: the call fails as a transient WRITE_FAILED, and the target holds neither the
 * batch nor its position. Applied again, the batch is whole.
 */
export async function applyUntilKilled(conn: Connector, killApplier: () => Promise<boolean>): Promise<void> {
  const target = conn.target!();
  const table = await copied(target, tableFor(conn, 'apply_killed', parentColumns), []);
  await target.applyChanges!([upsert(table, parent(1, 'before'))], 'killed', 'before');
  // a long batch: its steps are of two rows (a key repeats every other change)
  const changes: AppliedChange[] = [];
  for (let i = 0; i < 60_000; i++) changes.push(upsert(table, parent(1 + (i % 2), `change ${i}`)));
  const last = [parent(1, 'change 59998'), parent(2, 'change 59999')];
  let failure: unknown;
  let settled = false;
  const applying = target.applyChanges!(changes, 'killed', 'after').then(
    () => (settled = true),
    (e: unknown) => ((settled = true), (failure = e)),
  );
  while (!settled && !(await killApplier()));
  await applying;
  assert.ok(failure !== undefined, 'the kill came after the batch was applied: make the batch longer');
  assert.ok(isFerryError('WRITE_FAILED', true)(failure), String(failure));
  assert.equal(await target.appliedPosition!('killed'), 'before');
  assert.deepEqual(await held(target, table), expectedText([parent(1, 'before')], parentColumns, table));
  await target.applyChanges!(changes, 'killed', 'after');
  assert.equal(await target.appliedPosition!('killed'), 'after');
  assert.deepEqual(await held(target, table), expectedText(last, parentColumns, table));
}
