// Live changes into DynamoDB beyond the apply contract (which the target contract runs): many
// changes through a proxy that throttles and leaves items unprocessed, entities of a shared
// table (and tables whose keys may meet: conditional puts), a table whose item key is not made
// of its primary key, and a call cut short between its items and its position, then applied
// again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { dynamodbConnector } from '../../src/connectors/dynamodb/index.js';
import { UNCHANGED } from '../../src/core/changes.js';
import type { AppliedChange, Connector, TargetTable } from '../../src/core/contracts.js';
import { FerryError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { actualText, batchesOf, collect, expectedText, tableFor } from '../contract/target-contract.js';
import { childColumns, childRows, parentColumns, parentRows } from '../fixtures/edge.js';
import { startDynalite, startFaultyProxy, type LocalDynamo } from './dynamodb-local.js';

const open = (url: string, options?: Record<string, unknown>) =>
  dynamodbConnector.connect({ url, log: silentLogger, options });

const upsert = (table: TargetTable, row: unknown[]): AppliedChange => ({ table, change: { op: 'upsert', row } });
const update = (table: TargetTable, key: unknown[], row: unknown[]): AppliedChange => ({
  table,
  change: { op: 'update', key, row },
});
const remove = (table: TargetTable, key: unknown[]): AppliedChange => ({ table, change: { op: 'delete', key } });

async function copied(conn: Connector, table: TargetTable, rows: unknown[][]): Promise<TargetTable> {
  const target = conn.target!();
  await target.prepare(table, 'drop');
  if (rows.length > 0) await target.writeChunk({ table, range: {}, replace: false, isolate: false }, batchesOf(rows));
  return table;
}

const held = async (conn: Connector, table: TargetTable) =>
  actualText(await collect(conn.target!().readBack(table, {}, 500)), table);

let dynamo: LocalDynamo;
let conn: Connector;
before(async () => {
  dynamo = await startDynalite();
  conn = await open(dynamo.url);
});
after(async () => {
  await conn?.close();
  await dynamo?.stop();
});

describe('dynamodb live changes', () => {
  test('many changes arrive exactly through throttling and unprocessed items, partial updates read in pages', async () => {
    const proxy = await startFaultyProxy(dynamo.endpoint, { throttleEvery: 3, partialEvery: 2 });
    const busy = await open(proxy.url, { writers: 4 });
    try {
      const c = await copied(busy, tableFor(busy, 'apply_busy', childColumns), childRows(400, 10));
      const expected = new Map<bigint, unknown[]>(childRows(400, 10).map((r) => [r[0] as bigint, r]));
      const changes: AppliedChange[] = [];
      // 250 partial updates (more keys than one BatchGetItem reads), 300 new rows, 100 deletes
      for (let i = 1; i <= 250; i++) {
        const row = [BigInt(i), BigInt(i % 10) + 1n, `${i}.50`, UNCHANGED];
        changes.push(update(c, [BigInt(i)], row));
        expected.set(BigInt(i), [...row.slice(0, 3), expected.get(BigInt(i))![3]]);
      }
      for (let i = 401; i <= 700; i++) {
        const row = [BigInt(i), 1n, '1.00', `new ${i}`];
        changes.push(upsert(c, row));
        expected.set(BigInt(i), row);
      }
      for (let i = 201; i <= 300; i++) {
        changes.push(remove(c, [BigInt(i)]));
        expected.delete(BigInt(i));
      }
      await busy.target!().applyChanges!(changes, 'busy', 'p1');
      assert.ok(proxy.stats.throttled > 0 && proxy.stats.unprocessedItems > 0, JSON.stringify(proxy.stats));
      assert.equal(await busy.target!().appliedPosition!('busy'), 'p1');
      assert.deepEqual(await held(busy, c), expectedText([...expected.values()], childColumns, c));
    } finally {
      await busy.close();
      await proxy.stop();
    }
  });

  test('entities of a shared table follow under their own key templates', async () => {
    const shared = { table: 'apply_shared_app' };
    const p = {
      ...tableFor(conn, 'apply_sp_parent', parentColumns),
      options: { ...shared, entity: 'Parent', partitionKey: 'PARENT#{id}', sortKey: 'PARENT#{id}' },
    };
    const c = {
      ...tableFor(conn, 'apply_sp_child', childColumns, ['parent_id', 'id']),
      options: { ...shared, entity: 'Child', partitionKey: 'PARENT#{parent_id}', sortKey: 'CHILD#{id}' },
    };
    const target = conn.target!();
    await target.check([p, c]);
    await copied(conn, p, parentRows(3));
    await target.prepare(c, 'truncate');
    await target.writeChunk({ table: c, range: {}, replace: false, isolate: false }, batchesOf(childRows(6, 3)));
    await target.applyChanges!(
      [
        upsert(p, [4n, 'parent four', parentRows(1, 4)[0]![2]]),
        remove(p, [1n]),
        // a child (key: parent_id, id) moves to another parent: its item moves to that partition, its note with it
        update(c, [2n, 1n], [1n, 4n, '1.00', UNCHANGED]),
        upsert(c, [7n, 4n, '7.00', 'seven']),
        remove(c, [1n, 3n]),
      ],
      'shared',
      'p1',
    );
    const client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint });
    try {
      const q = await client.send(
        new QueryCommand({
          TableName: 'apply_shared_app',
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'PARENT#4' } },
          ConsistentRead: true,
        }),
      );
      assert.deepEqual(q.Items?.map((i) => `${i.entityType?.S}:${i.SK?.S}:${i.note?.S ?? ''}`).sort(), [
        'Child:CHILD#1:note 1',
        'Child:CHILD#7:seven',
        'Parent:PARENT#4:',
      ]);
    } finally {
      client.destroy();
    }
    assert.deepEqual(
      (await held(conn, p)).map((r) => r[0]),
      ['2', '3', '4'],
    );
    const children = (await collect(target.readBack(c, {}, 100))).map((r) => `${r[0]}/${r[1]}`).sort();
    assert.deepEqual(children, ['1/4', '2/3', '4/2', '5/3', '6/1', '7/4'].sort());
  });

  test("tables whose keys may meet are applied item by item with the copy's condition: another row's item is never replaced", async () => {
    const shared = { table: 'apply_overlap_app', partitionKey: 'ROW#{id}' };
    const a = { ...tableFor(conn, 'apply_overlap_a', parentColumns), options: { ...shared, entity: 'A' } };
    const b = { ...tableFor(conn, 'apply_overlap_b', parentColumns), options: { ...shared, entity: 'B' } };
    const target = conn.target!();
    assert.ok((await target.check([a, b])).some((f) => f.code === 'DYNAMODB_KEY_COLLISION'));
    await copied(conn, a, parentRows(3));
    await target.prepare(b, 'truncate');
    await target.writeChunk({ table: b, range: {}, replace: false, isolate: false }, batchesOf(parentRows(2, 10)));
    await target.applyChanges!(
      [
        upsert(a, parentRows(1, 4)[0]!),
        update(a, [1n], [1n, 'one, updated', parentRows(1)[0]![2]]),
        upsert(b, parentRows(1, 12)[0]!),
      ],
      'overlap',
      'p1',
    );
    assert.deepEqual(
      (await held(conn, a)).map((r) => r.slice(0, 2)),
      [
        ['1', 'one, updated'],
        ['2', 'parent 2 é'],
        ['3', 'parent 3 é'],
        ['4', 'parent 4 é'],
      ],
    );
    // B's row 2 would land on A's item ROW#2
    await assert.rejects(target.applyChanges!([upsert(b, parentRows(1, 2)[0]!)], 'overlap', 'p2'), (e) => {
      assert.ok(e instanceof FerryError && e.code === 'WRITE_FAILED', String(e));
      assert.match(e.message, /apply_overlap_b: .*ROW#2.* holds the item of another source row/);
      return true;
    });
    assert.equal(await target.appliedPosition!('overlap'), 'p1');
    assert.deepEqual(
      (await held(conn, a)).map((r) => r[0]),
      ['1', '2', '3', '4'],
    );
    assert.deepEqual(
      (await held(conn, b)).map((r) => r[0]),
      ['10', '11', '12'],
    );
  });

  test('a table whose item key is made of columns outside its primary key is refused before anything is written', async () => {
    const p = await copied(conn, tableFor(conn, 'apply_outside_parent', parentColumns), parentRows(2));
    const c = await copied(
      conn,
      { ...tableFor(conn, 'apply_outside', childColumns), options: { partitionKey: 'PARENT#{parent_id}#{id}' } },
      childRows(3, 2),
    );
    await assert.rejects(
      conn.target!().applyChanges!([upsert(p, parentRows(1, 3)[0]!), remove(c, [1n])], 's', '1'),
      (e) => {
        assert.ok(e instanceof FerryError && e.code === 'UNSUPPORTED', String(e));
        assert.match(e.message, /apply_outside: .*outside its primary key \(parent_id\)/);
        assert.match(e.action, /options\.partitionKey/);
        return true;
      },
    );
    assert.equal(await conn.target!().count(p, {}), 2);
    assert.equal(await conn.target!().count(c, {}), 3);
    // and the assessment says so beforehand, for that table only
    const findings = (await conn.target!().check([p, c])).filter((f) => f.code === 'DYNAMODB_NOT_FOLLOWABLE');
    assert.deepEqual(
      findings.map((f) => [f.table, f.severity]),
      [['apply_outside', 'info']],
    );
    assert.match(findings[0]!.message, /--follow.*outside its primary key \(parent_id\)/);
  });

  test('a call cut short after its items and before its position is applied again to the same items', async () => {
    const start = childRows(20, 4);
    const first = [update(tableFor(conn, 'apply_cut', childColumns), [1n], [1n, 1n, '1.11', UNCHANGED])];
    const second = (c: TargetTable) => [
      update(c, [2n], [22n, 2n, '22.00', UNCHANGED]),
      update(c, [22n], [23n, 2n, '23.00', UNCHANGED]),
      update(c, [3n], [3n, 3n, '3.33', UNCHANGED]),
      upsert(c, [3n, 3n, '3.34', 'replaced']),
      update(c, [3n], [3n, 3n, '3.35', UNCHANGED]),
      remove(c, [4n]),
      upsert(c, [4n, 0n, '4.00', 'back']),
      update(c, [5n], [50n, 1n, '50.00', 'whole']),
      ...Array.from({ length: 60 }, (_, i) => upsert(c, [BigInt(100 + i), 1n, '0.00', `n${i}`])),
    ];
    // once, in one go: what the target must hold in the end
    const once = await copied(conn, tableFor(conn, 'apply_once', childColumns), start);
    await conn.target!().applyChanges!(
      first.map((x) => ({ ...x, table: once })),
      'once',
      'p1',
    );
    await conn.target!().applyChanges!(second(once), 'once', 'p2');
    const expected = await held(conn, once);
    // cut short: the second call's items are written (under another stream's position), its own position is not
    const cut = await copied(conn, tableFor(conn, 'apply_cut', childColumns), start);
    await conn.target!().applyChanges!(
      first.map((x) => ({ ...x, table: cut })),
      'cut',
      'p1',
    );
    await conn.target!().applyChanges!(second(cut), 'cut, crashed', 'p2');
    assert.equal(await conn.target!().appliedPosition!('cut'), 'p1');
    await conn.target!().applyChanges!(second(cut), 'cut', 'p2');
    assert.equal(await conn.target!().appliedPosition!('cut'), 'p2');
    assert.deepEqual(await held(conn, cut), expected);
    assert.deepEqual(
      expected.filter((r) => ['1', '3', '4', '23', '50'].includes(r[0]!)),
      expectedText(
        [
          [1n, 1n, '1.11', 'note 1'],
          [3n, 3n, '3.35', 'replaced'],
          [4n, 0n, '4.00', 'back'],
          [23n, 2n, '23.00', 'note 2'],
          [50n, 1n, '50.00', 'whole'],
        ],
        childColumns,
        cut,
      ),
    );
  });
});
