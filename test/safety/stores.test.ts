// Rollback and the dry run on object storage (a folder, a real S3 API server) and DynamoDB
// (dynalite): a rollback removes exactly what the run wrote (the table folders; the entities'
// items, and the DynamoDB table when nothing else is left in it) and refuses when anything
// changed since; a dry run writes its sample to a scratch prefix or a scratch table only, and
// leaves the target exactly as it was.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FerryError } from '../../src/core/errors.js';
import { allTables, type Plan } from '../../src/core/plan.js';
import { dryRun } from '../../src/pipeline/copy/dryrun.js';
import { rollbackRun } from '../../src/pipeline/safety/rollback.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { scanAll, startDynalite, type LocalDynamo } from '../connectors/dynamodb-local.js';
import { startS3, type S3Server } from '../connectors/objectstore-servers.js';
import { tmpDir } from '../helpers.js';
import { ferry, planFor } from '../e2e/support.js';
import { shop } from './shop.js';

const refusedAsChanged = (what: RegExp) => (e: unknown) =>
  e instanceof FerryError && e.code === 'TARGET_CHANGED' && what.test(e.message);

/** An object store target, and a way to look at it that does not go through ferry. */
interface Lake {
  url: string;
  /** every object ("key size version"); for a folder also every folder ("path/") */
  listing(): Promise<string[]>;
  put(key: string, body: string): Promise<void>;
  get(key: string): Promise<string>;
}

function folderLake(): Lake {
  const root = tmpDir('ferry-safety-lake-');
  return {
    url: `file:${root}`,
    listing: async () =>
      readdirSync(root, { recursive: true, withFileTypes: true })
        .map((e) => {
          const path = relative(root, join(e.parentPath, e.name));
          if (e.isDirectory()) return `${path}/`;
          const st = statSync(join(root, path));
          return `${path} ${st.size} ${st.mtimeMs}`;
        })
        .sort(),
    put: async (key, body) => {
      mkdirSync(dirname(join(root, key)), { recursive: true });
      writeFileSync(join(root, key), body);
    },
    get: async (key) => readFileSync(join(root, key), 'utf8'),
  };
}

function s3Lake(s3: S3Server, client: S3Client, prefix: string): Lake {
  return {
    url: s3.url(prefix),
    listing: async () => {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/`, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) out.push(`${o.Key!.slice(prefix.length + 1)} ${o.Size} ${o.ETag}`);
        token = page.NextContinuationToken;
      } while (token);
      return out.sort();
    },
    put: async (key, body) =>
      void (await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${key}`, Body: body }))),
    get: async (key) =>
      (
        await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${key}` }))
      ).Body!.transformToString(),
  };
}

describe('object storage', () => {
  let s3: S3Server;
  let client: S3Client;
  before(async () => {
    s3 = await startS3();
    client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true });
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });
  const kinds: [string, string, (prefix: string) => Lake][] = [
    ['folder', 'a folder', () => folderLake()],
    ['s3', 'an S3 API server', (prefix) => s3Lake(s3, client, prefix)],
  ];

  for (const [tag, kind, lakeOf] of kinds) {
    test(`${kind}: rollback removes the run's table folders and nothing else; an object added or rewritten since stops it unless forced`, async () => {
      const lake = lakeOf('rollback');
      await lake.put('notes/readme.txt', "the lake's own");
      // a folder whose name starts with a table's
      await lake.put('orders_2019/part-0.csv', 'id\n1\n');
      const before = await lake.listing();
      const { file, dir } = await planFor(shop(`ferry_safety_st_rb_${tag}`, 50), lake.url, () => {}, {
        rowsPerChunk: 40,
      });
      await runPlan(file);
      const written = (await lake.listing()).filter((o) => !before.includes(o));
      assert.ok(
        written.some((o) => o.startsWith('customer/_manifest.json ')) &&
          written.some((o) => o.startsWith('orders/_manifest.json ')),
        written.join('\n'),
      );
      const stateDir = join(dir, '.ferry');
      // untouched, the lake matches what the run recorded as it finished each table
      const unchanged = await rollbackRun({ stateDir, check: true });
      assert.deepEqual(
        unchanged.steps.map((s) => [s.table, s.action, s.blocker]),
        [
          ['customer', 'drop', undefined],
          ['orders', 'drop', undefined],
        ],
      );

      // the application writes a file into a table folder
      await lake.put('orders/part-extra.csv', 'id\n9999\n');
      const changed = await lake.listing();
      await assert.rejects(
        rollbackRun({ stateDir }),
        refusedAsChanged(
          /^refusing to roll back run \S+: orders changed since the run left it \(150 rows then, 150 rows now, with other content\)$/,
        ),
      );
      assert.deepEqual(await lake.listing(), changed, 'nothing was touched');
      // and rewrites an object with other bytes of the same size
      const manifest = await lake.get('customer/_manifest.json');
      await lake.put('customer/_manifest.json', manifest.replace('"ferry": 1', '"ferry": 2'));
      await assert.rejects(
        rollbackRun({ stateDir }),
        refusedAsChanged(
          /: customer changed since the run left it \(50 rows then, 50 rows now, with other content\) \(and 1 more\)$/,
        ),
      );

      const check = await rollbackRun({ stateDir, check: true });
      assert.deepEqual(
        check.steps.map((s) => [s.table, s.action, !!s.blocker]),
        [
          ['customer', 'drop', true],
          ['orders', 'drop', true],
        ],
      );
      const forced = await rollbackRun({ stateDir, force: true });
      assert.ok(forced.done);
      assert.deepEqual(await lake.listing(), before, "exactly the lake's own objects are left");
    });

    test(`${kind}: ferry test samples into a hidden scratch prefix, verifies, and leaves the lake exactly as it was`, async () => {
      const lake = lakeOf('dryrun');
      await lake.put('notes/readme.txt', "the lake's own");
      // the real tables hold data already: the lake as an earlier run left it
      const { file } = await planFor(shop(`ferry_safety_st_dry_${tag}`, 300), lake.url, () => {}, {
        rowsPerChunk: 200,
      });
      await runPlan(file);
      const before = await lake.listing();

      const r = await dryRun(file, { sample: 100 });
      assert.ok(r.ok, JSON.stringify(r.findings));
      assert.deepEqual(
        r.tables.map((t) => [t.table, t.scratch, t.match, t.sampled >= 100 && t.written === t.sampled]),
        [
          ['customer', `${r.suffix}/customer`, true, true],
          ['orders', `${r.suffix}/orders`, true, true],
        ],
      );
      assert.deepEqual(await lake.listing(), before, 'the scratch prefix is gone, and nothing else changed');

      // kept, the sample is under the scratch prefix only, which Hive, Spark and Athena skip
      const kept = await dryRun(file, { sample: 100, keep: true });
      assert.deepEqual(kept.kept, [`${kept.suffix}/customer`, `${kept.suffix}/orders`]);
      assert.match(kept.suffix, /^__ferrytest_[0-9a-f]{6}$/);
      const now = await lake.listing();
      assert.deepEqual(
        now.filter((o) => !o.startsWith(`${kept.suffix}/`)),
        before,
      );
      assert.ok(
        now.some((o) => o.startsWith(`${kept.suffix}/orders/_manifest.json `)),
        now.join('\n'),
      );
    });
  }
});

describe('DynamoDB', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  before(async () => {
    dynamo = await startDynalite();
    client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint });
  });
  after(async () => {
    client?.destroy();
    await dynamo?.stop();
  });

  /** The account's tables but ferry's own (its lock table, kept for the next command). */
  async function tables(): Promise<string[]> {
    return ((await client.send(new ListTablesCommand({}))).TableNames ?? [])
      .filter((t) => !t.startsWith('_ferry_'))
      .sort();
  }

  /** Every item of a table, each as JSON with its attributes in order. */
  async function items(table: string): Promise<string[]> {
    return (await scanAll(client, table))
      .map((item) => JSON.stringify(Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : 1)))))
      .sort();
  }

  const put = (table: string, item: Record<string, string>) =>
    client.send(
      new PutItemCommand({
        TableName: table,
        Item: Object.fromEntries(Object.entries(item).map(([k, v]) => [k, { S: v }])),
      }),
    );

  /** A table of the application's, keyed as the single-table design below keys its items, with its inverted index. */
  async function appTable(name: string): Promise<void> {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [
          { AttributeName: 'PK', AttributeType: 'S' },
          { AttributeName: 'SK', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: [
          {
            IndexName: 'GSI1',
            KeySchema: [
              { AttributeName: 'SK', KeyType: 'HASH' },
              { AttributeName: 'PK', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    await active(name);
  }

  /** A new table takes writes only once it is active (dynalite too, a moment after CreateTable returns). */
  async function active(name: string): Promise<void> {
    await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: name });
  }

  /** A table keyed by a number "id", as the one-table-per-source design keys the shop's tables. */
  async function idTable(name: string): Promise<void> {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await active(name);
  }

  /** Customers and their orders as two entities of one DynamoDB table, orders under their customer. */
  const singleTable = (table: string) => (p: Plan) => {
    p.target.options = { table };
    for (const t of allTables(p))
      t.options =
        t.source === 'customer'
          ? { entity: 'Customer', partitionKey: 'CUSTOMER#{id}', sortKey: 'CUSTOMER#{id}' }
          : {
              entity: 'Order',
              partitionKey: 'CUSTOMER#{customer_id}',
              sortKey: 'ORDER#{id}',
              gsis: [{ name: 'GSI1', partitionKey: { attribute: 'SK' }, sortKey: { attribute: 'PK' } }],
            };
  };

  /** One DynamoDB table per source table, named with a prefix of the test's own. */
  const perTable = (prefix: string) => (p: Plan) => {
    for (const t of allTables(p)) t.options = { ...t.options, table: `${prefix}_${t.target}` };
  };

  test('single-table design, two entities in a table the run created: rollback removes their items and the table, nothing else', async () => {
    await appTable('Unrelated');
    await put('Unrelated', { PK: 'A', SK: 'B', note: "not ferry's" });
    const before = await tables();
    const { file, dir } = await planFor(shop('ferry_safety_st_ddb_created', 50), dynamo.url, singleTable('Shop1'));
    assert.equal(ferry(['run', file], { cwd: dir }).code, 0);
    assert.equal((await items('Shop1')).length, 200);

    const r = ferry(['rollback', '--state-dir', join(dir, '.ferry')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /customer .*drop .*the run created it/);
    assert.deepEqual(await tables(), before, "Shop1 is deleted with the last entity's items");
    assert.deepEqual(await items('Unrelated'), [
      JSON.stringify({ PK: { S: 'A' }, SK: { S: 'B' }, note: { S: "not ferry's" } }),
    ]);
  });

  test("single-table design in a table that holds the application's items: an item added since stops the rollback; --force removes exactly the entities' items and keeps the table", async () => {
    await appTable('Shop2');
    await put('Shop2', { PK: 'CONFIG', SK: 'CONFIG', entityType: 'Config', currency: 'EUR' });
    const theirs = await items('Shop2');
    const { file, dir } = await planFor(shop('ferry_safety_st_ddb_shared', 50), dynamo.url, (p) => {
      singleTable('Shop2')(p);
      // the table is the application's: never drop it
      p.target.ifExists = 'fail';
    });
    assert.equal(ferry(['run', file], { cwd: dir }).code, 0);
    assert.equal((await items('Shop2')).length, 201);
    const stateDir = join(dir, '.ferry');

    // the application writes a customer of its own
    await put('Shop2', {
      PK: 'CUSTOMER#51',
      SK: 'CUSTOMER#51',
      entityType: 'Customer',
      name: 'signed up after the move',
    });
    await assert.rejects(
      rollbackRun({ stateDir }),
      refusedAsChanged(/: customer changed since the run left it \(50 rows then, 51 rows now\)$/),
    );
    assert.equal((await items('Shop2')).length, 202, 'nothing was touched');

    const forced = ferry(['rollback', '--force', '--state-dir', stateDir]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok((await tables()).includes('Shop2'), "the table holds the application's items: it stays");
    assert.deepEqual(await items('Shop2'), theirs);
  });

  test('single-table design: an entity that had items before the run was emptied by it, not created, and rollback says so', async () => {
    await appTable('Shop4');
    await put('Shop4', { PK: 'CONFIG', SK: 'CONFIG', entityType: 'Config', currency: 'EUR' });
    await put('Shop4', {
      PK: 'CUSTOMER#77',
      SK: 'CUSTOMER#77',
      entityType: 'Customer',
      name: 'from an earlier import',
    });
    const { file, dir } = await planFor(shop('ferry_safety_st_ddb_truncate', 50), dynamo.url, (p) => {
      singleTable('Shop4')(p);
      p.target.ifExists = 'truncate';
    });
    await runPlan(file);
    const stateDir = join(dir, '.ferry');
    const check = await rollbackRun({ stateDir, check: true });
    assert.deepEqual(
      check.steps.map((s) => [s.table, s.action, s.reason, s.blocker]),
      [
        [
          'customer',
          'empty',
          'the run emptied and filled it; no pre-run backup',
          'customer existed before the run, which truncated it, and no pre-run backup holds it: its earlier rows cannot be brought back (set settings.backup.before for next time)',
        ],
        ['orders', 'drop', 'the run created it', undefined],
      ],
    );
    await rollbackRun({ stateDir, force: true });
    assert.deepEqual(await items('Shop4'), [
      JSON.stringify({ PK: { S: 'CONFIG' }, SK: { S: 'CONFIG' }, currency: { S: 'EUR' }, entityType: { S: 'Config' } }),
    ]);
  });

  test('one table per source table: rollback deletes the tables the run created; an item changed since stops it unless forced', async () => {
    await appTable('Unrelated2');
    await put('Unrelated2', { PK: 'A', SK: 'B' });
    const before = await tables();
    const { file, dir } = await planFor(shop('ferry_safety_st_ddb_per', 50), dynamo.url, perTable('rb'));
    assert.equal(ferry(['run', file], { cwd: dir }).code, 0);
    assert.deepEqual(await tables(), [...before, 'rb_customer', 'rb_orders'].sort());
    const stateDir = join(dir, '.ferry');

    // the application changes an order
    await client.send(
      new PutItemCommand({
        TableName: 'rb_orders',
        Item: { id: { N: '7' }, customer_id: { N: '8' }, total: { N: '1000' } },
      }),
    );
    await assert.rejects(
      rollbackRun({ stateDir }),
      refusedAsChanged(/: orders changed since the run left it \(150 rows then, 150 rows now, with other content\)$/),
    );
    assert.deepEqual(await tables(), [...before, 'rb_customer', 'rb_orders'].sort(), 'nothing was touched');

    const forced = ferry(['rollback', '--force', '--state-dir', stateDir]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(await tables(), before);
    assert.deepEqual(await items('Unrelated2'), [JSON.stringify({ PK: { S: 'A' }, SK: { S: 'B' } })]);
  });

  test('ferry test, single-table design: both entities sampled into one scratch table, verified; the real table and its items are untouched', async () => {
    // the real table holds the application's items, and a customer whose key the sample also has
    await appTable('Shop3');
    await put('Shop3', { PK: 'CONFIG', SK: 'CONFIG', entityType: 'Config', currency: 'EUR' });
    await put('Shop3', { PK: 'CUSTOMER#1', SK: 'CUSTOMER#1', entityType: 'Customer', name: 'the live customer 1' });
    const beforeTables = await tables();
    const beforeItems = await items('Shop3');
    const { file, dir } = await planFor(shop('ferry_safety_st_ddb_dry', 300), dynamo.url, singleTable('Shop3'));

    const r = ferry(['test', file, '--sample', '100', '--json'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const result = JSON.parse(r.stdout) as {
      suffix: string;
      tables: { table: string; scratch: string; sampled: number; written: number; match: boolean }[];
    };
    assert.deepEqual(
      result.tables.map((t) => [t.table, t.scratch, t.match, t.sampled >= 100 && t.written === t.sampled]),
      [
        ['customer', `Shop3${result.suffix}`, true, true],
        ['orders', `Shop3${result.suffix}`, true, true],
      ],
    );
    assert.deepEqual(await tables(), beforeTables, 'the scratch table is deleted');
    assert.deepEqual(await items('Shop3'), beforeItems);
  });

  test('ferry test, one table per source table: scratch tables beside the real ones, deleted after; the real tables are untouched', async () => {
    // the real customer table holds a customer whose key the sample also has
    await idTable('dry_customer');
    const live = { id: { N: '1' }, name: { S: 'the live customer 1' } };
    await client.send(new PutItemCommand({ TableName: 'dry_customer', Item: live }));
    const beforeTables = await tables();
    const { file, dir } = await planFor(shop('ferry_safety_st_ddb_dry_per', 300), dynamo.url, perTable('dry'));

    const r = ferry(['test', file, '--sample', '100'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /scratch tables dropped: dry_customer(__ferrytest_[0-9a-f]{6}), dry_orders\1\n/);
    assert.deepEqual(await tables(), beforeTables);
    assert.deepEqual(await items('dry_customer'), [JSON.stringify(live)]);
  });
});
