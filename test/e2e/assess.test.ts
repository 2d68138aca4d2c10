// `ferry assess`: data the schema alone does not show (rows a foreign key would refuse), and
// output a person can read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { sqlitePath } from '../../src/core/url.js';
import { assess } from '../../src/pipeline/plan/assess.js';
import { freshMysql, freshPg, freshSqlite, pgExec, PG_BASE } from '../helpers.js';
import { ferry } from './support.js';

/** the shared server's wal_level (replica unless someone set it) */
const SHARED_WAL_LEVEL = String((await pgExec(`${PG_BASE}/postgres`, 'SHOW wal_level')).rows[0].wal_level);

test('assess counts the rows each foreign key would refuse, from a source that does not enforce them', async () => {
  const source = freshSqlite('assess_orphans');
  const db = new Database(sqlitePath(source));
  // as the sqlite3 shell and most applications leave it (better-sqlite3 turns it on)
  db.pragma('foreign_keys = OFF');
  db.exec(`
    CREATE TABLE artist (id INTEGER PRIMARY KEY, name TEXT);
    CREATE TABLE album (id INTEGER PRIMARY KEY, artist_id INTEGER REFERENCES artist (id), title TEXT);
    INSERT INTO artist VALUES (1, 'a'), (2, 'b');
    INSERT INTO album VALUES (1, 1, 'x'), (2, 7, 'y'), (3, 9, 'z'), (4, NULL, 'w'), (5, 2, 'v');
  `);
  db.close();
  const a = await assess({ source });
  assert.deepEqual(
    a.findings.filter((f) => f.code === 'ORPHAN_ROWS').map((f) => [f.table, f.message]),
    [['album', '2 rows of album refer to no row of artist by foreign key album_artist_id_fkey (artist_id)']],
  );
});

test('assess reads as a person reads it: a summary line first, one finding per kind with its places, references once, large objects only of large-object types', async () => {
  const source = await freshPg('ferry_assess_read');
  for (const s of [
    'CREATE TABLE lang (id int PRIMARY KEY, name text)',
    `CREATE TABLE film (id int PRIMARY KEY, title text, lang int REFERENCES lang (id), original_lang int REFERENCES lang (id),
       tags text[], poster bytea, script oid, updated timestamptz)`,
    'CREATE INDEX film_title ON film (title)',
    'CREATE INDEX lang_name ON lang (name)',
    'CREATE TABLE actor (id int PRIMARY KEY, name text, updated timestamptz)',
  ])
    await pgExec(source, s);
  const target = await freshMysql('ferry_assess_read_t');
  const a = await assess({ source, target });
  const of = (code: string) => a.groups.filter((g) => g.code === code).map((g) => [g.severity, g.message, g.places]);
  assert.deepEqual(of('TYPE_NARROWED'), [
    [
      'warning',
      'timestamp with time zone (timestamptz(6)) becomes datetime(6) in mysql: MySQL has no time zone type: the value is stored as UTC and its time zone marker is dropped',
      ['actor.updated', 'film.updated'],
    ],
    [
      'warning',
      'text[] (array<text>) becomes json in mysql: MySQL has no array type: arrays are stored as JSON arrays',
      ['film.tags'],
    ],
  ]);
  assert.deepEqual(of('INDEX_ON_TEXT'), [
    ['info', 'longtext is in an index: MySQL indexes the first 255 characters of it', ['lang.name', 'film.title']],
  ]);
  // every finding is in one group, and no group names a place twice
  assert.equal(
    a.groups.reduce((n, g) => n + Math.max(1, g.places.length), 0),
    new Set(a.findings.map((f) => JSON.stringify([f.code, f.table, f.column, f.message]))).size,
  );
  assert.deepEqual(
    a.tables.map((t) => [t.name, t.largeObjectColumns]),
    [
      ['actor', []],
      ['lang', []],
      ['film', ['script']],
    ],
  );

  const cli = ferry(['assess', '--source', source, '--target', target]);
  const lines = cli.stdout.split('\n');
  assert.match(lines[0]!, /^3 tables, 0 rows, .*; estimated copy time \d+s; \d+ warnings?, \d+ notes?$/);
  assert.equal(lines.filter((l) => l.includes('actor.updated')).length, 1);
  // film refers to lang twice, by two keys: lang once among its references
  assert.match(cli.stdout, /│ 2 +│ film +│ 0 +│ .*│ id +│ lang +│ script +│/);
});

test('assess --follow says what the source lacks to give its live changes, and a source that cannot give them', async () => {
  const pgSource = await freshPg('assess_follow');
  await pgExec(pgSource, 'CREATE TABLE keyed (id int PRIMARY KEY); CREATE TABLE loose (v int)');
  const pgFindings = (await assess({ source: pgSource, follow: true })).findings;
  const wal =
    SHARED_WAL_LEVEL === 'logical'
      ? []
      : [
          `the source's wal_level is ${SHARED_WAL_LEVEL}: its changes cannot be followed (logical replication needs wal_level = logical)`,
        ];
  assert.deepEqual(
    pgFindings.filter((f) => f.code.startsWith('CDC_')).map((f) => f.message),
    [
      ...wal,
      'loose has no primary key: its updates and deletes cannot be followed (and, once published, the source refuses them)',
    ],
  );
  assert.equal((await assess({ source: pgSource })).findings.filter((f) => f.code.startsWith('CDC_')).length, 0);
  const liteSource = freshSqlite('assess_follow');
  const lite0 = new Database(sqlitePath(liteSource));
  lite0.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
  lite0.close();
  const lite = await assess({ source: liteSource, follow: true });
  assert.deepEqual(
    lite.findings.filter((f) => f.code.startsWith('CDC_')).map((f) => [f.severity, f.message]),
    [['error', 'sqlite sources cannot give their live changes']],
  );
});
