// A cutover's freeze on MariaDB (a private server: read_only is server-wide): what ferry's
// account needs (Source.freezeCheck), the freeze recorded before read_only changes, and the
// record undoing it from another connection as the freeze found it (Source.thawWrites).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mysqlConnector } from '../../src/connectors/mysql/index.js';
import type { Connector, FreezeUndo } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { mysqlExec, unique } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';

let server: PrivateMariadb;
let url: string;
let name: string;
const opened: Connector[] = [];

async function open(u: string): Promise<Connector> {
  const c = await mysqlConnector.connect({ url: u, log: silentLogger });
  opened.push(c);
  return c;
}

function as(u: string, user: string): string {
  const x = new URL(u);
  x.username = user;
  return x.toString();
}

const readOnly = async () =>
  String(((await mysqlExec(url, 'SELECT @@GLOBAL.read_only AS v')) as { v: unknown }[])[0]!.v);

before(async () => {
  server = await privateMariadb();
  name = unique('freeze');
  url = await server.database(name);
  await mysqlExec(url, 'CREATE TABLE t (id int PRIMARY KEY)');
});
after(async () => {
  for (const c of opened) await c.close();
  await server?.stop();
});

describe('MariaDB freeze', () => {
  test('freezeCheck: an account without SUPER or READ_ONLY ADMIN gets one error naming the GRANT; with either, none', async () => {
    const plain = unique('plain');
    const admin = unique('roadmin');
    await mysqlExec(
      url,
      `CREATE USER '${plain}'@'%'; GRANT SELECT, INSERT ON \`${name}\`.* TO '${plain}'@'%';
       CREATE USER '${admin}'@'%'; GRANT READ_ONLY ADMIN ON *.* TO '${admin}'@'%'; GRANT SELECT ON \`${name}\`.* TO '${admin}'@'%';`,
    );
    const refused = await (await open(as(url, plain))).source!().freezeCheck!();
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.severity, 'error');
    assert.match(refused[0]!.message, new RegExp(`^'${plain}'@'%' can neither set read_only nor write while it is on`));
    assert.equal(refused[0]!.action, `GRANT READ_ONLY ADMIN ON *.* TO '${plain}'@'%'`);
    assert.deepEqual(await (await open(as(url, admin))).source!().freezeCheck!(), []);
    assert.deepEqual(await (await open(url)).source!().freezeCheck!(), []);
  });

  test('the freeze is recorded before read_only changes; the record undoes it from another connection, as it was', async () => {
    const app = unique('app');
    await mysqlExec(url, `CREATE USER '${app}'@'%'; GRANT SELECT, INSERT ON \`${name}\`.* TO '${app}'@'%';`);
    for (const [was, id] of [
      ['OFF', 1],
      ['ON', 2],
    ] as const) {
      await mysqlExec(url, `SET GLOBAL read_only = ${was}`);
      const records: FreezeUndo[] = [];
      const freeze = await (await open(url)).source!().freezeWrites!({}, (undo) => records.push(structuredClone(undo)));
      assert.equal(records.length, 1);
      assert.deepEqual(records[0], { readOnly: was });
      assert.equal(await readOnly(), '1');
      await assert.rejects(mysqlExec(as(url, app), `INSERT INTO t VALUES (${id})`), /--read-only option/);
      // another process: a connector of its own, with the record only
      await (
        await open(url)
      ).source!().thawWrites!(records[0]!);
      assert.equal(await readOnly(), was === 'ON' ? '1' : '0');
      assert.ok(freeze.steps.length > 0);
    }
    await mysqlExec(url, 'SET GLOBAL read_only = OFF');
    await mysqlExec(as(url, app), 'INSERT INTO t VALUES (3)');
    assert.deepEqual(await mysqlExec(url, 'SELECT id FROM t ORDER BY id'), [{ id: 3 }]);
  });

  test('a record of another engine is refused in one line', async () => {
    await assert.rejects((await open(url)).source!().thawWrites!({ since: 'x', settings: [] }), (e: Error) => {
      assert.match(e.message, /the recorded freeze is not one of a MySQL\/MariaDB server/);
      return true;
    });
  });
});
