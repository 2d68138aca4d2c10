// The DynamoDB target against dynalite (a real DynamoDB API implementation) on loopback: the
// shared target contract, the type map and encodings, DynamoDB's limits (numbers, item size),
// throttling and UnprocessedItems injected by a proxy, the write-rate cap, key collisions,
// key schemas of existing tables, indexes, shared tables, and one-line errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { dynamodbConnector } from '../../src/connectors/dynamodb/index.js';
import { epochText, fromEpoch } from '../../src/connectors/dynamodb/codec.js';
import { tupleKey } from '../../src/connectors/dynamodb/keys.js';
import type { Connector, TargetTable } from '../../src/core/contracts.js';
import { digestFingerprint } from '../../src/core/digest.js';
import { silentLogger } from '../../src/core/log.js';
import { formatType, parseType } from '../../src/core/types.js';
import { canonicalText } from '../../src/core/values.js';
import { actualText, batchesOf, collect, expectedText, tableFor, targetContract } from '../contract/target-contract.js';
import { childColumns, childRows, edgeColumns, edgeRows, parentColumns, parentRows } from '../fixtures/edge.js';
import { scanAll, startDynalite, startFaultyProxy, type LocalDynamo } from './dynamodb-local.js';
import { sourceSide } from '../../src/pipeline/session/sides.js';

const codeIs = (code: string) => (e: Error & { code?: string }) => e.code === code;
const open = (url: string, options?: Record<string, unknown>) =>
  dynamodbConnector.connect({ url, log: silentLogger, options });

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(async () => dynamo?.stop());

// numbers a DynamoDB number cannot hold (float64 extremes, NaN) are kept as strings, as the plan may say
targetContract('dynamodb', {
  open: () => open(dynamo.url, { bigNumbers: 'string' }),
  floatSpecials: true,
  constraints: false,
});

function rawClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ region: 'us-east-1', endpoint });
}

const write = (
  conn: Connector,
  table: TargetTable,
  rows: unknown[][],
  extra: { replace?: boolean; isolate?: boolean; range?: object } = {},
) =>
  conn.target!().writeChunk(
    { table, range: extra.range ?? {}, replace: extra.replace ?? false, isolate: extra.isolate ?? false },
    batchesOf(rows, 100),
  );

describe('dynamodb type map', () => {
  let conn: Connector;
  before(async () => {
    conn = await open(dynamo.url);
  });
  after(async () => conn.close());

  test('every canonical type comes back from the native type ferry writes for it', () => {
    const extra = [
      'decimal',
      'decimal(65,30)',
      'time(3)',
      'timetz(6)',
      'timestamp(0)',
      'timestamptz(3)',
      'binary(16)',
      'varbit(12)',
      'interval',
      "enum('a','it''s')",
      'array<array<int64>>',
      'array<decimal(10,2)>',
    ].map(parseType);
    for (const t of [...edgeColumns.map((c) => c.type), ...extra]) {
      const native = conn.nativeType(t).native;
      assert.equal(formatType(conn.canonicalType(native)), formatType(t), `${formatType(t)} -> ${native}`);
    }
  });

  test('native types name the attribute type and the values; the plan may pick another allowed attribute type', () => {
    assert.equal(conn.nativeType(parseType('int64')).native, 'N:int64');
    assert.equal(conn.nativeType(parseType('timestamptz(6)')).native, 'S:timestamptz(6)');
    assert.equal(conn.nativeType(parseType('jsonb')).native, 'M:jsonb');
    assert.equal(conn.nativeType(parseType("set('a','b')")).native, "SS:set('a','b')");
    assert.equal(formatType(conn.canonicalType('N:timestamp(6)')), 'timestamp(6)');
    assert.equal(formatType(conn.canonicalType('N')), 'decimal');
    assert.equal(formatType(conn.canonicalType('s')), 'text');
    assert.match(conn.nativeType(parseType('decimal(65,30)')).note ?? '', /38 significant digits/);
    assert.match(conn.nativeType(parseType('float64')).note ?? '', /NaN/);
    assert.throws(
      () => conn.canonicalType('B:int64'),
      (e: Error & { code?: string }) =>
        e.code === 'PLAN_INVALID' && /N:int64 or S:int64/.test((e as Error & { action: string }).action),
    );
    assert.throws(() => conn.canonicalType('NUMBER'), codeIs('PLAN_INVALID'));
  });

  test('epoch seconds are exact, before 1970 and with microseconds, without Date', () => {
    const cases: [string, string][] = [
      ['1970-01-01 00:00:00', '0'],
      ['1970-01-01 00:00:01.5', '1.5'],
      ['2024-02-29 12:00:00.123456', '1709208000.123456'],
      ['1969-12-31 23:59:59.999999', '-0.000001'],
      ['1899-12-31 23:59:59.000001', '-2208988800.999999'],
      ['0001-01-01 00:00:00', '-62135596800'],
    ];
    for (const [ts, epoch] of cases) {
      assert.equal(epochText(ts), epoch, ts);
      assert.equal(
        fromEpoch(epoch, 'timestamp', false),
        ts.replace(/\.?0+$/, (m) => (m.startsWith('.') ? '' : m)),
        epoch,
      );
    }
    assert.equal(epochText('2000-03-01'), '951868800');
    assert.equal(fromEpoch('951868800', 'date', false), '2000-03-01');
    assert.equal(fromEpoch('-62135596800', 'timestamp', true), '0001-01-01 00:00:00Z');
  });

  test('chunk keys order as their canonical values (integers past 2^63, decimals of any sign and size, timestamps)', () => {
    const check = (type: string, sorted: unknown[]) => {
      const key = tupleKey([parseType(type)]);
      const keys = sorted.map((v) => key([v]));
      assert.deepEqual([...keys].sort(), keys, type);
    };
    check('uint64', [-9223372036854775808n, -1n, 0n, 1n, 9223372036854775807n, 18446744073709551615n]);
    check('decimal', [
      '-1000',
      '-100.5',
      '-1.55',
      '-1.5',
      '-1',
      '-0.001',
      '0',
      '0.0001',
      '0.5',
      '1',
      '1.5',
      '1.55',
      '2',
      '10',
      '99999999999999999999999999999',
    ]);
    check('timestamp(6)', [
      '0044-03-15 00:00:00',
      '1899-12-31 23:59:59.999999',
      '1970-01-01 00:00:00',
      '1970-01-01 00:00:00.000001',
      '2024-01-01 00:00:00',
    ]);
    const pair = tupleKey([parseType('int64'), parseType('decimal')]);
    const tuples = [
      [1n, '-5'],
      [1n, '2'],
      [1n, '15'],
      [2n, '-100'],
    ];
    assert.deepEqual(tuples.map(pair).sort(), tuples.map(pair));
  });
});

describe('dynamodb encodings as the plan says', () => {
  let conn: Connector;
  let client: DynamoDBClient;
  before(async () => {
    conn = await open(dynamo.url, { nulls: 'null', bigNumbers: 'string' });
    client = rawClient(dynamo.endpoint);
  });
  after(async () => {
    client.destroy();
    await conn.close();
  });

  test('attributes have DynamoDB types readers expect: N, S (ISO 8601), B, BOOL, M, L, SS, NULL', async () => {
    const t = tableFor(conn, 'enc_default', edgeColumns);
    await conn.target!().prepare(t, 'drop');
    await write(conn, t, edgeRows.slice(1, 2).concat(edgeRows.slice(3)));
    const item = (await client.send(new GetItemCommand({ TableName: 'enc_default', Key: { id: { N: '2' } } }))).Item!;
    assert.deepEqual(item.i64, { N: '9223372036854775807' });
    assert.deepEqual(item.dec38, { N: '99999999999999999999999999999999999999' });
    assert.deepEqual(item.f32, { N: '340282350000000000000000000000000000000' });
    assert.deepEqual(item.f64, { S: '1.7976931348623157e+308' });
    assert.deepEqual(item.flag, { BOOL: true });
    assert.deepEqual(item.stamp, { S: '9999-12-31T23:59:59.999999' });
    assert.deepEqual(item.stamptz, { S: '2038-01-19T03:14:07.999999Z' });
    assert.deepEqual(item.day, { S: '9999-12-31' });
    assert.deepEqual(Buffer.from(item.blob!.B!), Buffer.from([0, 1, 0, 255, 10, 13, 92]));
    assert.deepEqual(item.doc!.M!.b!.M!.d, { BOOL: true });
    assert.deepEqual(item.doc!.M!.a!.L![1], { N: '2.5' });
    assert.deepEqual(new Set(item.perms!.SS), new Set(['read', 'admin']));
    assert.deepEqual(
      item.nums!.L!.map((n) => n.N),
      ['1', '-2', '2147483647'],
    );
    const nulls = (await client.send(new GetItemCommand({ TableName: 'enc_default', Key: { id: { N: '4' } } }))).Item!;
    assert.deepEqual(nulls.body, { NULL: true });
    assert.deepEqual(
      actualText(await collect(conn.target!().readBack(t, {}, 10)), t),
      expectedText([edgeRows[1]!, edgeRows[3]!], edgeColumns, t),
    );
  });

  test('the digest of the items a chunk put is the fingerprint of the items read back; an item changed since changes it', async () => {
    // numbers come back in DynamoDB's normal form (2.50 as 2.5): the digest does not mind
    const money = [edgeColumns[0]!, edgeColumns.find((c) => c.name === 'money')!];
    const decimals = tableFor(conn, 'enc_digest_decimals', money);
    await conn.target!().prepare(decimals, 'drop');
    const written = await write(conn, decimals, [
      [1, '2.50'],
      [2, '-0.10'],
      [3, '100.00'],
    ]);
    assert.deepEqual(await conn.target!().fingerprint!(decimals), digestFingerprint(written.digest!));

    const t = tableFor(conn, 'enc_digest', edgeColumns);
    await conn.target!().prepare(t, 'drop');
    const result = await write(conn, t, edgeRows);
    assert.equal(result.digest?.rows, edgeRows.length);
    assert.deepEqual(await conn.target!().fingerprint!(t), digestFingerprint(result.digest!));
    await client.send(
      new UpdateItemCommand({
        TableName: 'enc_digest',
        Key: { id: { N: '1' } },
        UpdateExpression: 'SET note = :n',
        ExpressionAttributeValues: { ':n': { S: 'changed' } },
      }),
    );
    const after = await conn.target!().fingerprint!(t);
    assert.equal(after?.rows, edgeRows.length);
    assert.notEqual(after?.hash, digestFingerprint(result.digest!).hash);
  });

  test('epoch numbers, JSON as text, decimals as strings, when the column types say so', async () => {
    const cols = [
      edgeColumns[0]!,
      ...['stamp', 'stamptz', 'day', 'doc', 'money'].map((n) => edgeColumns.find((c) => c.name === n)!),
    ];
    const t = tableFor(conn, 'enc_chosen', cols);
    const natives = ['N:int32', 'N:timestamp(6)', 'N:timestamptz(6)', 'N:date', 'S:json', 'S:decimal(10,2)'];
    t.columns = t.columns.map((c, i) => ({ ...c, nativeType: natives[i]!, type: conn.canonicalType(natives[i]!) }));
    await conn.target!().prepare(t, 'drop');
    const rows = edgeRows.map((r) => [r[0], ...cols.slice(1).map((c) => r[edgeColumns.indexOf(c)])]);
    await write(conn, t, rows);
    const item = (await client.send(new GetItemCommand({ TableName: 'enc_chosen', Key: { id: { N: '3' } } }))).Item!;
    assert.deepEqual(item.stamp, { N: '-2208988800.999999' });
    assert.deepEqual(item.stamptz, { N: '1709208000.123456' });
    assert.deepEqual(item.day, { N: '-2209075200' });
    assert.deepEqual(item.doc, { S: '"just a string"' });
    assert.deepEqual(item.money, { S: '0.01' });
    assert.deepEqual(actualText(await collect(conn.target!().readBack(t, {}, 10)), t), expectedText(rows, cols, t));
  });
});

describe('dynamodb limits: 38-digit numbers, no NaN, 400 KB items', () => {
  let conn: Connector;
  before(async () => {
    conn = await open(dynamo.url);
  });
  after(async () => conn.close());

  test('numbers a DynamoDB number cannot hold are refused with the reason, by valueCheck and by the write', async () => {
    const cols = [
      edgeColumns[0]!,
      { name: 'big', type: parseType('decimal(65,0)') },
      { name: 'f', type: parseType('float64') },
    ];
    const t = tableFor(conn, 'limits_numbers', cols);
    const bigCheck = conn.target!().valueCheck!(t.columns[1]!)!;
    const floatCheck = conn.target!().valueCheck!(t.columns[2]!)!;
    assert.match(bigCheck('1' + '0'.repeat(37) + '1') ?? '', /39 significant digits/);
    assert.equal(bigCheck('1' + '0'.repeat(60)), undefined);
    for (const f of [Number.NaN, Infinity, -Infinity, -0, 1e200, -1e-200]) assert.ok(floatCheck(f), String(f));
    assert.equal(floatCheck(1.5), undefined);
    assert.equal(conn.target!().valueCheck!(tableFor(conn, 'x', [edgeColumns[1]!]).columns[0]!), undefined);

    await conn.target!().prepare(t, 'drop');
    const rows = [
      [1, '12', 1.5],
      [2, '9'.repeat(39), 2.5],
      [3, '3', Number.NaN],
      [4, '4', 4.5],
    ];
    await assert.rejects(
      write(conn, t, rows),
      (e: Error & { code?: string }) => e.code === 'WRITE_FAILED' && /39 significant digits/.test(e.message),
    );
    assert.equal(await conn.target!().count(t, {}), 0, 'a refused chunk leaves nothing');
    const res = await write(conn, t, rows, { replace: true, isolate: true });
    assert.equal(res.rows, 2);
    assert.deepEqual(
      res.rejects.map((r) => r.row[0]),
      [2, 3],
    );
    assert.match(res.rejects[1]!.reason, /NaN has no DynamoDB number/);
  });

  test("an item over 400 KB (by DynamoDB's size rules) is refused with its size; the others are written", async () => {
    const t = tableFor(conn, 'limits_size', parentColumns);
    await conn.target!().prepare(t, 'drop');
    const rows = parentRows(30);
    rows[10]![1] = 'é'.repeat(205_000);
    rows[20]![1] = 'x'.repeat(409_000);
    const res = await write(conn, t, rows, { isolate: true });
    assert.equal(res.rows, 29);
    assert.equal(res.rejects.length, 1);
    assert.equal(res.rejects[0]!.row[0], 11n);
    assert.match(res.rejects[0]!.reason, /410\d{3} bytes, more than DynamoDB's limit of 409600 bytes/);
    const findings = await conn.target!().check([
      tableFor(conn, 'limits_size', [...parentColumns, { name: 'notes', type: parseType('text') }]),
    ]);
    assert.ok(findings.some((f) => f.code === 'DYNAMODB_ITEM_SIZE' && /notes/.test(f.message)));
  });
});

describe('dynamodb writes survive throttling and UnprocessedItems', () => {
  test('every item arrives exactly once through a proxy that throttles and leaves items unprocessed', async () => {
    const proxy = await startFaultyProxy(dynamo.endpoint, { throttleEvery: 3, partialEvery: 2 });
    const conn = await open(proxy.url, { writers: 4 });
    try {
      const t = tableFor(conn, 'busy', parentColumns);
      await conn.target!().prepare(t, 'drop');
      const rows = parentRows(3000);
      const res = await write(conn, t, rows);
      assert.equal(res.rows, 3000);
      assert.ok(proxy.stats.throttled > 10, `throttled ${proxy.stats.throttled} calls`);
      assert.ok(proxy.stats.unprocessedItems > 100, `${proxy.stats.unprocessedItems} unprocessed items`);
      const back = await collect(conn.target!().readBack(t, {}, 500));
      assert.deepEqual(actualText(back, t), expectedText(rows, parentColumns, t));
    } finally {
      await conn.close();
      await proxy.stop();
    }
  });

  test('the write-rate cap holds the item rate', async () => {
    const conn = await open(dynamo.url, { writeRate: 1000 });
    try {
      const t = tableFor(conn, 'capped', parentColumns);
      await conn.target!().prepare(t, 'drop');
      const started = performance.now();
      await write(conn, t, parentRows(1500));
      const seconds = (performance.now() - started) / 1000;
      assert.ok(seconds >= 1.3, `1500 items at 1000/s took ${seconds.toFixed(2)} s`);
    } finally {
      await conn.close();
    }
  });
});

describe('dynamodb keys: templates, collisions, existing tables, indexes', () => {
  let conn: Connector;
  let client: DynamoDBClient;
  before(async () => {
    conn = await open(dynamo.url);
    client = rawClient(dynamo.endpoint);
  });
  after(async () => {
    client.destroy();
    await conn.close();
  });

  test('a template without the primary key is a finding; rows that meet on a key are refused, across chunks too', async () => {
    const t = { ...tableFor(conn, 'collide', childColumns), options: { partitionKey: 'PARENT#{parent_id}' } };
    const findings = await conn.target!().check([t]);
    assert.ok(
      findings.some((f) => f.code === 'DYNAMODB_KEY_COLLISION' && /primary key/.test(f.message)),
      JSON.stringify(findings),
    );
    await conn.target!().prepare(t, 'drop');
    // childRows(n, 20) give row i the parent (i % 20) + 1: rows 1..20 have distinct parents, row 21 meets row 1
    const rows = childRows(30, 20);
    await write(conn, t, rows.slice(0, 20), { range: { upper: [21n] } });
    // a replay of the same rows is no collision
    await write(conn, t, rows.slice(0, 20), { range: { upper: [21n] }, replace: true });
    await assert.rejects(write(conn, t, rows.slice(20), { range: { lower: [21n] } }), (e: Error) =>
      /two source rows map to one item/.test(e.message),
    );
    const res = await write(conn, t, rows.slice(20), { range: { lower: [21n] }, replace: true, isolate: true });
    assert.equal(res.rows, 0);
    assert.equal(res.rejects.length, 10);
    assert.match(res.rejects[0]!.reason, /PK=PARENT#2\).*already holds the item of another source row/);
    assert.equal(await conn.target!().count(t, {}), 20);
    // within one chunk, the second row of a key is refused
    await conn.target!().prepare(t, 'truncate');
    const inChunk = await write(conn, t, rows.slice(0, 25), { isolate: true });
    assert.deepEqual(
      inChunk.rejects.map((r) => r.row[0]),
      [21n, 22n, 23n, 24n, 25n],
    );
  });

  test('a template with the primary key and separators is safe, and builds the keys it says', async () => {
    const t = {
      ...tableFor(conn, 'templated', parentColumns),
      options: { partitionKey: 'PARENT#{id}', sortKey: 'AT#{created}' },
    };
    const findings = await conn.target!().check([t]);
    assert.ok(!findings.some((f) => f.code === 'DYNAMODB_KEY_COLLISION'), JSON.stringify(findings));
    const ambiguous = { ...tableFor(conn, 'templated', parentColumns), options: { partitionKey: '{name}{id}' } };
    assert.ok(
      (await conn.target!().check([ambiguous])).some(
        (f) => f.code === 'DYNAMODB_KEY_COLLISION' && /nothing between/.test(f.message),
      ),
    );
    await conn.target!().prepare(t, 'drop');
    await write(conn, t, parentRows(5));
    const item = (
      await client.send(
        new GetItemCommand({
          TableName: 'templated',
          Key: { PK: { S: 'PARENT#3' }, SK: { S: 'AT#2024-01-01T00:00:03.000003' } },
        }),
      )
    ).Item;
    assert.equal(item?.name?.S, 'parent 3 é');
    assert.equal(item?.id?.N, '3');
    // a refused chunk takes back what it wrote, by its composite keys
    await assert.rejects(write(conn, t, [...parentRows(60, 6), [null, 'no id', '2024-01-01 00:00:00']]), (e: Error) =>
      /column id is NULL/.test(e.message),
    );
    assert.equal(await conn.target!().count(t, {}), 5);
  });

  test('an existing table with another key schema is an error before any write', async () => {
    await client.send(
      new CreateTableCommand({
        TableName: 'other_key',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'code', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'code', KeyType: 'HASH' }],
      }),
    );
    const t = tableFor(conn, 'other_key', parentColumns);
    const findings = await conn.target!().check([t]);
    assert.ok(findings.some((f) => f.code === 'DYNAMODB_TABLE_KEY' && /\(code S\).*\(id N\)/.test(f.message)));
    await assert.rejects(
      conn.target!().prepare(t, 'truncate'),
      (e: Error & { code?: string }) =>
        e.code === 'TABLE_EXISTS' &&
        /has the key \(code S\), and the plan for other_key needs \(id N\)/.test(e.message),
    );
    // an existing empty table with the right key is used as it is (tables made by infrastructure code)
    await client.send(
      new CreateTableCommand({
        TableName: 'premade',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    const premade = tableFor(conn, 'premade', parentColumns);
    await conn.target!().prepare(premade, 'fail');
    await write(conn, premade, parentRows(3));
    await assert.rejects(conn.target!().prepare(premade, 'fail'), codeIs('TABLE_EXISTS'));
  });

  test('provisioned capacity and global secondary indexes, active before the data is queried', async () => {
    const prov = await open(dynamo.url, { billing: 'provisioned', readCapacity: 7, writeCapacity: 9 });
    try {
      const t = {
        ...tableFor(prov, 'indexed', parentColumns),
        options: {
          gsis: [
            { name: 'by_name', partitionKey: { attribute: 'name' } },
            { name: 'by_day', partitionKey: { attribute: 'day', template: 'DAY#{created}' }, projection: 'KEYS_ONLY' },
          ],
        },
      };
      await prov.target!().check([t]);
      await prov.target!().prepare(t, 'drop');
      await write(prov, t, parentRows(20));
      await prov.target!().finishTable(t);
      const desc = (await client.send(new DescribeTableCommand({ TableName: 'indexed' }))).Table!;
      assert.equal(desc.ProvisionedThroughput?.WriteCapacityUnits, 9);
      assert.deepEqual(desc.GlobalSecondaryIndexes?.map((g) => [g.IndexName, g.IndexStatus]).sort(), [
        ['by_day', 'ACTIVE'],
        ['by_name', 'ACTIVE'],
      ]);
      const q = await client.send(
        new QueryCommand({
          TableName: 'indexed',
          IndexName: 'by_name',
          KeyConditionExpression: '#n = :v',
          ExpressionAttributeNames: { '#n': 'name' },
          ExpressionAttributeValues: { ':v': { S: 'parent 7 é' } },
        }),
      );
      assert.deepEqual(
        q.Items?.map((i) => i.id?.N),
        ['7'],
      );
    } finally {
      await prov.close();
    }
  });

  test('two table plans share one DynamoDB table, each item with its entity; each reads back only its own', async () => {
    const shared = { table: 'shared_app', partitionKeyAttribute: 'PK' };
    const p = {
      ...tableFor(conn, 'sp_parent', parentColumns),
      options: { ...shared, entity: 'Parent', partitionKey: 'PARENT#{id}', sortKey: 'PARENT#{id}' },
    };
    const c = {
      ...tableFor(conn, 'sp_child', [
        parentColumns[0]!,
        { name: 'parent_id', type: parseType('int64') },
        { name: 'note', type: parseType('text') },
      ]),
      options: { ...shared, entity: 'Child', partitionKey: 'PARENT#{parent_id}', sortKey: 'CHILD#{id}' },
    };
    const findings = await conn.target!().check([p, c]);
    assert.deepEqual(
      findings.filter((f) => f.severity !== 'info'),
      [],
    );
    await conn.target!().prepare(p, 'drop');
    await conn.target!().prepare(c, 'drop');
    await write(conn, p, parentRows(3));
    await write(conn, c, [
      [1n, 2n, 'a'],
      [2n, 2n, 'b'],
      [3n, 3n, 'c'],
    ]);
    const q = await client.send(
      new QueryCommand({
        TableName: 'shared_app',
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'PARENT#2' } },
      }),
    );
    assert.deepEqual(q.Items?.map((i) => `${i.entityType?.S}:${i.SK?.S}`).sort(), [
      'Child:CHILD#1',
      'Child:CHILD#2',
      'Parent:PARENT#2',
    ]);
    assert.equal(await conn.target!().count(p, {}), 3);
    assert.deepEqual((await collect(conn.target!().readBack(c, { lower: [2n] }, 10))).map((r) => r[2]).sort(), [
      'b',
      'c',
    ]);
    assert.equal((await scanAll(client, 'shared_app')).length, 6);
    // the same entity twice, or none, in a shared table is an error
    const twice = { ...c, options: { ...c.options, entity: 'Parent' } };
    assert.ok((await conn.target!().check([p, twice])).some((f) => f.code === 'DYNAMODB_ENTITY_MISSING'));
  });

  test('a keyless table gets a key from its row values, and a replay replaces it whole', async () => {
    const t = { ...tableFor(conn, 'keyless', parentColumns, []), primaryKey: [], key: [] };
    await conn.target!().prepare(t, 'drop');
    const rows = parentRows(10);
    await write(conn, t, [...rows, rows[0]!]);
    await write(conn, t, [...rows.slice(2), rows[0]!, rows[0]!], { replace: true });
    assert.equal(await conn.target!().count(t, {}), 10);
    const texts = (await collect(conn.target!().readBack(t, {}, 100))).map((r) =>
      canonicalText(r[0], parseType('int64')),
    );
    assert.deepEqual(texts.sort(), ['1', '1', '10', '3', '4', '5', '6', '7', '8', '9']);
  });
});

describe('dynamodb endpoints, options and errors in one line', () => {
  test('a bad URL, an unreachable endpoint and wrong options each say what to do', async () => {
    await assert.rejects(
      open('dynamodb://'),
      (e: Error & { code?: string }) =>
        e.code === 'URL_INVALID' && /dynamodb:\/\/REGION/.test((e as Error & { action: string }).action),
    );
    await assert.rejects(open('dynamodb://us-east-1?endpont=http://x'), codeIs('URL_INVALID'));
    await assert.rejects(
      open('dynamodb://us-east-1?endpoint=http://127.0.0.1:9'),
      (e: Error & { code?: string }) =>
        e.code === 'CONNECT_FAILED' &&
        /cannot reach DynamoDB at http:\/\/127\.0\.0\.1:9/.test(e.message) &&
        !e.message.includes('\n'),
    );
    await assert.rejects(
      open(dynamo.url, { billing: 'free' }),
      (e: Error & { code?: string }) => e.code === 'PLAN_INVALID' && /target\.options\.billing/.test(e.message),
    );
    await assert.rejects(open(dynamo.url, { writers: 0 }), codeIs('PLAN_INVALID'));
    const conn = await open(dynamo.url);
    try {
      assert.equal(conn.source, undefined, 'a target only: no source side');
      assert.throws(() => sourceSide(conn), codeIs('UNSUPPORTED'));
      const bad = { ...tableFor(conn, 'badopts', parentColumns), options: { partitionKey: 'X#{nope}' } };
      await assert.rejects(
        conn.target!().check([bad]),
        (e: Error & { code?: string }) => e.code === 'PLAN_INVALID' && /\{nope\}/.test(e.message),
      );
      const unknown = { ...tableFor(conn, 'badopts', parentColumns), options: { partitonKey: '{id}' } };
      await assert.rejects(
        conn.target!().check([unknown]),
        (e: Error & { code?: string }) => e.code === 'PLAN_INVALID' && /options of table badopts/.test(e.message),
      );
      const clash = {
        ...tableFor(conn, 'badopts', parentColumns),
        options: { partitionKey: 'P#{id}', partitionKeyAttribute: 'name' },
      };
      await assert.rejects(conn.target!().check([clash]), (e: Error) =>
        /attribute "name" is also a column/.test(e.message),
      );
    } finally {
      await conn.close();
    }
  });

  test('an endpoint from AWS_ENDPOINT_URL_DYNAMODB takes every call there, BatchWriteItem too', async () => {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
    const client = rawClient(dynamo.endpoint);
    const conn = await open('dynamodb://us-east-1');
    try {
      const t = tableFor(conn, 'env_endpoint', parentColumns);
      await conn.target!().prepare(t, 'drop');
      assert.equal((await write(conn, t, parentRows(60))).rows, 60);
      assert.equal((await scanAll(client, 'env_endpoint')).length, 60);
    } finally {
      delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
      client.destroy();
      await conn.close();
    }
  });

  test('introspect lists tables with their keys, indexes and item counts', async () => {
    const conn = await open(dynamo.url);
    try {
      const t = tableFor(conn, 'introspected', parentColumns);
      await conn.target!().prepare(t, 'drop');
      await write(conn, t, parentRows(4));
      const info = (await conn.introspect({ tables: ['introspected'] })).tables[0]!;
      assert.deepEqual(info.primaryKey, ['id']);
      assert.deepEqual(
        info.columns.map((c) => [c.name, c.nativeType, formatType(c.type)]),
        [['id', 'N', 'decimal']],
      );
      assert.equal(info.indexes.length, 0);
    } finally {
      await conn.close();
    }
  });
});
