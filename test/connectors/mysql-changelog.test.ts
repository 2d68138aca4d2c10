// The MySQL/MariaDB change log (the row binlog) against a private MariaDB that writes one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { READ_AHEAD_TRANSACTIONS } from '../../src/connectors/mysql/binlog.js';
import { addedColumns, changedTable, statementChange } from '../../src/connectors/mysql/binlog-ddl.js';
import { mysqlConnector } from '../../src/connectors/mysql/index.js';
import type { ChangeTransaction, RowChange } from '../../src/core/changes.js';
import type { ChangeLogSettings, ChangeStream, Connector, SourceTable } from '../../src/core/contracts.js';
import { FerryError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { collect } from '../contract/target-contract.js';
import { mysqlKindsTable } from '../fixtures/mysql-kinds.js';
import { freshMysql, mysqlExec } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';

const open = (url: string) => mysqlConnector.connect({ url, log: silentLogger });
const settings: ChangeLogSettings = { slot: 'ferry_test', publication: 'ferry_test', heartbeatSeconds: 1 };

async function sourceTable(conn: Connector, name: string): Promise<SourceTable> {
  const t = (await conn.introspect({ tables: [name] })).tables[0]!;
  return { name: t.name, columns: t.columns, key: t.primaryKey };
}

async function readAll(conn: Connector, table: SourceTable): Promise<unknown[][]> {
  const source = conn.source!();
  const view = await source.snapshot(1);
  try {
    return await collect(source.read(table, {}, view, 100));
  } finally {
    await view.release();
  }
}

/** Transactions with changes from the stream until `count` changes came (heartbeats left out); the stream stays open. */
async function take(stream: ChangeStream, count: number): Promise<ChangeTransaction[]> {
  const it = stream[Symbol.asyncIterator]();
  const out: ChangeTransaction[] = [];
  let seen = 0;
  while (seen < count) {
    const { value, done } = await it.next();
    assert.ok(!done, 'the stream went on');
    if (value.changes.length === 0) continue;
    out.push(value);
    seen += value.changes.length;
  }
  return out;
}

/** What the stream gives first: its error, or undefined. */
async function firstError(stream: ChangeStream): Promise<unknown> {
  try {
    for await (const tx of stream) if (tx.changes.length > 0) return undefined;
  } catch (e) {
    return e;
  } finally {
    await stream.close();
  }
}

async function oldestBinlog(url: string): Promise<string> {
  const logs = (await mysqlExec(url, 'SHOW BINARY LOGS')) as { Log_name: string }[];
  return logs[0]!.Log_name;
}

const oneLine = (e: unknown, code: string, text: RegExp) =>
  e instanceof FerryError && e.code === code && !e.message.includes('\n') && text.test(e.message);

describe('mysql: the binlog change log', () => {
  let server: PrivateMariadb;
  let url: string;
  let conn: Connector;
  const changeLog = () => conn.source!().changeLog!(settings);
  const position = async () => (await changeLog().status()).position;

  before(async () => {
    server = await privateMariadb({ binlog: true });
    url = await server.database('cdc');
    conn = await open(url);
  });
  after(async () => {
    await conn?.close();
    await server?.stop();
  });

  test('every type arrives from the binlog as the copy reads it', async () => {
    await mysqlExec(url, mysqlKindsTable('types'));
    const table = await sourceTable(conn, 'types');
    const from = await position();
    await mysqlExec(
      url,
      `SET SESSION sql_mode = '', time_zone = '+00:00';
       INSERT INTO types VALUES
        (1, -128, 255, -32768, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615, 2,
         '-12345678901234567890123456789012345.123456789012345678901234567890', 9999999999, 3.4028235e38,
         1.7976931348623157e308, 'ab  ', 'héllo wörld 🚀', 'a\\nb\\tc\\\\d', 'café', 0x0102, 0x00ff00, 0x000102ff,
         '0000-00-00', '-838:59:59.000000', '838:59:59', '0000-00-00 00:00:00.000000', '9999-12-31 23:59:59',
         '2038-01-19 03:14:07.999999', '1970-01-01 00:00:01', 0, '', 'x,z', '{"a": [1, 2.5, "x"], "b": null}',
         'ABCDEF01-2345-6789-abcd-ef0123456789', b'1', b'101010101010', 0xFFFFFFFFFFFFFFFF,
         ST_GeomFromText('LINESTRING(0 0, 1.5 2.25)', 4326), POINT(1, 2), '10.0.0.1', '2001:db8::1'),
        (2, 0, 0, 1, 0, 7, 0, 9007199254740993, 0, 0, 0.000000000000000000000000000001, -1, 0.1, 0.1, '', '', '', '',
         '', '', '', '2024-02-29', '-00:00:00.500000', '-01:02:03', '2024-02-29 23:59:59.000001', '1000-01-01 00:00:00',
         '2024-02-29 12:00:00.5', '2024-02-29 12:00:00', 2155, 'c', '', '[]', '00000000-0000-0000-0000-000000000000',
         b'0', b'0', 0, ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))'), POINT(-1.5, 1e300), '0.0.0.0', '::'),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL)`,
    );
    const copied = await readAll(conn, table);
    await mysqlExec(
      url,
      'UPDATE types SET i = i + 1, tm = ADDTIME(tm, 1) WHERE id = 2; DELETE FROM types WHERE id = 3',
    );
    const updated = await readAll(conn, table);
    const stream = changeLog().stream([table], from);
    try {
      const txs = await take(stream, 5);
      assert.deepEqual(
        txs.map((t) => t.changes.length),
        [3, 1, 1],
      );
      assert.deepStrictEqual(
        txs[0]!.changes.map((c) => (c as RowChange & { op: 'insert' }).after),
        copied,
      );
      assert.deepStrictEqual(txs[1]!.changes[0], {
        table: 'types',
        op: 'update',
        before: copied[1],
        after: updated[1],
      });
      assert.deepStrictEqual(txs[2]!.changes[0], { table: 'types', op: 'delete', before: copied[2] });
    } finally {
      await stream.close();
    }
  });

  test("the snapshot's position splits the history: the view reads what came before, the stream gives what came after", async () => {
    await mysqlExec(url, 'CREATE TABLE split (id int PRIMARY KEY, v text); INSERT INTO split VALUES (1, "before")');
    const table = await sourceTable(conn, 'split');
    const { view, position: at } = await changeLog().snapshot([table], 2);
    await mysqlExec(url, 'INSERT INTO split VALUES (2, "after"); UPDATE split SET v = "changed" WHERE id = 1');
    try {
      assert.deepEqual(await collect(conn.source!().read(table, {}, view, 100)), [[1, 'before']]);
    } finally {
      await view.release();
    }
    const stream = changeLog().stream([table], at);
    try {
      const txs = await take(stream, 2);
      assert.deepEqual(
        txs.flatMap((t) => t.changes),
        [
          { table: 'split', op: 'insert', after: [2, 'after'] },
          { table: 'split', op: 'update', before: [1, 'before'], after: [1, 'changed'] },
        ],
      );
    } finally {
      await stream.close();
    }
  });

  test('whole transactions in commit order, other tables left out, a stream opened at a position begins after it', async () => {
    await mysqlExec(
      url,
      'CREATE TABLE ta (id int PRIMARY KEY, v int); CREATE TABLE tb (id int PRIMARY KEY, v int); CREATE TABLE other (id int PRIMARY KEY)',
    );
    const tables = [await sourceTable(conn, 'ta'), await sourceTable(conn, 'tb')];
    const from = await position();
    await mysqlExec(
      url,
      `START TRANSACTION; INSERT INTO ta VALUES (1, 1); INSERT INTO other VALUES (1); INSERT INTO tb VALUES (1, 1); UPDATE ta SET v = 2; COMMIT;
       INSERT INTO other VALUES (2);
       INSERT INTO ta VALUES (2, 2);
       START TRANSACTION; INSERT INTO tb VALUES (2, 2); DELETE FROM tb WHERE id = 2; UPDATE ta SET id = 10 WHERE id = 1; COMMIT`,
    );
    const stream = changeLog().stream(tables, from);
    let txs: ChangeTransaction[];
    try {
      txs = await take(stream, 7);
    } finally {
      await stream.close();
    }
    assert.deepEqual(
      txs.map((t) => t.changes),
      [
        [
          { table: 'ta', op: 'insert', after: [1, 1] },
          { table: 'tb', op: 'insert', after: [1, 1] },
          { table: 'ta', op: 'update', before: [1, 1], after: [1, 2] },
        ],
        [{ table: 'ta', op: 'insert', after: [2, 2] }],
        [
          { table: 'tb', op: 'insert', after: [2, 2] },
          { table: 'tb', op: 'delete', before: [2, 2] },
          { table: 'ta', op: 'update', before: [1, 2], after: [10, 2] },
        ],
      ],
    );
    for (const t of txs) assert.ok(Date.parse(t.committed!) > Date.now() - 600_000);
    // from the first transaction's position: the second comes first
    const again = changeLog().stream(tables, txs[0]!.position);
    try {
      const [next] = await take(again, 1);
      assert.deepEqual(next, txs[1]);
    } finally {
      await again.close();
    }
    // nothing more: a heartbeat says where the log stands
    const idle = changeLog().stream(tables, txs[2]!.position);
    try {
      const { value } = await idle[Symbol.asyncIterator]().next();
      assert.deepEqual(value, { position: txs[2]!.position, changes: [] });
    } finally {
      await idle.close();
    }
  });

  for (const metadata of ['FULL', 'NO_LOG'])
    test(`a consumer that does not pull stops the reading; what it pulls later comes whole and in order (binlog_row_metadata=${metadata})`, async () => {
      const name = `held_${metadata.toLowerCase()}`;
      await mysqlExec(
        url,
        `SET GLOBAL binlog_row_metadata = '${metadata}'; CREATE TABLE ${name} (id int PRIMARY KEY, v text)`,
      );
      try {
        const table = await sourceTable(conn, name);
        const from = await position();
        const statements = Array.from(
          { length: 300 },
          (_, i) => `INSERT INTO ${name} VALUES (${i}, REPEAT('v', ${i}))`,
        );
        // a new connection for the binlog format to apply: the table maps of a new table come from information_schema without FULL
        await mysqlExec(url, statements.join(';'));
        const stream = changeLog().stream([table], from);
        try {
          const it = stream[Symbol.asyncIterator]();
          const first = await it.next();
          await new Promise((r) => setTimeout(r, 1000));
          const queued = (stream as unknown as { queue: unknown[] }).queue.length;
          assert.ok(queued <= READ_AHEAD_TRANSACTIONS, `${queued} transactions read ahead of the consumer`);
          const ids = [first.value as ChangeTransaction];
          while (ids.length < 300) {
            const { value } = await it.next();
            if (value.changes.length > 0) ids.push(value);
          }
          assert.deepEqual(
            ids.map((t) => t.changes),
            Array.from({ length: 300 }, (_, i) => [{ table: name, op: 'insert', after: [i, 'v'.repeat(i)] }]),
          );
        } finally {
          await stream.close();
        }
      } finally {
        await mysqlExec(url, "SET GLOBAL binlog_row_metadata = 'FULL'");
      }
    });

  test('a column added to a followed table comes described, and its rows with it from then on', async () => {
    await mysqlExec(url, 'CREATE TABLE grown (id int PRIMARY KEY, v int)');
    const table = await sourceTable(conn, 'grown');
    const from = await position();
    await mysqlExec(
      url,
      "INSERT INTO grown VALUES (1, 1); ALTER TABLE grown ADD COLUMN w varchar(10) AFTER id; INSERT INTO grown VALUES (2, 'two', 2)",
    );
    const stream = changeLog().stream([table], from);
    const seen: ChangeTransaction[] = [];
    try {
      for await (const tx of stream) {
        if (tx.changes.length > 0 || tx.added) seen.push(tx);
        if (seen.length === 3) break;
      }
    } finally {
      await stream.close();
    }
    assert.deepEqual(seen[0]!.changes, [{ table: 'grown', op: 'insert', after: [1, 1] }]);
    assert.deepEqual(
      seen[1]!.added?.map((a) => [a.table, a.column.name, a.column.nativeType, a.column.nullable]),
      [['grown', 'w', 'varchar(10)', true]],
    );
    assert.deepEqual(seen[1]!.changes, []);
    // the table's columns as the stream gives them: the added one last, whatever its place in the table
    assert.deepEqual(seen[2]!.changes, [{ table: 'grown', op: 'insert', after: [2, 2, 'two'] }]);
  });

  test('a statement that changes a followed table stops the stream with a line naming it', async () => {
    await mysqlExec(url, 'CREATE TABLE shaped (id int PRIMARY KEY, v int)');
    const table = await sourceTable(conn, 'shaped');
    const from = await position();
    await mysqlExec(
      url,
      'INSERT INTO shaped VALUES (1, 1); ALTER TABLE shaped MODIFY v bigint; INSERT INTO shaped VALUES (2, 2)',
    );
    const stream = changeLog().stream([table], from);
    const seen: ChangeTransaction[] = [];
    let error: unknown;
    try {
      for await (const tx of stream) if (tx.changes.length > 0) seen.push(tx);
    } catch (e) {
      error = e;
    } finally {
      await stream.close();
    }
    assert.deepEqual(
      seen.flatMap((t) => t.changes),
      [{ table: 'shaped', op: 'insert', after: [1, 1] }],
    );
    assert.ok(
      oneLine(error, 'UNSUPPORTED', /^shaped changed on the source \(ALTER TABLE shaped MODIFY v bigint\)/),
      String(error),
    );
  });

  test('a change of a followed table logged as a statement (a session not in ROW format) stops the stream with a line that says so', async () => {
    await mysqlExec(
      url,
      'CREATE TABLE stated (id int PRIMARY KEY, v int); CREATE TABLE unrelated (id int PRIMARY KEY)',
    );
    const table = await sourceTable(conn, 'stated');
    const from = await position();
    await mysqlExec(
      url,
      "SET SESSION binlog_format = 'STATEMENT'; INSERT INTO unrelated VALUES (100); INSERT INTO stated VALUES (1, 1)",
    );
    const error = await firstError(changeLog().stream([table], from));
    assert.ok(
      oneLine(
        error,
        'UNSUPPORTED',
        /^a change of stated was logged as a statement, not as rows \(INSERT INTO stated VALUES \(1, 1\)\): ferry reads rows only/,
      ),
      String(error),
    );
  });

  test('statements that change a followed table are told from those that do not', () => {
    const followed = new Set(['orders', 'odd`name']);
    const cases: [string, string | undefined][] = [
      ['ALTER TABLE orders ADD COLUMN x int', 'orders'],
      ['alter online ignore table `cdc`.`orders` drop column x', 'orders'],
      ['ALTER TABLE other ADD COLUMN orders int', undefined],
      ['ALTER TABLE elsewhere.orders ADD COLUMN x int', undefined],
      ['DROP TABLE IF EXISTS `a`, `orders` /* generated by server */', 'orders'],
      ['DROP TEMPORARY TABLE orders', undefined],
      ['RENAME TABLE a TO b, orders TO orders_old', 'orders'],
      ['TRUNCATE orders', 'orders'],
      ['TRUNCATE TABLE `odd``name`', 'odd`name'],
      ['CREATE OR REPLACE TABLE orders (id int)', 'orders'],
      ['CREATE TABLE orders2 LIKE orders', undefined],
      ['CREATE INDEX ix ON orders (x)', undefined],
      ['DROP DATABASE cdc', 'orders'],
      ['DROP DATABASE other', undefined],
      ['INSERT INTO orders VALUES (1)', undefined],
      // indexes, keys and table options leave the rows as they are
      ['ALTER TABLE orders ADD INDEX ix (a, b), ADD UNIQUE KEY (c)', undefined],
      ['ALTER TABLE orders ADD UNIQUE (c), DROP INDEX ix, RENAME INDEX a TO b', undefined],
      ["ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id), COMMENT = 'x, y'", undefined],
      ['ALTER TABLE orders ENGINE = InnoDB, ALGORITHM = INPLACE, LOCK = NONE', undefined],
      ['ALTER TABLE orders FORCE', undefined],
      ['ALTER TABLE orders ADD INDEX ix (a), ADD COLUMN z int', 'orders'],
      ['ALTER TABLE orders ADD PRIMARY KEY (a)', 'orders'],
      ['ALTER TABLE orders ADD CONSTRAINT pk PRIMARY KEY (a)', 'orders'],
      ['ALTER TABLE orders MODIFY a bigint', 'orders'],
      ['ALTER TABLE orders CONVERT TO CHARACTER SET latin1', 'orders'],
      ['ALTER TABLE orders RENAME TO orders2', 'orders'],
    ];
    for (const [statement, table] of cases)
      assert.equal(changedTable(statement, 'cdc', 'cdc', followed), table, statement);
    const statements: [string, string | undefined][] = [
      ['INSERT INTO orders VALUES (1)', 'orders'],
      ['UPDATE `cdc`.`orders` SET a = 1', 'orders'],
      ['/* app */ DELETE FROM other WHERE id IN (SELECT id FROM orders)', 'orders'],
      ['INSERT INTO other VALUES (1)', undefined],
      ['INSERT INTO other VALUES ("orders")', undefined],
      ['SAVEPOINT orders', undefined],
    ];
    for (const [statement, table] of statements) assert.equal(statementChange(statement, followed), table, statement);
    const added: [string, { table: string; columns: string[] } | undefined][] = [
      ['ALTER TABLE orders ADD COLUMN x int', { table: 'orders', columns: ['x'] }],
      [
        'ALTER TABLE `cdc`.`orders` ADD `y z` text AFTER a, ADD COLUMN IF NOT EXISTS w int',
        { table: 'orders', columns: ['y z', 'w'] },
      ],
      ['ALTER TABLE orders ADD INDEX ix (a), ADD COLUMN z int', { table: 'orders', columns: ['z'] }],
      ['ALTER TABLE orders ADD COLUMN z int, MODIFY a bigint', undefined],
      ['ALTER TABLE orders ADD COLUMN (a int, b int)', undefined],
      ['ALTER TABLE orders ADD PRIMARY KEY (a)', undefined],
      ['ALTER TABLE orders ADD INDEX ix (a)', undefined],
      ['ALTER TABLE other ADD COLUMN x int', undefined],
      ['ALTER TABLE elsewhere.orders ADD COLUMN x int', undefined],
    ];
    for (const [statement, columns] of added)
      assert.deepEqual(addedColumns(statement, 'cdc', 'cdc', followed), columns, statement);
  });

  test('check: a server and an account that can give their changes have nothing to say; one that cannot, what to do', async () => {
    assert.deepEqual(await changeLog().check([]), []);
    await mysqlExec(
      url,
      "CREATE USER 'reader'@'127.0.0.1'; GRANT SELECT ON *.* TO 'reader'@'127.0.0.1'; SET GLOBAL binlog_format = 'MIXED'",
    );
    const reader = await open(url.replace('root@', 'reader@'));
    try {
      const findings = await reader.source!().changeLog!(settings).check([]);
      assert.deepEqual(
        findings.map((f) => [f.severity, f.code, f.message, f.action]),
        [
          [
            'error',
            'CDC_BINLOG_FORMAT',
            'the MySQL source logs changes as MIXED, not as rows (binlog_format=ROW), so ferry cannot read them',
            "SET GLOBAL binlog_format = 'ROW' and put binlog_format=ROW in the server's configuration (RDS: the parameter group); sessions opened before keep the old format",
          ],
          [
            'error',
            'CDC_PRIVILEGE',
            'the source account reader@127.0.0.1 lacks REPLICATION SLAVE, which reading the binlog needs',
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'reader'@'127.0.0.1'",
          ],
          [
            'error',
            'CDC_PRIVILEGE',
            'the source account reader@127.0.0.1 lacks BINLOG MONITOR, which reading the binlog needs',
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'reader'@'127.0.0.1'",
          ],
        ],
      );
    } finally {
      await mysqlExec(url, "SET GLOBAL binlog_format = 'ROW'; DROP USER 'reader'@'127.0.0.1'");
      await reader.close();
    }
  });

  test('check: row images, row metadata and a short retention say what to set', async () => {
    await mysqlExec(
      url,
      "SET GLOBAL binlog_row_image = 'MINIMAL', binlog_row_metadata = 'NO_LOG', binlog_expire_logs_seconds = 3600",
    );
    try {
      const findings = await changeLog().check([]);
      assert.deepEqual(
        findings.map((f) => [f.severity, f.code, f.message, f.action]),
        [
          [
            'error',
            'CDC_ROW_IMAGE',
            'the MySQL source logs MINIMAL row images, not whole rows (binlog_row_image=FULL), so an update would not say every column',
            "SET GLOBAL binlog_row_image = 'FULL' and put it in the server's configuration (RDS: the parameter group)",
          ],
          [
            'warning',
            'CDC_ROW_METADATA',
            "the MySQL source's binlog does not name the columns of its rows (binlog_row_metadata=NO_LOG): rows logged before a column is added to a followed table cannot be read",
            "SET GLOBAL binlog_row_metadata = 'FULL' and put it in the server's configuration (RDS: the parameter group)",
          ],
          [
            'warning',
            'CDC_RETENTION',
            'the MySQL source keeps its binlog 60 minutes: a copy, or a stop of ferry, longer than that loses the changes to follow',
            "keep it longer than the copy takes and ferry may be stopped: SET GLOBAL binlog_expire_logs_seconds = 604800 (RDS: CALL mysql.rds_set_configuration('binlog retention hours', 168))",
          ],
        ],
      );
    } finally {
      await mysqlExec(
        url,
        "SET GLOBAL binlog_row_image = 'FULL', binlog_row_metadata = 'FULL', binlog_expire_logs_seconds = 0",
      );
    }
  });

  test('a server without a binlog says so', async () => {
    const shared = await open(await freshMysql('mysql_cdc_nolog'));
    try {
      const findings = await shared.source!().changeLog!(settings).check([]);
      assert.deepEqual(
        findings.map((f) => f.code),
        ['CDC_BINLOG_OFF'],
      );
    } finally {
      await shared.close();
    }
  });

  test('a server restart while streaming: the stream opens a new connection and goes on without a gap or a repeat', async () => {
    await mysqlExec(url, 'CREATE TABLE restarted (id int PRIMARY KEY)');
    const table = await sourceTable(conn, 'restarted');
    const from = await position();
    await mysqlExec(url, 'INSERT INTO restarted VALUES (1); INSERT INTO restarted VALUES (2)');
    const stream = changeLog().stream([table], from);
    try {
      const before = await take(stream, 1);
      await server.restart();
      await mysqlExec(url, 'INSERT INTO restarted VALUES (3)');
      const afterwards = await take(stream, 2);
      assert.deepEqual(
        [...before, ...afterwards].map((t) => t.changes),
        [1, 2, 3].map((id) => [{ table: 'restarted', op: 'insert', after: [id] }]),
      );
    } finally {
      await stream.close();
    }
  });

  test('a binlog purged since the position is a line that says the changes are lost and what to do', async () => {
    await mysqlExec(url, 'CREATE TABLE gone (id int PRIMARY KEY)');
    const table = await sourceTable(conn, 'gone');
    const from = await position();
    await mysqlExec(url, 'INSERT INTO gone VALUES (1); FLUSH BINARY LOGS');
    const now = (await position()).split(':')[0]!;
    // MariaDB keeps a binlog until its binlog checkpoint moved past it
    for (let i = 0; i < 50 && (await oldestBinlog(url)) !== now; i++) {
      await mysqlExec(url, `PURGE BINARY LOGS TO '${now}'`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await oldestBinlog(url), now);
    const error = await firstError(changeLog().stream([table], from));
    assert.ok(
      oneLine(
        error,
        'READ_FAILED',
        new RegExp(`no longer has the binlog from ${from.replace(/\./g, '\\.')} \\(its oldest binlog is ${now}\\)`),
      ),
      String(error),
    );
    assert.match(
      (error as FerryError).action,
      /ferry rollback --force in the plan's folder drops what the run wrote, live changes included; then ferry run PLAN --follow/,
    );
  });
});
