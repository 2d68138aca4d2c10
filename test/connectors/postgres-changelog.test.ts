// The PostgreSQL source's change log (logical replication, pgoutput) on a private server with
// wal_level = logical: what it checks, the slot's snapshot and position, values decoded as the
// copy reads them for every type the source reads, TOAST values left unchanged, keys that change,
// acknowledgements (only what the pipeline acknowledged reaches the server, even when it asks),
// backpressure, heartbeats that keep an idle slot from holding WAL, drop.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { postgresConnector } from '../../src/connectors/postgres/index.js';
import { UNCHANGED, type ChangeTransaction, type RowChange } from '../../src/core/changes.js';
import type { ChangeLog, ChangeLogSettings, ChangeStream, Connector, SourceTable } from '../../src/core/contracts.js';
import { FerryError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { canonicalText } from '../../src/core/values.js';
import { batchesOf, collect } from '../contract/target-contract.js';
import { edgeColumns, edgeRows } from '../fixtures/edge.js';
import { freshPg, pgExec } from '../helpers.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';

const open = (url: string) => postgresConnector.connect({ url, log: silentLogger, poolSize: 4 });

let server: PrivatePostgres;
let n = 0;

before(async () => {
  server = await privatePostgres({
    // a short sender timeout makes the server ask for a status update every second
    settings: { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10, wal_sender_timeout: '2s' },
  });
});
after(() => server?.stop());

interface Fixture {
  url: string;
  conn: Connector;
  log: ChangeLog;
  settings: ChangeLogSettings;
  sql(text: string, params?: unknown[]): Promise<pg.QueryResult>;
  table(name: string): Promise<SourceTable>;
  /** streams a test leaves open if it fails half-way; closed by close() */
  streams: ChangeStream[];
  close(): Promise<void>;
}

async function fixture(heartbeatSeconds = 1): Promise<Fixture> {
  const url = await server.database(`cdc_${++n}`);
  const conn = await open(url);
  const settings = { slot: `ferry_test_${n}`, publication: `ferry_test_${n}`, heartbeatSeconds };
  const log = conn.source!().changeLog!(settings);
  const streams: ChangeStream[] = [];
  return {
    url,
    conn,
    log,
    settings,
    sql: (text, params) => pgExec(url, text, params),
    table: async (name) => {
      const t = (await conn.introspect({ tables: [name] })).tables[0]!;
      return { name: t.name, columns: t.columns, key: t.primaryKey };
    },
    streams,
    close: async () => {
      await Promise.all(streams.map((s) => s.close()));
      await log.drop();
      await conn.close();
    },
  };
}

/** The next `count` transactions with changes of a stream (heartbeats skipped). */
async function take(it: AsyncIterator<ChangeTransaction>, count: number): Promise<ChangeTransaction[]> {
  const out: ChangeTransaction[] = [];
  while (out.length < count) {
    const r = await it.next();
    if (r.done) throw new Error('the stream ended');
    if (r.value.changes.length > 0) out.push(r.value);
  }
  return out;
}

async function slotState(f: Fixture): Promise<{ confirmed: string; active: boolean }> {
  const { rows } = await f.sql(
    'SELECT confirmed_flush_lsn::text AS confirmed, active FROM pg_replication_slots WHERE slot_name = $1',
    [f.settings.slot],
  );
  return rows[0];
}

/** Rows read by the copy's read path, by key. */
async function copied(f: Fixture, table: SourceTable): Promise<Map<string, unknown[]>> {
  const view = await f.conn.source!().snapshot(1);
  try {
    const rows = await collect(f.conn.source!().read(table, {}, view, 100));
    return new Map(rows.map((r) => [String(r[0]), r]));
  } finally {
    await view.release();
  }
}

function texts(table: SourceTable, row: unknown[]): string[] {
  return row.map((v, i) => (v === UNCHANGED ? 'UNCHANGED' : canonicalText(v, table.columns[i]!.type)));
}

describe('PostgreSQL change log', { timeout: 120_000 }, () => {
  test('check names what the source lacks, with what to do', async () => {
    const plain = await open(await freshPg('ferry_cdc_check'));
    try {
      const findings = await plain.source!().changeLog!({ slot: 's', publication: 'p', heartbeatSeconds: 10 }).check(
        [],
      );
      assert.deepEqual(
        findings.filter((f) => f.code === 'CDC_WAL_LEVEL').map((f) => [f.severity, f.message]),
        [
          [
            'error',
            "the source's wal_level is replica: its changes cannot be followed (logical replication needs wal_level = logical)",
          ],
        ],
      );
      assert.match(
        findings.find((f) => f.code === 'CDC_WAL_LEVEL')!.action,
        /rds\.logical_replication = 1.*cloudsql\.logical_decoding = on/,
      );
    } finally {
      await plain.close();
    }
    const f = await fixture();
    try {
      await f.sql(
        'CREATE TABLE keyed (id int PRIMARY KEY, v text); CREATE TABLE loose (v text); CREATE TABLE full_loose (v text)',
      );
      await f.sql('ALTER TABLE full_loose REPLICA IDENTITY FULL');
      await f.sql('CREATE ROLE cdc_plain LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO cdc_plain');
      const tables = await Promise.all(['keyed', 'loose', 'full_loose'].map((t) => f.table(t)));
      const findings = await f.log.check(tables);
      assert.deepEqual(
        findings.map((x) => [x.severity, x.code, x.table, x.action]),
        [
          [
            'error',
            'CDC_REPLICA_IDENTITY',
            'loose',
            'ALTER TABLE "public"."loose" REPLICA IDENTITY FULL (or give it a primary key)',
          ],
        ],
      );
      const plainUser = await open(f.url.replace('postgres@', 'cdc_plain@'));
      try {
        const lacking = await plainUser.source!().changeLog!(f.settings).check([]);
        assert.deepEqual(
          lacking.map((x) => [x.code, x.message, x.action]),
          [
            [
              'CDC_PRIVILEGE',
              'the source account cdc_plain may not use replication',
              'ALTER ROLE "cdc_plain" REPLICATION (RDS and Aurora: GRANT rds_replication TO "cdc_plain")',
            ],
          ],
        );
      } finally {
        await plainUser.close();
      }
    } finally {
      await f.sql('DROP OWNED BY cdc_plain; DROP ROLE cdc_plain');
      await f.close();
    }
  });

  test("the copy reads the slot's snapshot, the stream begins right after it, values as the copy reads them", async () => {
    const f = await fixture();
    try {
      const target = f.conn.target!();
      const columns = edgeColumns.map((c) => ({
        name: c.name,
        type: c.type,
        nativeType: f.conn.nativeType(c.type).native,
        nullable: c.name !== 'id',
      }));
      const edge = {
        name: 'edge',
        columns,
        primaryKey: ['id'],
        key: ['id'],
        uniqueKeys: [],
        indexes: [],
        foreignKeys: [],
      };
      await target.prepare(edge, 'fail');
      // types the canonical ones do not cover, and values at their edges
      await f.sql(`CREATE TABLE own (id int PRIMARY KEY, addr inet, span int4range, booked tstzrange, spot point,
        doc tsvector, up interval, tz timetz, old date, oldts timestamp, oldtstz timestamptz, grid int[], words text[],
        stamps timestamptz[], f4 real, f8 float8, n numeric, vb varbit, js jsonb)`);
      const own = await f.table('own');
      const src = await f.table('edge');
      // before the snapshot: in the copy, not in the stream
      await target.writeChunk(
        { table: edge, range: {}, replace: false, isolate: false },
        batchesOf(edgeRows.slice(0, 1)),
      );
      const { view, position } = await f.log.snapshot([src, own], 2);
      // after it, before the copy reads: in the stream, not in the copy
      await target.writeChunk({ table: edge, range: {}, replace: false, isolate: false }, batchesOf(edgeRows.slice(1)));
      const inView = await collect(f.conn.source!().read(src, {}, view, 100));
      await view.release();
      assert.deepEqual(
        inView.map((r) => r[0]),
        [edgeRows[0]![0]],
      );
      await f.sql(`INSERT INTO own VALUES
        (1, '::1', '[1,1024)', '[2024-01-01 10:00+01,2024-01-02 10:00+01)', '(1.5,-2)', 'fat cats sat',
         '-1 year -2 mons +3 days -04:05:06.789', '23:59:59.999999+05:30', '0044-03-15 BC', '0001-01-01 00:00:00 BC', 'infinity',
         '{{1,2},{3,NULL}}', '{"a b",NULL,"c,d","\\"q\\"","NULL",""}', '{"2024-02-29 23:59:59.5+00","1999-12-31 00:00:00-08"}',
         3.4028235e38, 1e-320, 'NaN', B'10110', '{"b": [1, 2.50], "a": "é"}'),
        (2, '192.168.0.1/24', 'empty', NULL, NULL, '', '00:00:00', '00:00:00-12', 'infinity', '294276-12-31 23:59:59.999999',
         '-infinity', '{}', '{}', NULL, '-Infinity', '-0', '-12345678901234567890.000000000001', B'', 'null'),
        (3, NULL, NULL, NULL, NULL, NULL, '1 day 00:00:00.000001', NULL, '10000-01-01', '2000-01-01 00:00:00.1', '1900-01-01 12:00:00.000001+00',
         '[0:1]={7,8}', NULL, NULL, 1.1, 0.1, '0.00', NULL, '[]')`);
      const stream = f.log.stream([src, own], position);
      f.streams.push(stream);
      const it = stream[Symbol.asyncIterator]();
      // the rows written after the snapshot in one transaction, the own types in another
      const txs = await take(it, 2);
      await stream.close();
      const inserts = txs.flatMap((t) => t.changes);
      assert.ok(inserts.every((c) => c.op === 'insert'));
      assert.deepEqual(
        inserts.filter((c) => c.table === 'edge').map((c) => c.op === 'insert' && c.after[0]),
        edgeRows.slice(1).map((r) => r[0]),
      );
      for (const table of [src, own]) {
        const read = await copied(f, table);
        const streamed: RowChange[] = inserts.filter((c) => c.table === table.name);
        assert.equal(streamed.length, table === src ? edgeRows.length - 1 : 3);
        for (const c of streamed) {
          assert.ok(c.op === 'insert');
          assert.deepEqual(
            texts(table, c.after),
            texts(table, read.get(String(c.after[0]))!),
            `${table.name} row ${String(c.after[0])}`,
          );
        }
      }
      assert.match(txs[0]!.position, /^[0-9A-F]+\/[0-9A-F]+$/);
      assert.ok(Date.parse(txs[0]!.committed!) > Date.now() - 60_000);
    } finally {
      await f.close();
    }
  });

  test('updates, deletes, key changes and an unchanged TOAST value, transaction by transaction', async () => {
    const f = await fixture();
    try {
      await f.sql('CREATE TABLE doc (id int PRIMARY KEY, title text, body text)');
      await f.sql('ALTER TABLE doc ALTER body SET STORAGE EXTERNAL');
      const doc = await f.table('doc');
      const { view, position } = await f.log.snapshot([doc], 1);
      await view.release();
      const big = 'x'.repeat(100_000);
      await f.sql(`INSERT INTO doc VALUES (1, 'one', $1), (2, 'two', 'short')`, [big]);
      await f.sql(`BEGIN; UPDATE doc SET title = 'uno' WHERE id = 1; UPDATE doc SET id = 20 WHERE id = 2; COMMIT`);
      await f.sql(
        `BEGIN; INSERT INTO doc VALUES (3, 'three', 'gone'); DELETE FROM doc WHERE id = 3; DELETE FROM doc WHERE id = 20; COMMIT`,
      );
      const stream = f.log.stream([doc], position);
      f.streams.push(stream);
      const [insert, update, del] = await take(stream[Symbol.asyncIterator](), 3);
      await stream.close();
      assert.equal(insert!.changes.length, 2);
      assert.deepEqual(update!.changes, [
        { table: 'doc', op: 'update', before: [1, UNCHANGED, UNCHANGED], after: [1, 'uno', UNCHANGED] },
        { table: 'doc', op: 'update', before: [2, UNCHANGED, UNCHANGED], after: [20, 'two', 'short'] },
      ]);
      assert.deepEqual(del!.changes, [
        { table: 'doc', op: 'insert', after: [3, 'three', 'gone'] },
        { table: 'doc', op: 'delete', before: [3, UNCHANGED, UNCHANGED] },
        { table: 'doc', op: 'delete', before: [20, UNCHANGED, UNCHANGED] },
      ]);
    } finally {
      await f.close();
    }
  });

  test("a partitioned table's changes come under its own name, as the copy reads it", async () => {
    const f = await fixture();
    try {
      await f.sql(`CREATE TABLE event (id int, at date, what text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
        CREATE TABLE event_2023 PARTITION OF event FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
        CREATE TABLE event_2024 PARTITION OF event FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`);
      const event = await f.table('event');
      const { view, position } = await f.log.snapshot([event], 1);
      await view.release();
      await f.sql(`INSERT INTO event VALUES (1, '2023-06-01', 'a'), (2, '2024-06-01', 'b')`);
      await f.sql(`UPDATE event SET at = '2024-02-02' WHERE id = 1`);
      const stream = f.log.stream([event], position);
      f.streams.push(stream);
      const txs = await take(stream[Symbol.asyncIterator](), 2);
      assert.deepEqual(
        txs.flatMap((t) => t.changes),
        [
          { table: 'event', op: 'insert', after: [1, '2023-06-01', 'a'] },
          { table: 'event', op: 'insert', after: [2, '2024-06-01', 'b'] },
          // a row that moves to another partition is deleted from one and inserted into the other
          { table: 'event', op: 'delete', before: [1, '2023-06-01', UNCHANGED] },
          { table: 'event', op: 'insert', after: [1, '2024-02-02', 'a'] },
        ],
      );
    } finally {
      await f.close();
    }
  });

  test('only acknowledged positions reach the server, even when it asks for a status update', async () => {
    const f = await fixture();
    try {
      await f.sql('CREATE TABLE t (id int PRIMARY KEY, v text)');
      const t = await f.table('t');
      const { view, position } = await f.log.snapshot([t], 1);
      await view.release();
      for (let i = 1; i <= 3; i++) await f.sql(`INSERT INTO t VALUES (${i}, 'v${i}')`);
      const first = f.log.stream([t], position);
      f.streams.push(first);
      const got = await take(first[Symbol.asyncIterator](), 3);
      // the server asks for a reply every second (wal_sender_timeout 2s), heartbeats ask too
      await new Promise((resolve) => setTimeout(resolve, 3500));
      assert.equal((await slotState(f)).confirmed, position);
      await first.acknowledge(got[0]!.position);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal((await slotState(f)).confirmed, got[0]!.position);
      // the connection ends as a killed process's would: nothing more is said to the server
      await f.sql('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [
        f.settings.slot,
      ]);
      await first.close();
      const again = f.log.stream([t], position);
      f.streams.push(again);
      const replayed = await take(again[Symbol.asyncIterator](), 2);
      await again.close();
      assert.deepEqual(
        replayed.map((x) => x.changes),
        got.slice(1).map((x) => x.changes),
      );
      assert.equal((await slotState(f)).confirmed, got[0]!.position);
    } finally {
      await f.close();
    }
  });

  test('a consumer that does not pull stops the reading: the server keeps the rest', async () => {
    const f = await fixture();
    try {
      await f.sql('CREATE TABLE t (id int PRIMARY KEY, v text)');
      const t = await f.table('t');
      const { view, position } = await f.log.snapshot([t], 1);
      await view.release();
      // 64 MB of changes in 2,000 transactions
      await f.sql(`DO $$ BEGIN FOR i IN 1..2000 LOOP
        INSERT INTO t SELECT i * 100 + k, repeat(md5((i * 100 + k)::text), 10) FROM generate_series(0, 99) k; COMMIT; END LOOP; END $$`);
      const stream = f.log.stream([t], position);
      f.streams.push(stream);
      const it = stream[Symbol.asyncIterator]();
      await take(it, 1);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const { rows } = await f.sql(
        'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn)::bigint AS behind FROM pg_stat_replication WHERE application_name = $1',
        ['ferry'],
      );
      assert.ok(Number(rows[0].behind) > 32 * 1024 * 1024, `the server sent all but ${rows[0].behind} bytes`);
      // pulling again reads on, to the end
      const rest = await take(it, 1999);
      const last = rest.at(-1)!.changes.at(-1)!;
      assert.deepEqual(last.op === 'insert' && last.after[0], 200099);
      await stream.close();
    } finally {
      await f.close();
    }
  });

  test("heartbeats keep an idle published table's slot from holding the WAL of busy tables", async () => {
    const f = await fixture(1);
    try {
      await f.sql('CREATE TABLE idle (id int PRIMARY KEY); CREATE TABLE busy (id int PRIMARY KEY, v text)');
      const idle = await f.table('idle');
      const { view, position } = await f.log.snapshot([idle], 1);
      await view.release();
      const stream = f.log.stream([idle], position);
      f.streams.push(stream);
      const it = stream[Symbol.asyncIterator]();
      const pulling = (async () => {
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          await stream.acknowledge(r.value.position);
        }
      })();
      for (let i = 0; i < 8; i++) {
        await f.sql(`INSERT INTO busy SELECT g + ${i * 20000}, repeat('x', 200) FROM generate_series(1, 20000) g`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      // the slot lets go of WAL at the server's next snapshot of running transactions (every 15 s)
      let status = await f.log.status();
      for (let waited = 0; status.retainedBytes! >= 16 * 1024 * 1024 && waited < 40; waited++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        status = await f.log.status();
      }
      await stream.close();
      await pulling;
      assert.ok(status.retainedBytes! < 16 * 1024 * 1024, `the slot holds ${status.retainedBytes} bytes`);
      const { rows } = await f.sql('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS written', [
        position,
      ]);
      assert.ok(Number(rows[0].written) > 40 * 1024 * 1024, `only ${rows[0].written} bytes were written`);
    } finally {
      await f.close();
    }
  });

  test('a TRUNCATE stops the stream with one line; drop removes the slot and the publication, even in use', async () => {
    const f = await fixture();
    try {
      await f.sql('CREATE TABLE t (id int PRIMARY KEY)');
      const t = await f.table('t');
      const { view, position } = await f.log.snapshot([t], 1);
      await view.release();
      await f.sql('TRUNCATE t');
      const stream = f.log.stream([t], position);
      f.streams.push(stream);
      await assert.rejects(take(stream[Symbol.asyncIterator](), 1), (e: unknown) => {
        assert.ok(e instanceof FerryError);
        assert.equal(
          e.message,
          't was truncated on the source while ferry follows it: a TRUNCATE cannot be applied as row changes',
        );
        return true;
      });
      await stream.close();
      // from where the log stands now: past the TRUNCATE
      const busy = f.log.stream([t], (await f.log.status()).position);
      f.streams.push(busy);
      const it = busy[Symbol.asyncIterator]();
      const pending = it.next().catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal((await slotState(f)).active, true);
      await f.log.drop();
      assert.ok((await pending) instanceof Error);
      await busy.close();
      const { rows } = await f.sql(
        'SELECT (SELECT count(*) FROM pg_replication_slots)::int AS slots, (SELECT count(*) FROM pg_publication)::int AS pubs',
      );
      assert.deepEqual(rows[0], { slots: 0, pubs: 0 });
    } finally {
      await f.close();
    }
  });
});
