// `ferry assess` on data the schema alone does not show: rows a foreign key would refuse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { sqlitePath } from '../../src/core/url.js';
import { assess } from '../../src/pipeline/plan/assess.js';
import { freshSqlite } from '../helpers.js';

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
