// `ferry assess` on data the schema alone does not show: rows a foreign key would refuse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { sqlitePath } from '../../src/core/url.js';
import { assess } from '../../src/pipeline/plan/assess.js';
import { freshPg, freshSqlite, pgExec, PG_BASE } from '../helpers.js';

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
