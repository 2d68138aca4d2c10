// How many live changes the MySQL/MariaDB source reads a second from its row binlog
// (ChangeLog.stream), without a target: `npm run build && node dist/bench/binlog-rate.js`. A
// private MariaDB writing a ROW binlog (test/private-mariadb.ts) gets an application's
// transactions first: an order inserted and its customer's balance updated, now and then an
// order changed or deleted, BINLOG_CHANGES changes in all; then one stream reads them from the
// position before, as fast as it is pulled.
import mysql from 'mysql2/promise';
import { connect } from '../src/connectors/index.js';
import type { SourceTable } from '../src/core/contracts.js';
import { silentLogger } from '../src/core/log.js';
import { privateMariadb } from '../test/private-mariadb.js';

const CUSTOMERS = 10_000;
/** transactions a statement of the writer sends at once */
const PER_QUERY = 200;

async function main(): Promise<void> {
  const total = Number(process.env.BINLOG_CHANGES ?? 200_000);
  const server = await privateMariadb({ binlog: true });
  try {
    const url = await server.database('bench_binlog');
    const app = await mysql.createConnection({ uri: url, multipleStatements: true });
    await app.query(
      `CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(100), balance decimal(14,2), updated datetime(6));
       CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, amount decimal(12,2), note text, at timestamp(6) NULL);
       INSERT INTO customers SELECT seq, CONCAT('customer ', seq), 0, NOW(6) FROM seq_1_to_${CUSTOMERS}`,
    );
    const conn = await connect(url, silentLogger);
    const tables: SourceTable[] = (await conn.introspect({ tables: ['customers', 'orders'] })).tables.map((t) => ({
      name: t.name,
      columns: t.columns,
      key: t.primaryKey,
    }));
    const log = conn.source!().changeLog!({ slot: 'bench', publication: 'bench', heartbeatSeconds: 10 });
    const from = (await log.status()).position;

    let changes = 0;
    let statements: string[] = [];
    for (let order = 1; changes < total; order++) {
      const customer = 1 + (order % CUSTOMERS);
      let tx = `START TRANSACTION; INSERT INTO orders VALUES (${order}, ${customer}, ${order % 1000}.50, 'order ${order}, two pieces of something, gift-wrapped', NOW(6));
        UPDATE customers SET balance = balance + ${order % 1000}.50, updated = NOW(6) WHERE id = ${customer};`;
      changes += 2;
      if (order % 5 === 0 && order > 3) {
        tx += `UPDATE orders SET note = 'changed at ${order}' WHERE id = ${order - 3};`;
        changes++;
      }
      if (order % 7 === 0 && order > 6) {
        tx += `DELETE FROM orders WHERE id = ${order - 6};`;
        changes++;
      }
      statements.push(`${tx} COMMIT`);
      if (statements.length === PER_QUERY) {
        await app.query(statements.join(';'));
        statements = [];
      }
    }
    if (statements.length) await app.query(statements.join(';'));
    await app.end();

    const stream = log.stream(tables, from);
    const it = stream[Symbol.asyncIterator]();
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    let read = 0;
    let transactions = 0;
    while (read < changes) {
      const { value } = await it.next();
      read += value.changes.length;
      if (value.changes.length) transactions++;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    console.log(
      `${read} changes in ${transactions} transactions read from the binlog: ${seconds.toFixed(2)} s, ${Math.round(read / seconds)} changes/s, ${cpuSeconds.toFixed(2)} CPU seconds, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
    );
    await stream.close();
    await conn.close();
  } finally {
    await server.stop();
  }
}

await main();
