// Settings beyond what the servers and memory allow: a MariaDB target whose max_allowed_packet is
// smaller than a batch takes every row (statements and LOAD DATA cut to fit) and rejects, with
// the reason, only a value that fits in no statement; parallelism 10000 and batches of a billion
// rows over 100 MB of data in a process of 160 MB finish with warnings, every row there once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { freshPg, mysqlExec, pgExec } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { ferryAsync, planFor } from './support.js';

const PACKET = 64 * 1024;

describe(`bounds: a MariaDB target with max_allowed_packet ${PACKET} bytes`, () => {
  let server: PrivateMariadb;
  let source: string;
  const ROWS = 20_000;
  before(async () => {
    server = await privateMariadb({ settings: [`--max-allowed-packet=${PACKET}`] });
    source = await freshPg('ferry_bounds_packet_src');
    // rows of about 200 bytes: a batch of 1000 is three times the packet
    await pgExec(
      source,
      `CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL);
       INSERT INTO items SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, ${ROWS}) g;`,
    );
  });
  after(() => server?.stop());

  for (const [how, params] of [
    ['LOAD DATA', ''],
    ['INSERT', '?localInfile=false'],
  ] as const)
    test(`batches larger than the packet go through (${how}), every row once`, async () => {
      const target = (await server.database(`packet_${how === 'INSERT' ? 'insert' : 'load'}`)) + params;
      const { file, dir } = await planFor(source, target, (p) => (p.settings.batchRows = 1000));
      const run = await ferryAsync(['run', file], { cwd: dir });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      const [row] = (await mysqlExec(
        target.replace(params, ''),
        'SELECT count(*) AS n, count(DISTINCT id) AS d FROM items',
      )) as {
        n: number;
        d: number;
      }[];
      assert.deepEqual([Number(row!.n), Number(row!.d)], [ROWS, ROWS]);
      const verify = await ferryAsync(['verify', file], { cwd: dir });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    });

  test('a value larger than the packet is a rejected row with the reason; the others go through', async () => {
    const big = await freshPg('ferry_bounds_packet_big');
    await pgExec(
      big,
      `CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL);
       INSERT INTO items SELECT g, CASE WHEN g = 7 THEN repeat('x', ${2 * PACKET}) ELSE 'item ' || g END FROM generate_series(1, 100) g;`,
    );
    const target = await server.database('packet_big');
    const { file, dir } = await planFor(big, target, (p) => (p.settings.maxRejects = 1));
    const run = await ferryAsync(['run', file], { cwd: dir });
    assert.equal(run.code, 4, run.stdout + run.stderr);
    const rejects = readFileSync(join(dir, '.ferry', 'rejects', 'items.ndjson'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(rejects.length, 1);
    assert.match(
      JSON.parse(rejects[0]!).reason,
      new RegExp(`does not fit in one statement under the server's max_allowed_packet \\(${PACKET} bytes\\)`),
    );
    const [row] = (await mysqlExec(target, 'SELECT count(*) AS n, sum(id = 7) AS seven FROM items')) as {
      n: number;
      seven: number;
    }[];
    assert.deepEqual([Number(row!.n), Number(row!.seven)], [99, 0]);
  });
});

describe('bounds: memory', () => {
  test('parallelism 10000 and batches of a billion rows over 100 MB of rows, in a process of 160 MB: warnings, every row once', async () => {
    const ROWS = 200_000;
    const source = await freshPg('ferry_bounds_memory_src');
    await pgExec(
      source,
      `CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL);
       INSERT INTO items SELECT g, repeat(md5(g::text), 16) FROM generate_series(1, ${ROWS}) g;
       ANALYZE items;`,
    );
    const { file, dir } = await planFor(
      source,
      'sqlite:target.db',
      (p) => {
        p.settings.parallelism = 10_000;
        p.settings.batchRows = 1_000_000_000;
      },
      { rowsPerChunk: 5_000 },
    );
    const env = { NODE_OPTIONS: '--max-old-space-size=160' };
    const run = await ferryAsync(['run', file], { cwd: dir, env });
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 2, run.stderr);
    assert.match(
      lines[0]!,
      /^ferry: warning: settings\.batchRows 1000000000 is more than memory allows .*; using \d+$/,
    );
    assert.match(lines[1]!, /^ferry: warning: settings\.parallelism 10000 is more than memory allows .*; using \d+$/);
    const db = new Database(join(dir, 'target.db'), { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT count(*) AS n, count(DISTINCT id) AS d FROM items').get(), {
        n: ROWS,
        d: ROWS,
      });
    } finally {
      db.close();
    }
    const verify = await ferryAsync(['verify', file], { cwd: dir, env });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
