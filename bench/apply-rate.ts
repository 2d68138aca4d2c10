// How many live changes a target applies a second (Target.applyChanges), without a source:
// `npm run build && node dist/bench/apply-rate.js [postgres|mysql|sqlite|dynamodb|folder]`. An application's
// transactions, generated here: an order inserted and its customer's balance updated, now and
// then an order's note changed or an order deleted, in calls of APPLY_BATCH transactions
// (the plan's cdc.batch.transactions default); APPLY_CHANGES changes in all. The database
// bench_apply is made afresh on the machine's servers (a file in the system's temp folder for
// SQLite); DynamoDB is dynalite on loopback, started for the run; a folder of Parquet change
// files is made in the temp folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../src/connectors/index.js';
import type { AppliedChange, TargetTable } from '../src/core/contracts.js';
import { silentLogger } from '../src/core/log.js';
import { parseType } from '../src/core/types.js';
import { MARIADB_SERVER, PG_SERVER } from './config.js';
import { withMariadb, withPg } from './db.js';
import { startDynalite } from '../test/connectors/dynamodb-local.js';

const DB = 'bench_apply';
const CUSTOMERS = 10_000;

function table(name: string, columns: [string, string, string][]): TargetTable {
  return {
    name,
    columns: columns.map(([c, type, nativeType]) => ({
      name: c,
      type: parseType(type),
      nativeType,
      nullable: c !== 'id',
    })),
    primaryKey: ['id'],
    key: ['id'],
    uniqueKeys: [],
    indexes: [],
    foreignKeys: [],
  };
}

/** A fresh target's URL, and what stops what was started for it. */
async function freshTarget(engine: string): Promise<{ url: string; stop?: () => Promise<void> }> {
  if (engine === 'dynamodb') {
    const dynamo = await startDynalite();
    return { url: dynamo.url, stop: dynamo.stop };
  }
  if (engine === 'folder') {
    const dir = mkdtempSync(join(tmpdir(), `${DB}-`));
    return { url: `file:${dir}`, stop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  return { url: await freshSqlTarget(engine) };
}

async function freshSqlTarget(engine: string): Promise<string> {
  if (engine === 'postgres') {
    await withPg('postgres', async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${DB}`);
    });
    return `${PG_SERVER}/${DB}`;
  }
  if (engine === 'mysql') {
    await withMariadb(undefined, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${DB}`);
      await c.query(`CREATE DATABASE ${DB}`);
    });
    return `${MARIADB_SERVER}/${DB}`;
  }
  const file = join(tmpdir(), `${DB}.db`);
  rmSync(file, { force: true });
  rmSync(`${file}-wal`, { force: true });
  return `sqlite:${file}`;
}

async function main(): Promise<void> {
  const engine = process.argv[2] ?? 'postgres';
  const total = Number(process.env.APPLY_CHANGES ?? 200_000);
  const perCall = Number(process.env.APPLY_BATCH ?? 1000);
  const fresh = await freshTarget(engine);
  const conn = await connect(fresh.url, silentLogger);
  const target = conn.target!();
  const nativeOf = (t: string) => conn.nativeType(parseType(t)).native;
  const spec = (cols: [string, string][]) => cols.map(([c, t]) => [c, t, nativeOf(t)] as [string, string, string]);
  const customers = table(
    'customers',
    spec([
      ['id', 'int64'],
      ['name', 'varchar(100)'],
      ['balance', 'decimal(14,2)'],
      ['updated', 'timestamptz(6)'],
    ]),
  );
  const orders = table(
    'orders',
    spec([
      ['id', 'int64'],
      ['customer_id', 'int64'],
      ['total', 'decimal(12,2)'],
      ['note', 'text'],
      ['placed', 'timestamptz(6)'],
    ]),
  );
  for (const t of [customers, orders]) await target.prepare(t, 'drop');
  const stamp = (n: number) =>
    `2024-05-01T${String(Math.floor(n / 3600) % 24).padStart(2, '0')}:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}.${String(n % 1_000_000).padStart(6, '0')}Z`;
  const seed: AppliedChange[] = [];
  for (let id = 1; id <= CUSTOMERS; id++)
    seed.push({ table: customers, change: { op: 'upsert', row: [BigInt(id), `customer ${id}`, '0.00', stamp(id)] } });
  await target.applyChanges!(seed, 'bench', 'seed');

  // the transactions, made before the clock starts
  const calls: AppliedChange[][] = [];
  let call: AppliedChange[] = [];
  let transactions = 0;
  let order = 0;
  let changes = 0;
  while (changes < total) {
    order++;
    const customer = BigInt(1 + ((order * 7919) % CUSTOMERS));
    const tx: AppliedChange[] = [
      {
        table: orders,
        change: {
          op: 'upsert',
          row: [
            BigInt(order),
            customer,
            `${order % 1000}.${order % 100}`,
            `order ${order}, two pieces of something, gift-wrapped`,
            stamp(order),
          ],
        },
      },
      {
        table: customers,
        change: { op: 'upsert', row: [customer, `customer ${customer}`, `${order}.00`, stamp(order)] },
      },
    ];
    if (order % 5 === 0)
      tx.push({
        table: orders,
        change: {
          op: 'update',
          key: [BigInt(order - 3)],
          row: [BigInt(order - 3), customer, '1.00', `changed at ${order}`, stamp(order)],
        },
      });
    if (order % 7 === 0) tx.push({ table: orders, change: { op: 'delete', key: [BigInt(order - 6)] } });
    call.push(...tx);
    changes += tx.length;
    if (++transactions === perCall) {
      calls.push(call);
      call = [];
      transactions = 0;
    }
  }
  if (call.length) calls.push(call);

  const start = process.hrtime.bigint();
  for (const [i, c] of calls.entries()) await target.applyChanges!(c, 'bench', `p${i}`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `${engine}: ${changes} changes in ${calls.length} calls of ${perCall} transactions: ${seconds.toFixed(2)} s, ${Math.round(changes / seconds)} changes/s (position ${await target.appliedPosition!('bench')})`,
  );
  await conn.close();
  await fresh.stop?.();
}

await main();
