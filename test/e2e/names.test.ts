// Target names (issue 13, item 3): names the target cannot take or that collide there are
// changed by a rule, the plan says why beside each, assess lists them, and the run and verify
// pass with no edit; the plan's names policy (keep, lower, snake).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { parsePlan, type Plan } from '../../src/core/plan.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { assess } from '../../src/pipeline/plan/assess.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { startDynalite } from '../connectors/dynamodb-local.js';
import { freshMysql, freshPg, freshSqlite, mysqlExec, pgExec, tmpDir } from '../helpers.js';
import { ferry, planFor } from './support.js';

const LONG_PG = `col_${'x'.repeat(59)}`; // 63 bytes, PostgreSQL's longest
const LONG_SQLITE = `${'InvoiceLineDescription'.repeat(4)}`; // 88 characters

const tableOf = (plan: Plan, source: string) => plan.waves.flatMap((w) => w.tables).find((t) => t.source === source)!;

async function pgSource(): Promise<string> {
  const url = await freshPg('ferry_names_pg');
  await pgExec(
    url,
    `CREATE SCHEMA sa;
     CREATE TABLE "Foo" (id int PRIMARY KEY, "Name" text, "name" text, "${LONG_PG}" int);
     CREATE TABLE foo (id int PRIMARY KEY, "Foo_id" int REFERENCES "Foo" (id));
     CREATE TABLE sa."Foo" (id int PRIMARY KEY, note text);
     CREATE INDEX ix_name ON "Foo" ("Name");
     CREATE INDEX ix_note ON sa."Foo" (note);
     INSERT INTO "Foo" VALUES (1, 'A', 'a', 7), (2, 'B', NULL, NULL);
     INSERT INTO foo VALUES (10, 1), (11, NULL);
     INSERT INTO sa."Foo" VALUES (5, 'five');`,
  );
  return url;
}

async function sqliteSource(): Promise<string> {
  const url = freshSqlite('ferry_names_sqlite');
  const db = new Database(url.slice('sqlite:'.length));
  db.exec(`CREATE TABLE "InvoiceLine" ("InvoiceLineId" INTEGER PRIMARY KEY, "UnitPrice" NUMERIC(10,2), "${LONG_SQLITE}" TEXT, "${LONG_SQLITE}2" TEXT);
           CREATE TABLE "Order Details" ("OrderID" INTEGER PRIMARY KEY, "InvoiceLineId" INTEGER REFERENCES "InvoiceLine" ("InvoiceLineId"));
           INSERT INTO "InvoiceLine" VALUES (1, 9.99, 'a', 'b'), (2, 0.5, NULL, 'c');
           INSERT INTO "Order Details" VALUES (1, 1), (2, 2);`);
  db.close();
  return url;
}

describe('names the target takes', () => {
  test('PostgreSQL into MySQL: case variants, two schemas, a long name are made unique by a rule, commented, listed, and the copy verifies', async () => {
    const source = await pgSource();
    const target = await freshMysql('ferry_names_my');
    const { file, plan } = await planFor(source, target);
    assert.equal(plan.names, 'keep');
    // table names ignore case in MySQL (on some servers): the first keeps its name
    assert.deepEqual(plan.waves.flatMap((w) => w.tables.map((t) => [t.source, t.target])).sort(), [
      ['Foo', 'Foo'],
      ['foo', 'foo_2'],
      ['sa.Foo', 'sa_Foo'],
    ]);
    const foo = tableOf(plan, 'Foo');
    assert.deepEqual(
      foo.columns.map((c) => c.target),
      ['id', 'Name', 'name_2', LONG_PG],
    );
    // the foreign key refers to the target names
    assert.deepEqual(
      tableOf(plan, 'foo').foreignKeys.map((f) => [f.refTable, f.refColumns]),
      [['Foo', ['id']]],
    );
    const yaml = readFileSync(file, 'utf8');
    assert.match(yaml, /target: foo_2 # "foo" is taken by another table\n/);
    assert.match(yaml, /target: sa_Foo # "Foo" is taken by another table\n/);
    assert.match(yaml, /target: name_2, .*\} # "name" is taken by another column of the table\n/);
    assert.deepEqual(parsePlan(yaml), parsePlan(yaml.replace(/ #.*$/gm, '')), 'comments change nothing');

    const a = await assess({ source, target });
    const listed = a.findings.filter((f) => f.code === 'NAMES_CHANGED').map((f) => f.message);
    assert.deepEqual(listed, [
      'names shortened or changed for mysql: tables foo → foo_2 ("foo" is taken by another table), sa.Foo → sa_Foo ("Foo" is taken by another table)',
      'names shortened or changed for mysql: columns Foo.name → name_2 ("name" is taken by another column of the table)',
    ]);

    const run = await runPlan(file);
    assert.equal(run.rejects, 0);
    assert.equal(
      run.tables.reduce((n, t) => n + t.rows, 0),
      5,
    );
    assert.ok((await verifyPlan(file)).ok);
  });

  test('SQLite into PostgreSQL: lower case by default, long names cut with a hash', async () => {
    const source = await sqliteSource();
    const target = await freshPg('ferry_names_pg_target');
    const { file, plan } = await planFor(source, target);
    assert.equal(plan.names, 'lower');
    const line = tableOf(plan, 'InvoiceLine');
    assert.equal(line.target, 'invoiceline');
    const [, , long1, long2] = line.columns.map((c) => c.target);
    for (const name of [long1!, long2!]) {
      assert.equal(Buffer.byteLength(name), 63);
      assert.match(name, /^invoicelinedescription.*_[0-9a-f]{6}$/);
    }
    assert.notEqual(long1, long2);
    assert.deepEqual(tableOf(plan, 'Order Details').foreignKeys[0]!.refColumns, ['invoicelineid']);
    const yaml = readFileSync(file, 'utf8');
    assert.match(yaml, /^names: lower # target names are the source's in lower case/m);
    assert.equal(yaml.match(/# names: lower; longer than postgres's limit of 63 bytes\n/g)?.length, 2);

    const run = await runPlan(file);
    assert.equal(run.rejects, 0);
    assert.ok((await verifyPlan(file)).ok);
    // as pgloader: the tables answer to their names unquoted
    const rows = await pgExec(target, 'SELECT invoicelineid, unitprice FROM invoiceline ORDER BY 1');
    assert.deepEqual(rows.rows, [
      { invoicelineid: '1', unitprice: '9.99' },
      { invoicelineid: '2', unitprice: '0.50' },
    ]);
  });

  test('MySQL: two foreign keys of a table with a long name, which information_schema names alike, stay two', async () => {
    const source = await freshMysql('ferry_names_my_src');
    const long = `order_line_${'é'.repeat(50)}`; // 61 characters: InnoDB names its keys <table>_ibfk_1 and _2
    await mysqlExec(
      source,
      `CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);
       CREATE TABLE \`${long}\` (id int PRIMARY KEY, a int, b int, FOREIGN KEY (a) REFERENCES a (id), FOREIGN KEY (b) REFERENCES b (id));
       INSERT INTO a VALUES (1); INSERT INTO b VALUES (2); INSERT INTO \`${long}\` VALUES (1, 1, 2), (2, NULL, 2);`,
    );
    const { file, plan } = await planFor(source, `sqlite:${join(tmpDir('ferry-names-'), 'out.db')}`);
    const keys = tableOf(plan, long).foreignKeys;
    assert.deepEqual(
      keys.map((k) => [k.columns, k.refTable, k.refColumns]),
      [
        [['a'], 'a', ['id']],
        [['b'], 'b', ['id']],
      ],
    );
    assert.notEqual(keys[0]!.name, keys[1]!.name);
    assert.equal((await runPlan(file)).rejects, 0);
    assert.ok((await verifyPlan(file)).ok);
  });

  test("DynamoDB: a table's name and columns its layout names itself (PK of a table without a key) are changed, and the copy verifies", async () => {
    const dynamo = await startDynalite();
    try {
      const source = freshSqlite('ferry_names_dynamo');
      const db = new Database(source.slice('sqlite:'.length));
      db.exec(`CREATE TABLE "Order Details" ("PK" TEXT, "entityType" TEXT, qty INTEGER);
               INSERT INTO "Order Details" VALUES ('a', 'x', 1), ('b', NULL, 2);`);
      db.close();
      const { file, plan } = await planFor(source, dynamo.url);
      const t = tableOf(plan, 'Order Details');
      assert.equal(t.target, 'Order_Details');
      assert.deepEqual(
        t.columns.map((c) => c.target),
        ['PK_2', 'entityType_2', 'qty'],
      );
      assert.match(readFileSync(file, 'utf8'), /target: PK_2, .*\} # dynamodb names an attribute of its own so\n/);
      assert.equal((await runPlan(file)).rejects, 0);
      assert.ok((await verifyPlan(file)).ok);
    } finally {
      await dynamo.stop();
    }
  });

  test('ferry plan --names keep and snake; into a folder, a table name that starts with "." is no hidden folder', async () => {
    const source = await sqliteSource();
    const dir = tmpDir('ferry-names-');
    const target = await freshPg('ferry_names_pg_cli');
    const planned = (names: string) => {
      const out = join(dir, `${names}.yaml`);
      const r = ferry(['plan', '--source', source, '--target', target, '--names', names, '-o', out]);
      assert.equal(r.code, 0, r.stderr);
      return parsePlan(readFileSync(out, 'utf8'));
    };
    const keep = planned('keep');
    assert.deepEqual(
      tableOf(keep, 'InvoiceLine')
        .columns.slice(0, 2)
        .map((c) => c.target),
      ['InvoiceLineId', 'UnitPrice'],
    );
    const snake = planned('snake');
    assert.equal(snake.names, 'snake');
    assert.equal(tableOf(snake, 'Order Details').target, 'order_details');
    assert.deepEqual(
      tableOf(snake, 'InvoiceLine')
        .columns.slice(0, 2)
        .map((c) => c.target),
      ['invoice_line_id', 'unit_price'],
    );
    const bad = ferry(['plan', '--source', source, '--target', target, '--names', 'upper', '-o', join(dir, 'x.yaml')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--names <policy>' argument 'upper' is invalid. Allowed choices are keep, lower, snake/);

    const db = new Database(source.slice('sqlite:'.length));
    db.exec(`CREATE TABLE ".hidden" (id INTEGER PRIMARY KEY); INSERT INTO ".hidden" VALUES (1)`);
    db.close();
    const { file, plan } = await planFor(source, `file:${tmpDir('ferry-names-folder-')}`);
    assert.equal(tableOf(plan, '.hidden').target, 't_.hidden');
    assert.equal((await runPlan(file)).rejects, 0);
    assert.ok((await verifyPlan(file)).ok);
  });
});
