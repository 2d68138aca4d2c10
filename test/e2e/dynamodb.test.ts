// Relational databases into DynamoDB (dynalite on loopback) as a user does it: Chinook in the
// proposed single-table design queried by parent key, PostgreSQL types table by table, kill -9
// and resume, and the rows DynamoDB cannot take (keys that collide, items over 400 KB).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import Database from 'better-sqlite3';
import { parse } from 'yaml';
import type { Plan } from '../../src/core/plan.js';
import { planToYaml } from '../../src/core/plan.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { assess } from '../../src/pipeline/plan/assess.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { startDynalite, type LocalDynamo } from '../connectors/dynamodb-local.js';
import { freshPg, pgExec, tmpDir } from '../helpers.js';
import { ferry, killMidRun, loadChinook, planFor } from './support.js';

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

async function query(input: { index?: string; key: string; value: string }): Promise<Record<string, AttributeValue>[]> {
  const out = await client.send(
    new QueryCommand({
      TableName: 'App',
      IndexName: input.index,
      KeyConditionExpression: '#k = :v',
      ExpressionAttributeNames: { '#k': input.key },
      ExpressionAttributeValues: { ':v': { S: input.value } },
    }),
  );
  return out.Items ?? [];
}

async function itemCount(table: string): Promise<number> {
  let n = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey: start }));
    n += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return n;
}

function rewritePlan(file: string, edit: (p: Plan) => void): void {
  const plan = parse(readFileSync(file, 'utf8')) as Plan;
  edit(plan);
  writeFileSync(file, planToYaml(plan));
}

describe('Chinook into a single-table design', () => {
  test('ferry plan --design single-table, run, verify; one query by a parent key returns the parent and its children', async () => {
    const source = await loadChinook('sqlite', 'dynamodb_chinook');
    const dir = tmpDir('ferry-dynamodb-e2e-');
    const plan = ferry(
      [
        'plan',
        '--source',
        source,
        '--target',
        dynamo.url,
        '--design',
        'single-table',
        '--rows-per-chunk',
        '1000',
        '-o',
        'plan.yaml',
      ],
      { cwd: dir },
    );
    assert.equal(plan.code, 0, plan.stderr);
    const text = readFileSync(join(dir, 'plan.yaml'), 'utf8');
    assert.match(text, /table: App/);
    assert.match(text, /entity: Invoice\n\s+partitionKey: CUSTOMER#\{CustomerId\}\n\s+sortKey: INVOICE#\{InvoiceId\}/);
    assert.match(text, /entity: InvoiceLine\n\s+partitionKey: INVOICE#\{InvoiceId\}/);

    const run = ferry(['run', 'plan.yaml'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /15607 rows in .* 0 rejected/);
    const verify = ferry(['verify', 'plan.yaml'], { cwd: dir });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /verify: source and target match/);
    assert.equal(await itemCount('App'), 15607);

    const db = new Database(source.slice('sqlite:'.length), { readonly: true });
    const invoices = (db.prepare('SELECT count(*) n FROM Invoice WHERE CustomerId = 1').get() as { n: number }).n;
    const lines = (db.prepare('SELECT count(*) n FROM InvoiceLine WHERE InvoiceId = 98').get() as { n: number }).n;
    db.close();
    const customer = await query({ key: 'PK', value: 'CUSTOMER#1' });
    assert.deepEqual(
      customer.filter((i) => i.entityType?.S === 'Customer').map((i) => i.FirstName?.S),
      ['Luís'],
    );
    assert.equal(customer.filter((i) => i.entityType?.S === 'Invoice').length, invoices);
    assert.equal(customer.length, invoices + 1);
    assert.equal((await query({ key: 'PK', value: 'INVOICE#98' })).length, lines);
    // the inverted index finds an item placed under its parent by its own key
    const invoice = await query({ index: 'GSI1', key: 'SK', value: 'INVOICE#98' });
    assert.deepEqual(
      invoice.map((i) => [i.entityType?.S, i.PK?.S]),
      [['Invoice', 'CUSTOMER#1']],
    );
  });
});

describe('PostgreSQL into DynamoDB, table by table', () => {
  let source: string;
  before(async () => {
    source = await freshPg('dynamodb_types_src');
    await pgExec(
      source,
      `CREATE TABLE account (id bigint PRIMARY KEY, name text NOT NULL, balance numeric(14,2), rate double precision, active boolean, opened date,
         seen timestamptz(6), doc jsonb, avatar bytea, ref uuid, tags text[], big numeric(50,0));
       INSERT INTO account SELECT g, 'account ' || g || ' ü', g * 1.25, g / 3.0, g % 2 = 0, DATE '1990-01-01' + g, TIMESTAMPTZ '2024-01-01 00:00:00.000001+00' + g * interval '1.5 second',
         jsonb_build_object('n', g, 'list', jsonb_build_array(g, 'x', null)), decode(lpad(to_hex(g), 8, '0'), 'hex'), md5(g::text)::uuid, ARRAY['a' || g, 'b'],
         CASE WHEN g = 7 THEN 10::numeric ^ 45 + 1 ELSE g END
       FROM generate_series(1, 500) g;
       UPDATE account SET doc = NULL, avatar = NULL, tags = NULL WHERE id % 10 = 0;`,
    );
  });

  test('every column an attribute of its type; verify matches; a 39-digit number is refused unless the plan says strings', async () => {
    const { file, dir } = await planFor(source, dynamo.url, (p) => (p.settings.maxRejects = 5), { rowsPerChunk: 100 });
    const plan = parse(readFileSync(file, 'utf8')) as Plan;
    const table = plan.waves[0]!.tables[0]!;
    assert.deepEqual(table.options, { partitionKey: '{id}' });
    assert.equal(table.columns.find((c) => c.source === 'seen')!.type, 'S:timestamptz(6)');
    const run = ferry(['run', file], { cwd: dir });
    assert.equal(run.code, 4, 'rows were rejected');
    const rejects = readFileSync(join(dir, '.ferry', 'rejects', 'account.ndjson'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(rejects.length, 1);
    assert.match(rejects[0]!, /46 significant digits, more than the 38 a DynamoDB number keeps/);

    const item = (await client.send(new GetItemCommand({ TableName: 'account', Key: { id: { N: '3' } } }))).Item!;
    assert.deepEqual(item.balance, { N: '3.75' });
    assert.deepEqual(item.active, { BOOL: false });
    assert.deepEqual(item.seen, { S: '2024-01-01T00:00:04.500001Z' });
    assert.deepEqual(item.doc?.M?.list?.L, [{ N: '3' }, { S: 'x' }, { NULL: true }]);
    assert.deepEqual(item.tags?.L, [{ S: 'a3' }, { S: 'b' }]);
    const nulls = (await client.send(new GetItemCommand({ TableName: 'account', Key: { id: { N: '10' } } }))).Item!;
    assert.equal(nulls.doc, undefined, 'NULL is left out by default');

    const v = await verifyPlan(file);
    assert.equal(v.tables[0]!.status, 'match', JSON.stringify(v.tables));
    assert.equal(v.tables[0]!.rejected, 1);

    // the plan says: numbers DynamoDB cannot hold become strings
    rewritePlan(file, (p) => {
      p.target.options = { ...p.target.options, bigNumbers: 'string' };
      p.target.ifExists = 'drop';
    });
    const again = ferry(['run', file], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    const big = (await client.send(new GetItemCommand({ TableName: 'account', Key: { id: { N: '7' } } }))).Item!;
    assert.deepEqual(big.big, { S: '1' + '0'.repeat(44) + '1' });
    assert.ok((await verifyPlan(file)).ok);
  });

  test('two rows that map to one key: a finding before the run, an error during it', async () => {
    const { file, dir } = await planFor(source, dynamo.url, (p) => {
      const t = p.waves[0]!.tables[0]!;
      t.target = 'account_by_day';
      // 500 accounts, and "active" has two values
      t.options = { partitionKey: 'ACTIVE#{active}' };
    });
    const run = ferry(['run', file], { cwd: dir });
    assert.equal(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stderr, /rows were rejected and the plan allows 0/);
    const rejects = readFileSync(join(dir, '.ferry', 'rejects', 'account_by_day.ndjson'), 'utf8');
    assert.match(rejects, /two source rows map to one item/);
    const state = new Database(join(dir, '.ferry', 'state.db'), { readonly: true });
    const findings = (state.prepare('SELECT finding FROM findings').pluck().all() as string[]).map(
      (f) => JSON.parse(f) as { code: string; message: string },
    );
    state.close();
    assert.ok(
      findings.some((f) => f.code === 'DYNAMODB_KEY_COLLISION' && /primary key \(id\)/.test(f.message)),
      JSON.stringify(findings),
    );
  });

  test('a key column holding empty text or bytes: assess says so, the plan keys it by a prefix and the value, every row arrives and verifies', async () => {
    const src = await freshPg('dynamodb_empty_keys_src');
    await pgExec(
      src,
      `CREATE TABLE word (w text PRIMARY KEY, n int);
       CREATE TABLE blob (b bytea, k text, v int, PRIMARY KEY (b, k));
       INSERT INTO word VALUES (''), ('a'), ('b c');
       INSERT INTO blob VALUES ('\\x', 'x', 1), ('\\x00', '', 2), ('\\x01', 'y', 3);`,
    );
    const found = (await assess({ source: src, target: dynamo.url })).findings.filter(
      (f) => f.code === 'EMPTY_KEY_VALUES',
    );
    assert.deepEqual(found.map((f) => `${f.table}.${f.column}: ${f.message}`).sort(), [
      'blob.b: blob.b is in a key and holds 1 empty value, which a dynamodb key cannot be: the plan makes the key of a literal and the value',
      'blob.k: blob.k is in a key and holds 1 empty value, which a dynamodb key cannot be: the plan makes the key of a literal and the value',
      'word.w: word.w is in a key and holds 1 empty value, which a dynamodb key cannot be: the plan makes the key of a literal and the value',
    ]);
    const { file } = await planFor(src, dynamo.url);
    const text = readFileSync(file, 'utf8');
    const plan = parse(text) as Plan;
    const options = Object.fromEntries(plan.waves.flatMap((w) => w.tables).map((t) => [t.target, t.options]));
    assert.deepEqual(options, {
      word: { partitionKey: 'WORD#{w}' },
      blob: { partitionKey: 'BLOB#{b}', sortKey: 'BLOB#{k}' },
    });
    assert.match(
      text,
      /partitionKey: WORD#\{w\} # w holds 1 empty value, which a DynamoDB key cannot be: the key is WORD# and the value/,
    );
    const run = await runPlan(file);
    assert.equal(run.rejects, 0);
    assert.equal(run.copied, 6);
    const item = (await client.send(new GetItemCommand({ TableName: 'word', Key: { PK: { S: 'WORD#' } } }))).Item!;
    assert.deepEqual(item.w, { S: '' });
    assert.ok((await verifyPlan(file)).ok);
  });

  test('an item over 400 KB is reported before the run and refused with its size during it', async () => {
    const src = await freshPg('dynamodb_large_src');
    await pgExec(
      src,
      `CREATE TABLE note (id int PRIMARY KEY, body text); INSERT INTO note SELECT g, repeat('x', CASE WHEN g = 5 THEN 500000 ELSE 100 END) FROM generate_series(1, 20) g`,
    );
    const assess = ferry(['assess', '--source', src, '--target', dynamo.url, '--json']);
    assert.equal(assess.code, 0, assess.stderr);
    const findings = (JSON.parse(assess.stdout) as { findings: { code: string; message: string }[] }).findings;
    assert.ok(
      findings.some(
        (f) =>
          f.code === 'DYNAMODB_ITEM_SIZE' &&
          /may exceed DynamoDB's 400 KB item limit when body holds large values/.test(f.message),
      ),
      JSON.stringify(findings),
    );
    const { file } = await planFor(src, dynamo.url, (p) => (p.settings.maxRejects = 1));
    const run = await runPlan(file);
    assert.equal(run.rejects, 1);
    const reason = readFileSync(run.rejectFiles[0]!, 'utf8');
    assert.match(reason, /the item is at least 500\d{3} bytes, more than DynamoDB's limit of 409600 bytes/);
    assert.equal(await itemCount('note'), 19);
  });
});

describe('kill -9 in the middle of a table, then run again', () => {
  test('every row exactly once in DynamoDB, verified', async () => {
    const ROWS = 40_000;
    const source = await freshPg('dynamodb_resume_src');
    await pgExec(
      source,
      `CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, amount numeric(12,2), at timestamp(6)); INSERT INTO events SELECT g, 'kind ' || (g % 7), g / 100.0, TIMESTAMP '2024-01-01' + g * interval '1.000001 second' FROM generate_series(1, ${ROWS}) g`,
    );
    const { file, dir } = await planFor(source, dynamo.url, (p) => (p.settings.batchRows = 1000), {
      rowsPerChunk: 2000,
    });
    await killMidRun(file, dir);
    const partial = await itemCount('events');
    assert.ok(partial > 0 && partial < ROWS, `killed mid-table with ${partial} items written`);

    const again = ferry(['run', file], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await itemCount('events'), ROWS);
    const v = await verifyPlan(file);
    assert.ok(v.ok, JSON.stringify(v.tables));
    assert.equal(v.tables[0]!.targetRows, ROWS);
  });
});
