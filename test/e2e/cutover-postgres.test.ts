// `ferry cutover` from PostgreSQL (a private server with wal_level = logical) into PostgreSQL,
// while `ferry run --follow` runs and the application writes through an ordinary role (no
// superuser). Each abort (a failing switch hook, a freeze past --max-freeze, a target that differs,
// a lag never under --max-lag) leaves the source writable and following on; then a cutover: the
// target equals the frozen source, the application's role cannot write on the source, an insert
// without a key succeeds on the target, the follow process ends with 0.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { freshPg, pgExec, unique } from '../helpers.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { App, cutover, cutoverEvents, cutoverResult, follow, status, until, type Follower } from './cutover-support.js';
import { rowsOf } from './follow-pg-support.js';
import { oneLine, open, planFor } from './support.js';

const ACCOUNTS = 200;

describe('cutover: PostgreSQL -> PostgreSQL while an application role writes', () => {
  let server: PrivatePostgres;
  let source: string;
  let appUrl: string;
  let target: string;
  let file: string;
  let dir: string;
  let follower: Follower;
  let app: App;

  /** a connection of the application's role */
  const appConnection = async () => {
    const c = new pg.Client({ connectionString: appUrl });
    c.on('error', () => {});
    await c.connect();
    return {
      write: async (n: number) => {
        const a = 1 + (n % ACCOUNTS);
        if (n % 10 === 9) await c.query('DELETE FROM entry WHERE id = (SELECT min(id) FROM entry)');
        else if (n % 2) await c.query('UPDATE account SET balance = balance + 1 WHERE id = $1', [a]);
        else await c.query('INSERT INTO entry (account, amount) VALUES ($1, $2)', [a, n % 97]);
      },
      close: () => c.end(),
    };
  };

  /** the source is writable by the application, and ferry follows: a marker row reaches the target */
  async function writableAndFollowing(): Promise<void> {
    const r = await pgExec(appUrl, 'INSERT INTO entry (account, amount) VALUES (1, 4242) RETURNING id');
    const id = (r.rows[0] as { id: string }).id;
    await until(
      'the marker on the target',
      async () => (await pgExec(target, 'SELECT 1 FROM entry WHERE id = $1', [id])).rowCount === 1,
    );
    assert.equal(follower.child.exitCode, null, 'the follow process runs on');
    assert.equal((await status(file, dir)).phase, 'following');
  }

  before(async () => {
    server = await privatePostgres({
      settings: { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10 },
    });
    source = await server.database(unique('cutover_src'));
    const role = unique('app');
    await pgExec(
      source,
      `CREATE TABLE account (id serial PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL);
       CREATE TABLE entry (id bigserial PRIMARY KEY, account int NOT NULL, amount numeric(12,2), at timestamptz DEFAULT now());
       INSERT INTO account (name, balance) SELECT 'account ' || g, g FROM generate_series(1, ${ACCOUNTS}) g;
       INSERT INTO entry (account, amount) SELECT 1 + g % ${ACCOUNTS}, g / 10.0 FROM generate_series(1, 3000) g;
       CREATE ROLE ${role} LOGIN;
       GRANT SELECT, INSERT, UPDATE, DELETE ON account, entry TO ${role};
       GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role};`,
    );
    const u = new URL(source);
    u.username = role;
    appUrl = u.toString();
    target = await freshPg('cutover_dst');
    const slot = unique('ferry_cutover');
    ({ file, dir } = await planFor(
      source,
      target,
      (p) => {
        p.cdc = {
          slot,
          publication: slot,
          heartbeatSeconds: 1,
          batch: { transactions: 100, changes: 1000, waitMs: 100 },
        };
      },
      { rowsPerChunk: 500 },
    ));
    app = new App(appConnection).start();
    follower = follow(file, dir);
    await until('following', async () => (await status(file, dir)).phase === 'following');
  });

  after(async () => {
    await app?.stop();
    follower?.child.kill('SIGKILL');
    server?.stop();
  });

  test('a switch hook that fails: aborted, the source writable again, following on', async () => {
    const r = await cutover(file, dir, [
      '--switch-hook',
      'echo moving; echo no route >&2; exit 7',
      '--max-freeze',
      '20s',
    ]);
    assert.equal(r.code, 1);
    assert.match(
      oneLine(r.stderr),
      /^ferry: cutover aborted while running the switch hook: the switch hook exited with 7 \(moving \/ no route\); the source is writable again and following goes on: fix the hook/,
    );
    await writableAndFollowing();
  });

  test('a freeze that would pass --max-freeze: aborted by the timer, the source writable again', async () => {
    const r = await cutover(file, dir, ['--max-freeze', '1ms']);
    assert.equal(r.code, 1);
    assert.match(
      oneLine(r.stderr),
      /^ferry: cutover aborted while \w[\w ]+: the freeze would pass --max-freeze \(1 ms\); the source is writable again and following goes on/,
    );
    await writableAndFollowing();
  });

  test('a target that differs from the frozen source in a chunk the stream touched: aborted by verify', async () => {
    await pgExec(appUrl, 'UPDATE account SET name = $1 WHERE id = 7', ['touched']);
    await until(
      'the update on the target',
      async () => (await pgExec(target, 'SELECT name FROM account WHERE id = 7')).rows[0]?.name === 'touched',
    );
    await pgExec(target, "UPDATE account SET name = 'changed on the target' WHERE id = 7");
    const r = await cutover(file, dir, ['--max-freeze', '20s']);
    assert.equal(r.code, 1);
    assert.match(
      oneLine(r.stderr),
      /^ferry: cutover aborted while verifying: the target differs from the frozen source in account \(\(id\) = 7: column name \(string\): source "touched", target "changed on the target"\); the source is writable again/,
    );
    await pgExec(target, "UPDATE account SET name = 'touched' WHERE id = 7");
    await writableAndFollowing();
  });

  test('a lag never under --max-lag: nothing is frozen', async () => {
    const r = await cutover(file, dir, ['--max-lag', '0ms', '--wait', '1s']);
    assert.equal(r.code, 1);
    assert.match(
      oneLine(r.stderr),
      /^ferry: the target stayed [\d.]+ s behind the source, more than --max-lag, for 1 s: nothing was frozen/,
    );
    await writableAndFollowing();
  });

  test('cutover: the target equals the frozen source, the role cannot write on the source, an insert without a key succeeds on the target, following ends', async () => {
    const before = app.committed;
    await until('the application writing', () => app.committed > before + 20);
    const hookOut = join(dir, 'hook.env');
    const r = await cutover(file, dir, [
      '--json',
      '--max-freeze',
      '20s',
      '--switch-hook',
      `env | grep ^FERRY_ | sort > ${hookOut}`,
    ]);
    const c = cutoverResult(r);
    assert.ok(c.frozenMs >= c.drainMs + c.verifyMs, JSON.stringify(c));
    assert.deepEqual(c.sequences, { set: ['account', 'entry'], notSet: [] });
    assert.equal(await follower.exit, 0, follower.out());
    assert.match(follower.out(), /the plan is cut over/);
    await app.stop();
    assert.match(app.lastError, /read-only transaction|terminating connection/);
    // the application's role cannot write on the source, even on a new session
    await assert.rejects(
      pgExec(appUrl, 'INSERT INTO entry (account, amount) VALUES (1, 1)'),
      /cannot execute INSERT in a read-only transaction/,
    );
    const s = await open(source);
    const t = await open(target);
    try {
      for (const table of ['account', 'entry'])
        assert.deepEqual(await rowsOf(t, 'target', table), await rowsOf(s, 'source', table), table);
    } finally {
      await Promise.all([s.close(), t.close()]);
    }
    const next = (await pgExec(source, "SELECT pg_sequence_last_value('entry_id_seq')::int8 + 1 AS next")).rows[0]
      .next as string;
    const inserted = (await pgExec(target, 'INSERT INTO entry (account, amount) VALUES (1, 1) RETURNING id')).rows[0]
      .id as string;
    assert.ok(BigInt(inserted) >= BigInt(next), `${inserted} >= ${next}`);
    await pgExec(target, "INSERT INTO account (name, balance) VALUES ('after', 0)");
    assert.equal((await status(file, dir)).phase, 'cut over');
    // the hook's environment: the plan and the positions, no URL
    const env = new Map(
      readFileSync(hookOut, 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    assert.equal(env.get('FERRY_FROZEN_POSITION'), c.positions.frozen);
    assert.equal(env.get('FERRY_APPLIED_POSITION'), c.positions.applied);
    assert.equal(env.get('FERRY_PLAN'), file);
    assert.equal(env.get('FERRY_SOURCE_KIND'), 'postgres');
    assert.ok(![...env.values()].some((v) => v.includes('postgres://')));
    const events = cutoverEvents(dir);
    for (const e of [
      'writes frozen on the source',
      'the target is ready',
      'the switch hook succeeded',
      'cutover finished',
    ])
      assert.ok(events.includes(e), e);
    assert.equal(events.filter((e) => e === 'cutover aborted').length, 3);
  });
});
