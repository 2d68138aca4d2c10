// `ferry run PLAN --follow` from MariaDB (a private server writing a row binlog) while an
// application writes: transactions over two tables, inserts, updates, deletes, primary keys
// changed, a row inserted and deleted in one transaction. Stopped with SIGTERM, or killed with
// SIGKILL at random moments and started again, the target ends equal to the source.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freshMysql, freshPg, freshSqlite, mysqlExec } from '../helpers.js';
import { mysqlKindsRows, mysqlKindsTable } from '../fixtures/mysql-kinds.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import {
  appliedPosition,
  caughtUp,
  follow,
  followKilledTenTimes,
  followWhileWriting,
  phaseOf,
  planEdit,
  seedSource,
  sourcePosition,
  stopped,
  Writer,
} from './follow-support.js';
import { ferry, planFor } from './support.js';

describe('follow: MariaDB -> every SQL target while the application writes', () => {
  let server: PrivateMariadb;
  before(async () => {
    server = await privateMariadb({ binlog: true });
  });
  after(async () => server?.stop());

  const targets: [string, () => Promise<string>][] = [
    ['PostgreSQL', () => freshPg('follow_my_pg')],
    ['MariaDB', () => freshMysql('follow_my_my')],
    ['SQLite', async () => freshSqlite('follow_my_lite')],
  ];
  for (const [name, fresh] of targets)
    test(`-> ${name}: changes during and after the copy, stopped with SIGTERM: the target equals the source`, async () => {
      const source = await server.database(`follow_${name.toLowerCase()}`);
      await seedSource(source);
      const { file, dir } = await planFor(source, await fresh(), planEdit, { rowsPerChunk: 1000 });
      await followWhileWriting(source, file, dir);
      // where the source's binlog stands, and the target holds all of it
      const status = ferry(['status', file, '--json'], { cwd: dir });
      assert.equal(status.code, 0, status.stderr);
      const { phase, stream } = JSON.parse(status.stdout) as { phase: string; stream: Record<string, unknown> };
      const at = await sourcePosition(source);
      assert.equal(phase, 'following');
      assert.equal(stream.applied, at);
      assert.equal(stream.sourcePosition, at);
      assert.equal(typeof stream.lagSeconds, 'number');
    });

  for (const [name, fresh] of targets)
    test(`-> ${name}: values of every type the source reads, copied, then inserted, updated and deleted live: the target equals the source`, async () => {
      const source = await server.database(`follow_kinds_${name.toLowerCase()}`);
      await mysqlExec(
        source,
        `SET time_zone = '+00:00'; ${mysqlKindsTable('kinds')}; INSERT INTO kinds VALUES ${mysqlKindsRows(1)}`,
      );
      const { file, dir } = await planFor(source, await fresh(), planEdit);
      const f = follow(file, dir);
      for (let i = 0; i < 600 && phaseOf(dir, 1) === 'copy'; i++) await new Promise((r) => setTimeout(r, 100));
      await mysqlExec(
        source,
        `SET time_zone = '+00:00'; INSERT INTO kinds VALUES ${mysqlKindsRows(10)};
         UPDATE kinds SET id = id + 100 WHERE id = 2;
         UPDATE kinds SET vc = 'changed', geo = ST_GeomFromText('POINT(3 4)', 3857), s = 'y', b12 = b'111' WHERE id = 1;
         UPDATE kinds SET i = 1, j = '{}' WHERE id = 12;
         DELETE FROM kinds WHERE id = 3`,
      );
      await caughtUp(dir, source);
      assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
      const verify = ferry(['verify', file], { cwd: dir });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    });

  for (const [name, fresh] of targets)
    test(`-> ${name}: killed (SIGKILL) at 10 random moments of the copy, the handoff and the stream, the same command each time: the target equals the source`, async () => {
      const source = await server.database(`follow_killed_${name.toLowerCase()}`);
      await seedSource(source);
      const { file, dir } = await planFor(source, await fresh(), planEdit, { rowsPerChunk: 500 });
      await followKilledTenTimes(source, file, dir);
    });

  test('a binlog purged while ferry was stopped: the same command says in one line that the changes are lost and what to do', async () => {
    const source = await server.database('follow_purged');
    await seedSource(source);
    const { file, dir } = await planFor(source, await freshPg('follow_my_purged'), planEdit);
    const f = follow(file, dir);
    for (let i = 0; i < 600 && appliedPosition(dir) === undefined; i++) {
      if (i % 10 === 0) await mysqlExec(source, 'UPDATE accounts SET balance = balance + 1 WHERE id = 1');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
    await mysqlExec(source, 'UPDATE accounts SET balance = balance + 1 WHERE id = 2; FLUSH BINARY LOGS');
    const newest = (await sourcePosition(source)).split(':')[0]!;
    // MariaDB keeps a binlog until its binlog checkpoint moved past it
    for (let i = 0; i < 50; i++) {
      await mysqlExec(source, `PURGE BINARY LOGS TO '${newest}'`);
      const [oldest] = (await mysqlExec(source, 'SHOW BINARY LOGS')) as { Log_name: string }[];
      if (oldest!.Log_name === newest) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const again = ferry(['run', file, '--follow'], { cwd: dir });
    assert.equal(again.code, 1, again.stderr);
    const lines = again.stderr.trim().split('\n');
    assert.equal(lines.length, 1, again.stderr);
    assert.match(
      lines[0]!,
      /^ferry: MySQL at 127\.0\.0\.1:\d+ no longer has the binlog from binlog\.\d+:\d+ \(its oldest binlog is binlog\.\d+\): the changes since then cannot be followed: copy the plan afresh \(ferry rollback --force in the plan's folder drops what the run wrote, live changes included; then ferry run PLAN --follow\)/,
    );
    // the advice, followed: the copy from a new snapshot streams from there, not from the position
    // the target kept of the copy that was rolled back (that binlog is gone)
    const rolledBack = ferry(['rollback', '--force'], { cwd: dir });
    assert.equal(rolledBack.code, 0, rolledBack.stderr);
    const writer = new Writer(source, 7);
    writer.start();
    const afresh = follow(file, dir);
    try {
      for (let i = 0; i < 600 && appliedPosition(dir) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await writer.stop();
    }
    await caughtUp(dir, source);
    assert.equal(await stopped(afresh, 'SIGTERM'), 0, afresh.stderr());
    const verify = ferry(['verify', file], { cwd: dir });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
