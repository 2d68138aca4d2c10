// Keys whose type changes between engines: text without a length in a primary or unique key into
// MariaDB becomes varchar(n) from the longest value (within the 3072-byte key), and an unsigned
// 64-bit key into PostgreSQL (numeric(20,0)) is chunked by the source's type. The default plan
// runs and verifies with no hand edit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { assess } from '../../src/pipeline/plan/assess.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { dbName, freshMysql, mariadbClientArgs, mysqlExec, pgExec } from '../helpers.js';
import { freshDb, planFor } from './support.js';

const LONG = 'ü'.repeat(40);
const TEXT_ROWS = [
  ['alpha', 'a-1', 'first'],
  [LONG, 'b-22', 'second'],
  ['gamma', 'c-333', null],
];
const PAIRS = [
  ['x', 'yy', 1],
  ['x', 'zzz', 2],
  ['wwwww', 'yy', 3],
];

const sqlText = (v: unknown) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v)}'`);
const values = (rows: unknown[][]) => rows.map((r) => `(${r.map(sqlText).join(', ')})`).join(', ');

/**
 * tag (a text primary key, a text unique key, a text column with a plain index), pair (a composite
 * text key), tagging (a text foreign key to tag) and blobkey (a bytes primary key).
 */
async function textKeys(engine: 'postgres' | 'sqlite', name: string): Promise<string> {
  const url = await freshDb(engine, name);
  const text = engine === 'postgres' ? 'text' : 'TEXT';
  const statements = [
    `CREATE TABLE tag (name ${text} PRIMARY KEY, code ${engine === 'postgres' ? 'varchar' : 'TEXT'} NOT NULL UNIQUE, note ${text})`,
    'CREATE INDEX tag_note ON tag (note)',
    `CREATE TABLE pair (a ${text} NOT NULL, b ${text} NOT NULL, n int, PRIMARY KEY (a, b))`,
    `CREATE TABLE tagging (id int PRIMARY KEY, tag ${text} REFERENCES tag (name))`,
    `CREATE TABLE blobkey (k ${engine === 'postgres' ? 'bytea' : 'BLOB'} PRIMARY KEY)`,
    `INSERT INTO blobkey VALUES (${engine === 'postgres' ? "'\\x00ff'" : "x'00ff'"}), (${engine === 'postgres' ? "'\\x01'" : "x'01'"})`,
    `INSERT INTO tag VALUES ${values(TEXT_ROWS)}`,
    `INSERT INTO tagging VALUES (1, 'alpha'), (2, '${LONG}'), (3, NULL)`,
    `INSERT INTO pair VALUES ${values(PAIRS)}`,
  ];
  if (engine === 'postgres') for (const s of statements) await pgExec(url, s);
  else {
    const db = new Database(url.slice('sqlite:'.length));
    for (const s of statements) db.exec(s);
    db.close();
  }
  return url;
}

async function columnTypes(url: string, table: string): Promise<Record<string, string>> {
  const rows = (await mysqlExec(
    url,
    'SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [table],
  )) as { name: string; type: string }[];
  return Object.fromEntries(rows.map((r) => [r.name, r.type]));
}

describe('text keys into MariaDB', () => {
  for (const from of ['postgres', 'sqlite'] as const)
    test(`${from}: key columns become varchar(n) that hold the longest value within the key limit; the plan runs and verifies`, async () => {
      const source = await textKeys(from, `ferry_keyt_${from}`);
      const target = await freshMysql(`ferry_keyt_${from}_t`);
      const findings = (await assess({ source, target })).findings.filter((f) =>
        ['KEY_TYPE_SIZED', 'KEY_TOO_LONG', 'KEY_ON_TEXT'].includes(f.code),
      );
      assert.deepEqual(
        findings.map((f) => [f.code, f.table, f.column, f.message]).sort(),
        [
          [
            'KEY_TYPE_SIZED',
            'tag',
            'name',
            `tag.name ${from === 'postgres' ? 'text' : 'TEXT'} is in a key, which mysql indexes only for bounded values: planned as varchar(768) (its longest value has 40 characters)`,
          ],
          [
            'KEY_TYPE_SIZED',
            'tag',
            'code',
            `tag.code ${from === 'postgres' ? 'character varying' : 'TEXT'} is in a key, which mysql indexes only for bounded values: planned as varchar(768) (its longest value has 5 characters)`,
          ],
          [
            'KEY_TYPE_SIZED',
            'pair',
            'a',
            `pair.a ${from === 'postgres' ? 'text' : 'TEXT'} is in a key, which mysql indexes only for bounded values: planned as varchar(385) (its longest value has 5 characters)`,
          ],
          [
            'KEY_TYPE_SIZED',
            'pair',
            'b',
            `pair.b ${from === 'postgres' ? 'text' : 'TEXT'} is in a key, which mysql indexes only for bounded values: planned as varchar(383) (its longest value has 3 characters)`,
          ],
          [
            'KEY_TYPE_SIZED',
            'blobkey',
            'k',
            `blobkey.k ${from === 'postgres' ? 'bytea' : 'BLOB'} is in a key, which mysql indexes only for bounded values: planned as varbinary(3072) (its longest value has 2 bytes)`,
          ],
          [
            'KEY_TYPE_SIZED',
            'tagging',
            'tag',
            `tagging.tag ${from === 'postgres' ? 'text' : 'TEXT'} refers to tag.name by a foreign key, which mysql indexes only for bounded values: planned as varchar(768)`,
          ],
        ].sort(),
      );
      const { file } = await planFor(source, target);
      const run = await runPlan(file);
      assert.equal(run.rejects, 0);
      assert.equal((await verifyPlan(file)).ok, true);
      assert.deepEqual(await columnTypes(target, 'tag'), {
        name: 'varchar(768)',
        code: 'varchar(768)',
        note: 'longtext',
      });
      assert.deepEqual(await columnTypes(target, 'pair'), {
        a: 'varchar(385)',
        b: 'varchar(383)',
        n: from === 'postgres' ? 'int(11)' : 'bigint(20)',
      });
      assert.deepEqual(await columnTypes(target, 'blobkey'), { k: 'varbinary(3072)' });
      assert.deepEqual(
        ((await mysqlExec(target, 'SELECT hex(k) AS k FROM blobkey ORDER BY k')) as { k: string }[]).map((r) => r.k),
        ['00FF', '01'],
      );
      assert.deepEqual(await columnTypes(target, 'tagging'), {
        id: from === 'postgres' ? 'int(11)' : 'bigint(20)',
        tag: 'varchar(768)',
      });
      assert.deepEqual(
        await mysqlExec(
          target,
          'SELECT TABLE_NAME AS t, REFERENCED_TABLE_NAME AS ref FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()',
        ),
        [{ t: 'tagging', ref: 'tag' }],
      );
      const names = (await mysqlExec(target, 'SELECT name FROM tag ORDER BY code')) as { name: string }[];
      assert.deepEqual(
        names.map((r) => r.name),
        ['alpha', LONG, 'gamma'],
      );
    });

  test('a key whose longest values do not fit the limit is a finding that says what to do', async () => {
    const source = await freshDb('postgres', 'ferry_keyt_long');
    await pgExec(source, 'CREATE TABLE doc (body text PRIMARY KEY)');
    await pgExec(source, `INSERT INTO doc VALUES ('short'), (repeat('x', 800))`);
    const target = await freshMysql('ferry_keyt_long_t');
    // one finding: the target's check would say it again of the column (a text in a key)
    const found = (await assess({ source, target })).findings.filter((f) => f.severity === 'error');
    assert.deepEqual(
      found.map((f) => [f.severity, f.message, f.action]),
      [
        [
          'error',
          'the key (body) of doc holds values of up to 3200 bytes, more than the 3072 a mysql key takes',
          'key the table by other columns in the plan (primaryKey, uniqueKeys, indexes), or shorten the longest values in the source',
        ],
      ],
    );
  });
});

describe('keys of uuids and text into MariaDB', () => {
  // uuids PostgreSQL holds and MariaDB's uuid type refuses (version 8 and above, variant 0), and RFC ones
  const UUIDS = [
    '17580077-47db-a978-41cc-cd428078b116',
    'ffffffff-ffff-ffff-7fff-ffffffffffff',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  ];

  test('a (uuid, text) key, a unique text and an index of a uuid and a long text fit the key limit; the plan says why beside each sized column', async () => {
    const source = await freshDb('postgres', 'ferry_keyt_uuid');
    await pgExec(
      source,
      `CREATE TABLE doc (owner uuid, name text, slug text NOT NULL UNIQUE, other uuid, body varchar(1000), PRIMARY KEY (owner, name));
       CREATE INDEX doc_other_body ON doc (other, body);
       CREATE TABLE note (id int PRIMARY KEY, owner uuid, name text, FOREIGN KEY (owner, name) REFERENCES doc);
       INSERT INTO doc VALUES ${UUIDS.map((u, i) => `('${u}', 'n${i}', 's${i}', '${u}', repeat('b', 900))`).join(', ')};
       INSERT INTO note VALUES ${UUIDS.map((u, i) => `(${i}, '${u}', 'n${i}')`).join(', ')}`,
    );
    const target = await freshMysql('ferry_keyt_uuid_t');
    const { file } = await planFor(source, target);
    const run = await runPlan(file);
    assert.equal(run.rejects, 0);
    assert.equal((await verifyPlan(file)).ok, true);
    // 36 characters of a uuid and the name's in 3072 bytes
    assert.deepEqual(await columnTypes(target, 'doc'), {
      owner: 'char(36)',
      name: 'varchar(732)',
      slug: 'varchar(768)',
      other: 'char(36)',
      body: 'varchar(1000)',
    });
    assert.deepEqual(
      ((await mysqlExec(target, 'SELECT owner FROM note ORDER BY id')) as { owner: string }[]).map((r) => r.owner),
      UUIDS,
    );
    const comments = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /source: (name|slug)\b.*#/.test(l))
      .map((l) => l.slice(l.indexOf('#')));
    assert.deepEqual(comments, [
      '# varchar(732): from the data: a key column whose longest value has 2 characters, and mysql keys take at most 3072 bytes',
      '# varchar(768): from the data: a key column whose longest value has 2 characters, and mysql keys take at most 3072 bytes',
      '# varchar(732): the length of doc.name, which it refers to',
    ]);
  });
});

describe('an unsigned 64-bit key', () => {
  const ids = [
    0n,
    1n,
    2n,
    3n,
    4n,
    5n,
    9_223_372_036_854_775_807n,
    9_223_372_036_854_775_808n,
    18_446_744_073_709_551_615n,
  ];
  for (const to of ['postgres', 'sqlite', 'mysql'] as const)
    test(`MariaDB bigint unsigned into ${to}: chunked by the source's type, copied exactly, verified`, async () => {
      const source = await freshMysql(`ferry_u64_${to}`);
      execFileSync('mariadb', [...mariadbClientArgs(), dbName(source)], {
        input: `CREATE TABLE big (id bigint unsigned PRIMARY KEY, v varchar(10));
                INSERT INTO big VALUES ${ids.map((id, i) => `(${id}, 'v${i}')`).join(', ')};`,
      });
      const target = await freshDb(to, `ferry_u64_${to}_t`);
      const { file, plan } = await planFor(source, target, () => {}, { rowsPerChunk: 2 });
      const table = plan.waves[0]!.tables[0]!;
      assert.equal(
        table.columns[0]!.type,
        { postgres: 'numeric(20,0)', sqlite: 'UNSIGNED64_BLOB', mysql: 'bigint unsigned' }[to],
      );
      assert.deepEqual(table.chunking.key, ['id']);
      const run = await runPlan(file);
      assert.equal(run.rejects, 0);
      assert.equal(run.copied, ids.length);
      const v = await verifyPlan(file);
      assert.equal(v.ok, true);
      assert.ok(v.tables[0]!.chunks > 1);
      if (to === 'postgres') {
        const r = await pgExec(target, 'SELECT id::text AS id FROM big ORDER BY big.id');
        assert.deepEqual(
          r.rows.map((x: { id: string }) => x.id),
          ids.map(String),
        );
      }
    });
});
