// The PostgreSQL connector: the shared source and target contracts, plus what only
// PostgreSQL has (Pagila's enums, domains, arrays and partitions; its type names; its
// binary formats; its errors).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { postgresConnector } from '../../src/connectors/postgres/index.js';
import pg from 'pg';
import type { Connector, SourceTable, TargetTable } from '../../src/core/contracts.js';
import { FerryError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { rowsOfColumns } from '../../src/core/columns.js';
import { formatType, parseType } from '../../src/core/types.js';
import { canonicalText } from '../../src/core/values.js';
import { sourceContract } from '../contract/source-contract.js';
import { applyUntilKilled } from '../contract/apply-contract.js';
import { batchesOf, collect, targetContract, writeUntilKilled } from '../contract/target-contract.js';
import { edgeColumns } from '../fixtures/edge.js';
import { freshPg, hostPort, PG_BASE, pgExec } from '../helpers.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';

const open = (url: string) => postgresConnector.connect({ url, log: silentLogger, poolSize: 4 });

let sourceContractDb = '';
sourceContract('postgres', {
  open: async () => open((sourceContractDb = await freshPg('ferry_pg_source'))),
  floatSpecials: true,
  columns: true,
  analyze: (table) => pgExec(sourceContractDb, `ANALYZE "${table}"`),
});
targetContract('postgres', {
  open: async () => open(await freshPg('ferry_pg_target')),
  floatSpecials: true,
  columns: true,
});

/** A target table whose columns are given as native PostgreSQL types. */
function nativeTable(conn: Connector, name: string, natives: [string, string][], key = ['id']): TargetTable {
  return {
    name,
    columns: natives.map(([col, native]) => ({
      name: col,
      nativeType: native,
      type: conn.canonicalType(native),
      nullable: !key.includes(col),
    })),
    primaryKey: key,
    key,
    uniqueKeys: [],
    indexes: [],
    foreignKeys: [],
  };
}

function sourceOf(t: TargetTable, where?: string): SourceTable {
  return {
    name: t.name,
    columns: t.columns.map((c) => ({ name: c.name, type: c.type, nativeType: c.nativeType, nullable: c.nullable })),
    key: t.key,
    where,
  };
}

/** Rows read through a fresh snapshot, sorted by the first column. */
async function readAll(conn: Connector, table: SourceTable): Promise<unknown[][]> {
  const view = await conn.source!().snapshot(1);
  try {
    const rows = await collect(conn.source!().read(table, {}, view, 100));
    return rows.sort((a, b) => Number(a[0]) - Number(b[0]));
  } finally {
    await view.release();
  }
}

/** The two sockets of a proxied connection. */
interface Proxied {
  client: net.Socket;
  upstream: net.Socket;
}

/**
 * A loopback proxy to the PostgreSQL server: `toClient` passes each piece of the server's bytes
 * on, `toServer` each piece of the client's (as they are, by default).
 */
async function pgProxy(relay: {
  toClient?: (chunk: Buffer, c: Proxied) => Promise<void>;
  toServer?: (chunk: Buffer, c: Proxied) => void;
}): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const pgServer = new URL(PG_BASE);
    const upstream = net.connect(Number(pgServer.port || 5432), pgServer.hostname);
    const c = { client, upstream };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const { toClient, toServer } = relay;
    if (toServer) client.on('data', (chunk: Buffer) => toServer(chunk, c));
    else client.pipe(upstream);
    if (toClient)
      upstream.on('data', async (chunk: Buffer) => {
        upstream.pause();
        await toClient(chunk, c);
        upstream.resume();
      });
    else upstream.pipe(client);
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A proxy that passes the server's bytes on 1 to 7 at a time, so that protocol messages and COPY rows are split at every kind of place. */
function tricklingProxy(): Promise<{ port: number; close(): Promise<void> }> {
  return pgProxy({
    toClient: async (chunk, { client }) => {
      for (let p = 0, n = 1; p < chunk.length; p += n, n = (n % 7) + 1) {
        client.write(chunk.subarray(p, p + n));
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  });
}

async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<FerryError> {
  let caught: unknown;
  await p.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => (caught = e),
  );
  assert.ok(caught instanceof FerryError, `a FerryError, not ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, message);
  assert.doesNotMatch(caught.message, /\n/, 'one line');
  assert.ok(caught.action.length > 0, 'says what to do');
  return caught;
}

describe('postgres: type map', () => {
  test('every canonical type reads back from the native type it creates, or says what changes', () => {
    const conn = postgresConnector;
    assert.ok(conn.schemes.includes('postgres') && conn.schemes.includes('postgresql'));
    const noted: Record<string, string> = {
      int8: 'smallint',
      uint8: 'smallint',
      uint16: 'integer',
      int24: 'integer',
      uint24: 'integer',
      uint32: 'bigint',
      uint64: 'numeric(20,0)',
      year: 'smallint',
      "set('read','write','admin')": 'text[]',
      'varbinary(16)': 'bytea',
    };
    return open(`${PG_BASE}/postgres`).then(async (c) => {
      try {
        for (const { type } of edgeColumns) {
          const text = formatType(type);
          const choice = c.nativeType(type);
          if (noted[text]) {
            assert.equal(choice.native, noted[text], text);
            assert.match(choice.note ?? '', /\w/, `${text} has a note`);
          } else {
            assert.equal(choice.note, undefined, `${text}: ${choice.note}`);
            assert.equal(formatType(c.canonicalType(choice.native)), text, `${text} -> ${choice.native}`);
          }
        }
        for (const text of [
          'decimal',
          'timetz(3)',
          'timestamptz(0)',
          'interval',
          'varbit(5)',
          'char(1)',
          "array<enum('x','y')>",
          'bytes',
        ])
          assert.equal(formatType(c.canonicalType(c.nativeType(parseType(text)).native)), text, text);
        const grid = c.nativeType(parseType('array<array<int64>>'));
        assert.equal(grid.native, 'bigint[]');
        assert.match(grid.note ?? '', /dimensions/);
        assert.match(c.nativeType(parseType('binary(4)')).note ?? '', /fixed/);
        assert.equal(c.nativeType(parseType('decimal(2000,2)')).native, 'numeric');
      } finally {
        await c.close();
      }
    });
  });

  test('native types are read the way PostgreSQL spells them', async () => {
    const c = await open(`${PG_BASE}/postgres`);
    try {
      const cases: [string, string][] = [
        ['int2', 'int16'],
        ['serial', 'int32'],
        ['INT8', 'int64'],
        ['numeric(10, 2)', 'decimal(10,2)'],
        ['numeric(5)', 'decimal(5,0)'],
        ['decimal', 'decimal'],
        ['float(10)', 'float32'],
        ['float(40)', 'float64'],
        ['float8', 'float64'],
        ['character(4)', 'char(4)'],
        ['character', 'char(1)'],
        ['bpchar', 'text'],
        ['character varying(50)', 'varchar(50)'],
        ['character varying', 'text'],
        ['time(3) without time zone', 'time(3)'],
        ['time with time zone', 'timetz(6)'],
        ['timestamp(0) without time zone', 'timestamp(0)'],
        ['timestamp with time zone', 'timestamptz(6)'],
        ['timestamptz(3)', 'timestamptz(3)'],
        ['interval day to second(2)', 'interval'],
        ['"bit"', 'bit(1)'],
        ['bit varying(7)', 'varbit(7)'],
        ['integer[]', 'array<int32>'],
        ['text[][]', 'array<text>'],
        ['_int4', 'text'],
        ['character varying(10)[]', 'array<varchar(10)>'],
        ["enum('a','b c','it''s')", "enum('a','b c','it''s')"],
        ["enum('Low','High')[]", "array<enum('Low','High')>"],
        ['tsvector', 'text'],
        ['inet', 'text'],
        ['point[]', 'array<text>'],
      ];
      for (const [native, canonical] of cases) assert.equal(formatType(c.canonicalType(native)), canonical, native);
    } finally {
      await c.close();
    }
  });

  test('introspection reports exactly the canonical type of the native type a column was created with', async () => {
    const url = await freshPg('ferry_pg_types');
    const c = await open(url);
    try {
      const natives = [
        'smallint',
        'integer',
        'bigint',
        'numeric(10,2)',
        'numeric(5)',
        'numeric',
        'real',
        'double precision',
        'float(10)',
        'boolean',
        'char(4)',
        'character',
        'varchar(50)',
        'character varying',
        'text',
        'bytea',
        'date',
        'time(3)',
        'time',
        'timetz',
        'time(2) with time zone',
        'timestamp(0)',
        'timestamp',
        'timestamptz(3)',
        'timestamp with time zone',
        'interval',
        'interval day to second(2)',
        'json',
        'jsonb',
        'uuid',
        'bit(8)',
        'bit',
        'varbit(5)',
        'integer[]',
        'text[][]',
        'numeric(4,2)[]',
        'tsvector',
        'inet',
        'point',
        'varbit',
        "enum('a','b c','it''s')",
        "enum('x','y')[]",
      ];
      const t = nativeTable(c, 'typed', [['id', 'integer'], ...natives.map((n, i): [string, string] => [`c${i}`, n])]);
      await c.target!().prepare(t, 'fail');
      const info = (await c.introspect({ tables: ['typed'] })).tables[0]!;
      info.columns.forEach((col, i) => {
        assert.deepEqual(
          col.type,
          t.columns[i]!.type,
          `${t.columns[i]!.nativeType} is reported as ${formatType(col.type)}`,
        );
        assert.deepEqual(c.canonicalType(col.nativeType), col.type, `the reported native ${col.nativeType} reads back`);
      });
      await pgExec(
        url,
        `CREATE DOMAIN money6 AS numeric(6,3); CREATE DOMAIN short AS varchar(7); CREATE DOMAIN shorter AS short; CREATE TYPE mood AS ENUM ('sad', 'ok');
        CREATE TABLE domained (id int PRIMARY KEY, m money6, s shorter, moods mood[], ms money6[], "ünï" int)`,
      );
      const d = (await c.introspect({ tables: ['domained'] })).tables[0]!;
      assert.deepEqual(
        d.columns.map((x) => [x.name, x.nativeType, formatType(x.type)]),
        [
          ['id', 'integer', 'int32'],
          ['m', 'numeric(6,3)', 'decimal(6,3)'],
          ['s', 'character varying(7)', 'varchar(7)'],
          ['moods', "enum('sad','ok')[]", "array<enum('sad','ok')>"],
          ['ms', 'numeric(6,3)[]', 'array<decimal(6,3)>'],
          ['ünï', 'integer', 'int32'],
        ],
      );
    } finally {
      await c.close();
    }
  });
});

describe('postgres: values in binary COPY', () => {
  let conn: Connector;
  let url: string;
  before(async () => {
    url = await freshPg('ferry_pg_values');
    conn = await open(url);
  });
  after(async () => conn?.close());

  /**
   * Writes rows, reads them back through a snapshot, and returns them with the server's own text
   * of each value. The rows applied as live changes to a table of their own read back the same.
   */
  async function roundTrip(
    name: string,
    natives: [string, string][],
    rows: unknown[][],
  ): Promise<{ back: unknown[][]; server: string[][] }> {
    const t = nativeTable(conn, name, [['id', 'integer'], ...natives]);
    await conn.target!().prepare(t, 'drop');
    const res = await conn.target!().writeChunk(
      { table: t, range: {}, replace: false, isolate: false },
      batchesOf(rows),
    );
    assert.equal(res.rows, rows.length);
    const back = await readAll(conn, sourceOf(t));
    // live changes write the values as SQL text, not binary COPY: they read back the same
    const applied = { ...t, name: `${name}_applied` };
    await conn.target!().prepare(applied, 'drop');
    await conn.target!().applyChanges!(
      rows.map((row) => ({ table: applied, change: { op: 'upsert', row } })),
      name,
      'one',
    );
    assert.deepEqual(await readAll(conn, sourceOf(applied)), back, 'applied as written');
    const client = new pg.Client({ connectionString: url, options: '-c IntervalStyle=iso_8601 -c TimeZone=UTC' });
    await client.connect();
    try {
      const server = await client.query({
        text: `SELECT ${natives.map(([n]) => `"${n}"::text`).join(', ')} FROM "${name}" ORDER BY id`,
        rowMode: 'array',
      });
      return { back, server: server.rows as string[][] };
    } finally {
      await client.end();
    }
  }

  test('dates and timestamps beyond JavaScript dates: BC years, year 10000 and more, infinity', async () => {
    const { back, server } = await roundTrip(
      'temporal',
      [
        ['d', 'date'],
        ['ts', 'timestamp(6)'],
        ['tz', 'timestamptz(6)'],
      ],
      [
        [1, '-0043-03-15', '-0043-03-15 10:00:00.5', '-0043-03-15 10:00:00Z'],
        [2, '0000-01-01', '1000-01-01 00:00:00', '1970-01-01 00:00:00.000001Z'],
        [3, '12345-06-07', '294276-12-31 23:59:59.999999', '2024-06-01 12:00:00+02:00'],
        [4, 'infinity', '-infinity', 'infinity'],
        [5, '2024-02-29', '1899-12-31 23:59:59.999999', '1600-02-29 12:00:00.25Z'],
      ],
    );
    assert.deepEqual(back, [
      [1, '-0043-03-15', '-0043-03-15 10:00:00.500000', '-0043-03-15 10:00:00Z'],
      [2, '0000-01-01', '1000-01-01 00:00:00', '1970-01-01 00:00:00.000001Z'],
      [3, '12345-06-07', '294276-12-31 23:59:59.999999', '2024-06-01 10:00:00Z'],
      [4, 'infinity', '-infinity', 'infinity'],
      [5, '2024-02-29', '1899-12-31 23:59:59.999999', '1600-02-29 12:00:00.250000Z'],
    ]);
    assert.deepEqual(server, [
      ['0044-03-15 BC', '0044-03-15 10:00:00.5 BC', '0044-03-15 10:00:00+00 BC'],
      ['0001-01-01 BC', '1000-01-01 00:00:00', '1970-01-01 00:00:00.000001+00'],
      ['12345-06-07', '294276-12-31 23:59:59.999999', '2024-06-01 10:00:00+00'],
      ['infinity', '-infinity', 'infinity'],
      ['2024-02-29', '1899-12-31 23:59:59.999999', '1600-02-29 12:00:00.25+00'],
    ]);
  });

  test('times with zones and intervals read as PostgreSQL writes them', async () => {
    const { back, server } = await roundTrip(
      'clock',
      [
        ['t', 'time(6)'],
        ['tt', 'timetz(6)'],
        ['iv', 'interval'],
      ],
      [
        [1, '24:00:00', '12:00:00+05:30', 'P1Y2M-3DT4H5M6.5S'],
        [2, '00:00:00.000001', '23:59:59.999999-00:00:30', 'PT-1.5S'],
        [3, '13:14:15', '00:00:00Z', 'PT0S'],
        [4, '08:00:00', '08:00:00-08:00', 'P1Y-2M3DT-4H5M6.789S'],
      ],
    );
    assert.deepEqual(
      back.map((r) => r.slice(1, 3)),
      [
        ['24:00:00', '12:00:00+05:30'],
        ['00:00:00.000001', '23:59:59.999999-00:00:30'],
        ['13:14:15', '00:00:00+00:00'],
        ['08:00:00', '08:00:00-08:00'],
      ],
    );
    assert.deepEqual(
      back.map((r) => r[3]),
      server.map((r) => r[2]),
      'intervals are ISO 8601 exactly as the server writes them',
    );
    assert.deepEqual(
      server.map((r) => r[2]),
      ['P1Y2M-3DT4H5M6.5S', 'PT-1.5S', 'PT0S', 'P10M3DT-3H-54M-53.211S'],
    );
  });

  test('numbers keep every digit and special value', async () => {
    const { back, server } = await roundTrip(
      'numbers',
      [
        ['n', 'numeric'],
        ['n2', 'numeric(12,4)'],
        ['f4', 'real'],
        ['f8', 'double precision'],
        ['big', 'bigint'],
        ['u64', 'numeric(20,0)'],
      ],
      [
        [1, 'NaN', '-0.0001', 3.4028234663852886e38, -0, -9223372036854775808n, 18446744073709551615n],
        [2, '123456789012345678901234567890.123456789012', '12345678.9', 1.5, Number.NaN, 9007199254740993n, 0n],
        [3, '-Infinity', '0', -1.401298464324817e-45, Number.POSITIVE_INFINITY, 1n, 1n],
        [4, '1e5', '-0', 0.1, 5e-324, -1n, 10000n],
        [5, '0.00000000000000000001', '10000', -0, 1.7976931348623157e308, 4294967296n, 99990000n],
      ],
    );
    assert.deepEqual(back, [
      [1, 'NaN', '-0.0001', 3.4028234663852886e38, -0, -9223372036854775808n, '18446744073709551615'],
      [2, '123456789012345678901234567890.123456789012', '12345678.9000', 1.5, Number.NaN, 9007199254740993n, '0'],
      [3, '-Infinity', '0.0000', -1.401298464324817e-45, Number.POSITIVE_INFINITY, 1n, '1'],
      [4, '100000', '0.0000', Math.fround(0.1), 5e-324, -1n, '10000'],
      [5, '0.00000000000000000001', '10000.0000', -0, 1.7976931348623157e308, 4294967296n, '99990000'],
    ]);
    assert.deepEqual(
      server.map((r) => [r[0], r[1]]),
      back.map((r) => [r[1], r[2]]),
      "numeric text is the server's",
    );
  });

  test('arrays of any dimension, with NULLs, enums, quotes and backslashes; bits; uuids', async () => {
    const { back, server } = await roundTrip(
      'shapes',
      [
        ['grid', 'integer[]'],
        ['words', 'text[]'],
        ['moods', "enum('sad','ok','glad')[]"],
        ['bits', 'varbit(10)'],
        ['uid', 'uuid'],
        ['tags', 'text[]'],
      ],
      [
        [
          1,
          [
            [1, 2],
            [3, 4],
          ],
          ['a "quoted" word', 'back\\slash', null, ''],
          ['ok', 'glad'],
          '1010101',
          'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
          ['read', 'write'],
        ],
        [2, [1, null, 3], [], [], '', '{a0eebc999c0b4ef8bb6d6bb9bd380a12}', []],
        [3, [], ['NULL', 'null', ' ', 'Grüße 😀'], ['sad'], '1', '00000000-0000-0000-0000-000000000000', null],
      ],
    );
    assert.deepEqual(back, [
      [
        1,
        [
          [1, 2],
          [3, 4],
        ],
        ['a "quoted" word', 'back\\slash', null, ''],
        ['ok', 'glad'],
        '1010101',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        ['read', 'write'],
      ],
      [2, [1, null, 3], [], [], '', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', []],
      [3, [], ['NULL', 'null', ' ', 'Grüße 😀'], ['sad'], '1', '00000000-0000-0000-0000-000000000000', null],
    ]);
    assert.equal(server[0]![0], '{{1,2},{3,4}}');
    assert.equal(server[0]![1], '{"a \\"quoted\\" word","back\\\\slash",NULL,""}');
  });

  test('columns of types without a binary codec are written as text and read as their text output (an inet host address as ::1, as PostgreSQL prints it)', async () => {
    const natives: [string, string][] = [
      ['addr', 'inet'],
      ['doc', 'tsvector'],
      ['spot', 'point'],
      ['day', 'date'],
      ['blob', 'bytea'],
      ['tags', 'text[]'],
      ['note', 'text'],
      ['f', 'double precision'],
      ['flag', 'boolean'],
    ];
    const rows = [
      [
        1,
        '192.168.0.1/24',
        "'fat':2 'rat':3",
        '(1,2)',
        '-0043-03-15',
        new Uint8Array([0, 92, 10, 255]),
        ['a\\b', 'c"d', null],
        'tab\there\nnew line \\ backslash \r',
        -0,
        true,
      ],
      [2, '::1', 'a:1 b:2', '(-1.5,0)', '2024-02-29', new Uint8Array([]), [], '', Number.NaN, false],
      [3, null, null, null, null, null, null, null, null, null],
    ];
    const { back } = await roundTrip('exotic', natives, rows);
    assert.deepEqual(back, [
      [
        1,
        '192.168.0.1/24',
        "'fat':2 'rat':3",
        '(1,2)',
        '-0043-03-15',
        new Uint8Array([0, 92, 10, 255]),
        ['a\\b', 'c"d', null],
        'tab\there\nnew line \\ backslash \r',
        -0,
        true,
      ],
      [2, '::1', "'a':1 'b':2", '(-1.5,0)', '2024-02-29', new Uint8Array([]), [], '', Number.NaN, false],
      [3, null, null, null, null, null, null, null, null, null],
    ]);
  });

  test('a value PostgreSQL cannot take is named by column, and isolated as a reject', async () => {
    const t = nativeTable(conn, 'strict_values', [
      ['id', 'integer'],
      ['day', 'date'],
      ['label', 'text'],
    ]);
    await conn.target!().prepare(t, 'drop');
    const rows = [
      [1, '2024-01-01', 'fine'],
      [2, '0000-00-00', 'zero date'],
      [3, '2024-02-30', 'no such day'],
      [4, '2024-03-01', 'fine too'],
    ];
    await rejectsWith(
      conn.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(rows)),
      'WRITE_FAILED',
      /column day: "0000-00-00" is a zero date/,
    );
    assert.equal(await conn.target!().count(t, {}), 0);
    const res = await conn.target!().writeChunk({ table: t, range: {}, replace: true, isolate: true }, batchesOf(rows));
    assert.equal(res.rows, 2);
    assert.deepEqual(
      res.rejects.map((r) => [r.row[0], r.reason]),
      [
        [2, 'column day: "0000-00-00" is a zero date, which PostgreSQL cannot store'],
        [3, 'column day: "2024-02-30" is not a valid date'],
      ],
    );
    const check = (type: string) =>
      conn.target!().valueCheck!({
        name: 'c',
        type: parseType(type),
        nativeType: conn.nativeType(parseType(type)).native,
        nullable: true,
      });
    assert.match(check('text')!('a\u0000b') ?? '', /NUL/);
    assert.equal(check('text')!('a b'), undefined);
    assert.match(check('jsonb')!('{"a": "\\u0000"}') ?? '', /NUL/);
    assert.equal(check('jsonb')!('{"a": "\\\\u0000"}'), undefined);
    assert.equal(
      conn.target!().valueCheck!({ name: 'c', type: parseType('date'), nativeType: 'date', nullable: true }),
      undefined,
      'dates are checked by the write itself',
    );
    assert.match(check('float32')!(1e39) ?? '', /out of range for real/);
    assert.equal(check('float32')!(Number.POSITIVE_INFINITY), undefined);
    assert.match(check('array<text>')!(['ok', ['x\u0000']]) ?? '', /NUL/);
    assert.equal(check('int32'), undefined);
  });
});

describe('postgres: column batches from binary COPY', () => {
  let conn: Connector;
  before(async () => {
    const url = await freshPg('ferry_pg_columns');
    conn = await open(url);
    // rows of every width (texts of 0 to 400 characters, some of several bytes a character) over
    // many socket chunks, so that rows straddle them
    await pgExec(
      url,
      `CREATE TABLE wide (id integer PRIMARY KEY, t text, n numeric(12,2), b bigint, d date);
       INSERT INTO wide SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE repeat(CASE WHEN g % 3 = 0 THEN 'é' ELSE 'x' END, g % 401) END,
         (g * 37 % 100000) / 100.0, g::bigint * 1000003, DATE '2000-01-01' + g % 9000
       FROM generate_series(1, 30000) g;
       CREATE TABLE endless (id integer PRIMARY KEY, d date);
       INSERT INTO endless SELECT g, CASE WHEN g = 2500 THEN 'infinity'::date ELSE DATE '2024-01-01' END FROM generate_series(1, 3000) g;`,
    );
  });
  after(async () => conn?.close());

  const tableOf = async (name: string): Promise<SourceTable> => {
    const schema = await conn.introspect({ tables: [name] });
    const t = schema.tables[0]!;
    return { name, columns: t.columns, key: ['id'] };
  };

  test('batches recycled as they are taken give the values rows give, in the same order, none lost or repeated', async () => {
    const table = await tableOf('wide');
    const source = conn.source!();
    const view = await source.snapshot(1);
    try {
      const fromColumns: unknown[][] = [];
      const sizes: number[] = [];
      for await (const batch of source.readColumns!(table, {}, view, 1000)!) {
        sizes.push(batch.rows);
        fromColumns.push(
          ...rowsOfColumns(
            batch,
            table.columns.map((c) => c.type),
          ),
        );
        // the reader writes the next batches into these buffers
        batch.recycle?.();
      }
      assert.deepEqual(sizes, Array<number>(30).fill(1000));
      const fromRows = await collect(source.read(table, {}, view, 1000));
      assert.equal(fromColumns.length, 30000);
      assert.deepEqual(
        fromColumns.map((r) => r.map((v, i) => canonicalText(v, table.columns[i]!.type))),
        fromRows.map((r) => r.map((v, i) => canonicalText(v, table.columns[i]!.type))),
      );
      assert.deepEqual(
        fromColumns.find((r) => r[0] === 400),
        [400, 'x'.repeat(400), '148.00', 400001200n, '2001-02-04'],
      );
    } finally {
      await view.release();
    }
  });

  test('a value without a columnar form fails the read with UNSUPPORTED; a read stopped early leaves the next reads working', async () => {
    const source = conn.source!();
    const view = await source.snapshot(2);
    try {
      let rows = 0;
      await assert.rejects(
        (async () => {
          for await (const batch of source.readColumns!(await tableOf('endless'), {}, view, 100)!) rows += batch.rows;
        })(),
        (e: unknown) =>
          e instanceof FerryError && e.code === 'UNSUPPORTED' && /infinite date has no columnar form/.test(e.message),
      );
      assert.ok(rows < 2500, `${rows} rows came before the failure`);
      for await (const batch of source.readColumns!(await tableOf('wide'), {}, view, 1000)!) {
        assert.equal(batch.rows, 1000);
        break;
      }
      let total = 0;
      for await (const batch of source.readColumns!(await tableOf('wide'), {}, view, 5000)!) total += batch.rows;
      assert.equal(total, 30000);
    } finally {
      await view.release();
    }
  });
});

describe('postgres: target', () => {
  let conn: Connector;
  let url: string;
  before(async () => {
    url = await freshPg('ferry_pg_target_more');
    conn = await open(url);
  });
  after(async () => conn?.close());

  test('counters continue after the copied rows, for identity and for numeric(20,0) columns', async () => {
    for (const native of ['bigint', 'numeric(20,0)']) {
      const t = nativeTable(conn, 'counted', [
        ['id', native],
        ['name', 'text'],
      ]);
      t.columns[0]!.autoIncrement = true;
      await conn.target!().prepare(t, 'drop');
      await conn.target!().writeChunk(
        { table: t, range: {}, replace: false, isolate: false },
        batchesOf(
          [
            [5n, 'five'],
            [41n, 'forty-one'],
          ].map(([id, n]) => [native === 'bigint' ? id : String(id), n]),
        ),
      );
      await conn.target!().finishTable(t);
      const { rows } = await pgExec(url, "INSERT INTO counted (name) VALUES ('next') RETURNING id::text AS id");
      assert.equal(rows[0].id, '42', native);
      const info = (await conn.introspect({ tables: ['counted'] })).tables[0]!;
      assert.equal(info.columns[0]!.autoIncrement, true);
    }
  });

  test("a failed index build is thrown once the table's other builds have ended, so a retried finishTable finds their indexes", async () => {
    const t = nativeTable(conn, 'slowbuild', [
      ['id', 'integer'],
      ['note', 'text'],
    ]);
    const slow = { name: 'slowbuild_note_idx', columns: ['note'], unique: false };
    t.indexes = [slow, { name: 'slowbuild_nope_idx', columns: ['nope'], unique: false }];
    const target = conn.target!();
    await target.prepare(t, 'drop');
    await pgExec(
      url,
      'INSERT INTO slowbuild SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 300000) g',
    );
    await assert.rejects(target.finishTable(t), /nope/);
    const built = await pgExec(url, "SELECT indexname FROM pg_indexes WHERE tablename = 'slowbuild' ORDER BY 1");
    assert.deepEqual(
      built.rows.map((r: { indexname: string }) => r.indexname),
      ['slowbuild_note_idx', 'slowbuild_pkey'],
      'the other builds had ended (committed) when the failure was thrown',
    );
    t.indexes = [slow];
    await target.finishTable(t);
    const after = await pgExec(url, "SELECT indexname FROM pg_indexes WHERE tablename = 'slowbuild' ORDER BY 1");
    assert.deepEqual(
      after.rows.map((r: { indexname: string }) => r.indexname),
      ['slowbuild_note_idx', 'slowbuild_pkey'],
    );
    const key = await pgExec(url, "SELECT conname FROM pg_constraint WHERE conrelid = 'slowbuild'::regclass");
    assert.deepEqual(
      key.rows.map((r: { conname: string }) => r.conname),
      ['slowbuild_pkey'],
    );
  });

  test('a fresh table takes raw rows of unique keys before its primary key, which comes before any other write; finishTable builds the keys beside the indexes', async () => {
    const t = nativeTable(conn, 'latekey', [
      ['id', 'integer'],
      ['email', 'text'],
      ['n', 'integer'],
    ]);
    t.uniqueKeys = [['email']];
    t.indexes = [{ name: 'latekey_n_idx', columns: ['n'], unique: false }];
    const constraints = async () =>
      (
        await pgExec(
          url,
          "SELECT conname || ' ' || contype::text AS c FROM pg_constraint WHERE conrelid = 'latekey'::regclass ORDER BY 1",
        )
      ).rows.map((r: { c: string }) => r.c);
    await pgExec(url, 'DROP TABLE IF EXISTS latekey_src');
    await pgExec(url, 'CREATE TABLE latekey_src (id integer PRIMARY KEY, email text, n integer)');
    await pgExec(url, "INSERT INTO latekey_src SELECT g, 'u' || g || '@x', g % 7 FROM generate_series(1, 100) g");
    const from = sourceOf({ ...t, name: 'latekey_src' });
    const source = conn.source!();
    const target = conn.target!();
    await target.prepare(t, 'drop');
    assert.deepEqual(await constraints(), []);
    const notNull = await pgExec(
      url,
      "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'latekey'::regclass AND attname = 'id'",
    );
    assert.equal(notNull.rows[0].attnotnull, true, 'the key column is NOT NULL from the start');
    const view = await source.snapshot(1);
    try {
      const raw = (range: { lower?: unknown[]; upper?: unknown[] }, replace: boolean) =>
        target.writeRaw!(
          { table: t, range, replace, isolate: false, keyUnique: true },
          source.readRaw!(from, range, view),
        );
      assert.equal((await raw({ upper: [51] }, false)).rows, 50);
      assert.deepEqual(await constraints(), [], 'a first raw write of unique keys leaves the key for later');
      // a replayed chunk: the key first, then the chunk's rows replaced through it
      assert.equal((await raw({ upper: [51] }, true)).rows, 50);
      assert.deepEqual(await constraints(), ['latekey_pkey p']);
      assert.equal((await raw({ lower: [51] }, false)).rows, 50);
    } finally {
      await view.release();
    }
    const { rows } = await pgExec(url, 'SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM latekey');
    assert.deepEqual(rows[0], { n: 100, ids: 100 });
    await target.finishTable(t);
    assert.deepEqual(await constraints(), ['latekey_email_key u', 'latekey_pkey p']);
    // again (a retried finish): nothing is built twice
    await target.finishTable(t);
    assert.deepEqual(await constraints(), ['latekey_email_key u', 'latekey_pkey p']);
    const indexes = await pgExec(url, "SELECT indexname FROM pg_indexes WHERE tablename = 'latekey' ORDER BY 1");
    assert.deepEqual(
      indexes.rows.map((r: { indexname: string }) => r.indexname),
      ['latekey_email_key', 'latekey_n_idx', 'latekey_pkey'],
    );

    // rows (not raw): the key is there before the first of them, and a repeated key is a reject
    const u = nativeTable(conn, 'latekey_rows', [
      ['id', 'integer'],
      ['note', 'text'],
    ]);
    await target.prepare(u, 'drop');
    const written = await target.writeChunk(
      { table: u, range: {}, replace: false, isolate: true },
      batchesOf([
        [1, 'a'],
        [1, 'b'],
        [2, 'c'],
      ]),
    );
    assert.equal(written.rows, 2);
    assert.equal(written.rejects.length, 1);
    assert.match(written.rejects[0]!.reason, /duplicate key/);
  });

  test('a write whose connection is terminated is a transient WRITE_FAILED, and its rows stop being pulled', async () => {
    const t = nativeTable(conn, 'endless', [
      ['id', 'integer'],
      ['note', 'text'],
    ]);
    await conn.target!().prepare(t, 'drop');
    await writeUntilKilled(conn.target!(), t, async () => {
      const { rows } = await pgExec(
        url,
        "SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY %endless%'",
      );
      return rows.length > 0;
    });
  });

  test(
    'a connection cut as a COPY starts fails the write as transient (and does not wait for the COPY forever)',
    {
      timeout: 60_000,
    },
    async () => {
      // the server never answers the COPY: the connection ends before it sees it
      const proxy = await pgProxy({
        toServer: (chunk, { client, upstream }) => {
          if (!chunk.includes('COPY ')) return void upstream.write(chunk);
          client.destroy();
          upstream.destroy();
        },
      });
      const cut = await open(url.replace(`@${hostPort(PG_BASE)}/`, `@127.0.0.1:${proxy.port}/`));
      try {
        const t = nativeTable(cut, 'cut', [
          ['id', 'integer'],
          ['note', 'text'],
        ]);
        await cut.target!().prepare(t, 'drop');
        const rows = Array.from({ length: 5000 }, (_, i) => [i, `row ${i}`]);
        await assert.rejects(
          cut.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(rows, 100)),
          (e: FerryError) => e.code === 'WRITE_FAILED' && e.transient,
        );
      } finally {
        await cut.close();
        await proxy.close();
      }
    },
  );

  test('truncate empties the table and takes its foreign keys off until addForeignKeys; indexes and keys are not duplicated', async () => {
    const parent = nativeTable(conn, 'tparent', [['id', 'integer']]);
    const child = nativeTable(conn, 'tchild', [
      ['id', 'integer'],
      ['parent_id', 'integer'],
    ]);
    child.indexes = [{ name: 'tchild_parent', columns: ['parent_id'], unique: false }];
    child.uniqueKeys = [['parent_id', 'id']];
    child.foreignKeys = [
      {
        name: 'tchild_parent_fk',
        columns: ['parent_id'],
        refTable: 'tparent',
        refColumns: ['id'],
        onDelete: 'cascade',
      },
    ];
    for (const t of [parent, child]) await conn.target!().prepare(t, 'drop');
    await conn.target!().writeChunk(
      { table: parent, range: {}, replace: false, isolate: false },
      batchesOf([[1], [2]]),
    );
    await conn.target!().writeChunk(
      { table: child, range: {}, replace: false, isolate: false },
      batchesOf([
        [1, 1],
        [2, 2],
      ]),
    );
    for (const t of [parent, child]) await conn.target!().finishTable(t);
    await conn.target!().addForeignKeys(child);
    // a second run over the same tables
    for (const t of [parent, child]) await conn.target!().prepare(t, 'truncate');
    assert.equal(await conn.target!().count(child, {}), 0);
    await conn.target!().writeChunk({ table: child, range: {}, replace: false, isolate: false }, batchesOf([[1, 7]]));
    await conn.target!().writeChunk({ table: parent, range: {}, replace: false, isolate: false }, batchesOf([[7]]));
    for (const t of [parent, child]) await conn.target!().finishTable(t);
    await conn.target!().addForeignKeys(child);
    const info = (await conn.introspect({ tables: ['tchild'] })).tables[0]!;
    assert.deepEqual(info.foreignKeys, [
      {
        name: 'tchild_parent_fk',
        columns: ['parent_id'],
        refTable: 'tparent',
        refColumns: ['id'],
        onDelete: 'CASCADE',
      },
    ]);
    assert.deepEqual(
      info.indexes.map((i) => i.name),
      ['tchild_parent'],
    );
    assert.deepEqual(info.uniqueKeys, [['parent_id', 'id']]);
  });

  test('an index name another table already uses gets the table name in front', async () => {
    const a = nativeTable(conn, 'idx_a', [
      ['id', 'integer'],
      ['name', 'text'],
    ]);
    const b = nativeTable(conn, 'idx_b', [
      ['id', 'integer'],
      ['name', 'text'],
    ]);
    for (const t of [a, b]) {
      t.indexes = [{ name: 'by_name', columns: ['name'], unique: false }];
      await conn.target!().prepare(t, 'drop');
      await conn.target!().finishTable(t);
    }
    const schema = await conn.introspect({ tables: ['idx_a', 'idx_b'] });
    assert.deepEqual(
      schema.tables.map((t) => t.indexes.map((i) => i.name)),
      [['by_name'], ['idx_b_by_name']],
    );
  });

  test('check names unknown types and names PostgreSQL would cut', async () => {
    const t = nativeTable(conn, 'checked', [
      ['id', 'integer'],
      ['small', 'tinyint'],
      ['bad', 'int('],
      ['ok', "enum('a')"],
      ['x'.repeat(64), 'text'],
    ]);
    const findings = await conn.target!().check([t]);
    assert.deepEqual(
      findings.map((f) => [f.severity, f.code, f.column ?? '']),
      [
        ['error', 'NAME_TOO_LONG', ''],
        ['error', 'UNKNOWN_TYPE', 'small'],
        ['error', 'UNKNOWN_TYPE', 'bad'],
      ],
    );
    assert.deepEqual(
      await conn.target!().check([
        nativeTable(conn, 'fine', [
          ['id', 'integer'],
          ['at', 'timestamptz(3)'],
          ['n', 'numeric(20,0)'],
          ['tags', 'text[]'],
        ]),
      ]),
      [],
    );
  });

  test('a schema in the URL is where tables are created; other schemas are written schema.table', async () => {
    const inSales = await open(`${url}?schema=ferry_sales`);
    try {
      const t = nativeTable(inSales, 'orders', [
        ['id', 'integer'],
        ['size', "enum('s','m')"],
      ]);
      await inSales.target!().prepare(t, 'fail');
      await inSales.target!().writeChunk(
        { table: t, range: {}, replace: false, isolate: false },
        batchesOf([[1, 'm']]),
      );
      await pgExec(url, 'CREATE TABLE public.plain (id int PRIMARY KEY)');
      const fromSales = (await inSales.introspect()).tables.map((x) => x.name);
      assert.ok(fromSales.includes('orders') && fromSales.includes('public.plain'), fromSales.join());
      const fromPublic = await conn.introspect({ tables: ['ferry_sales.orders'] });
      assert.equal(fromPublic.tables[0]!.name, 'ferry_sales.orders');
      assert.deepEqual(await readAll(conn, { ...sourceOf(t), name: 'ferry_sales.orders' }), [[1, 'm']]);
      // live changes too, and the positions are kept in the URL's schema
      await inSales.target!().applyChanges!([{ table: t, change: { op: 'upsert', row: [1, 's'] } }], 'sales', 'p1');
      assert.deepEqual(await readAll(conn, { ...sourceOf(t), name: 'ferry_sales.orders' }), [[1, 's']]);
      const { rows } = await pgExec(url, 'SELECT stream, position FROM ferry_sales._ferry_positions');
      assert.deepEqual(rows, [{ stream: 'sales', position: 'p1' }]);
      assert.equal(await conn.target!().appliedPosition!('sales'), undefined);
    } finally {
      await inSales.close();
    }
  });

  test('live changes: a connection terminated inside a batch leaves neither the batch nor its position', async () => {
    await applyUntilKilled(conn, async () => {
      const { rows } = await pgExec(
        url,
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL',
      );
      return rows.length > 0;
    });
  });

  test("live changes: a key changed in place takes the rows that refer to it along, by the target's foreign keys", async () => {
    const target = conn.target!();
    const parent = nativeTable(conn, 'renumbered', [
      ['id', 'integer'],
      ['name', 'text'],
    ]);
    const child = nativeTable(conn, 'renumbered_child', [
      ['id', 'integer'],
      ['parent_id', 'integer'],
    ]);
    child.foreignKeys = [
      {
        name: 'renumbered_child_parent',
        columns: ['parent_id'],
        refTable: 'renumbered',
        refColumns: ['id'],
        onUpdate: 'CASCADE',
      },
    ];
    for (const [t, rows] of [
      [
        parent,
        [
          [1, 'one'],
          [2, 'two'],
        ],
      ],
      [
        child,
        [
          [10, 1],
          [11, 1],
          [12, 2],
        ],
      ],
    ] as const) {
      await target.prepare(t, 'drop');
      await target.writeChunk(
        { table: t, range: {}, replace: false, isolate: false },
        batchesOf(rows.map((r) => [...r])),
      );
    }
    await target.addForeignKeys(child);
    await target.applyChanges!(
      [{ table: parent, change: { op: 'update', key: [1], row: [100, 'one, renumbered'] } }],
      'renumbered',
      '1',
    );
    assert.deepEqual(await readAll(conn, sourceOf(parent)), [
      [2, 'two'],
      [100, 'one, renumbered'],
    ]);
    assert.deepEqual(await readAll(conn, sourceOf(child)), [
      [10, 100],
      [11, 100],
      [12, 2],
    ]);
  });

  test('live changes into PostGIS geometry keep each value with its SRID', async () => {
    const gisUrl = await freshPg('ferry_pg_apply_gis');
    await pgExec(gisUrl, 'CREATE EXTENSION postgis');
    const gis = await open(gisUrl);
    try {
      const t = nativeTable(gis, 'places', [
        ['id', 'integer'],
        ['spot', 'geometry'],
      ]);
      await gis.target!().prepare(t, 'drop');
      const point = new Uint8Array(Buffer.from('0101000020E6100000000000000000F03F0000000000000040', 'hex'));
      await gis.target!().applyChanges!([{ table: t, change: { op: 'upsert', row: [1, point] } }], 'gis', '1');
      const { rows } = await pgExec(gisUrl, 'SELECT ST_AsEWKT(spot) AS spot FROM places');
      assert.deepEqual(rows, [{ spot: 'SRID=4326;POINT(1 2)' }]);
    } finally {
      await gis.close();
    }
  });
});

describe('postgres: source', () => {
  let conn: Connector;
  let url: string;
  let table: SourceTable;
  const N = 1000;
  before(async () => {
    url = await freshPg('ferry_pg_source_more');
    conn = await open(url);
    const t = nativeTable(
      conn,
      'pairs',
      [
        ['a', 'integer'],
        ['b', 'date'],
        ['note', 'text'],
      ],
      ['a', 'b'],
    );
    await conn.target!().prepare(t, 'fail');
    const rows = Array.from({ length: N }, (_, i) => [
      Math.floor(i / 10),
      `2024-01-${String((i % 10) + 1).padStart(2, '0')}`,
      `row ${i}`,
    ]);
    await conn.target!().writeChunk({ table: t, range: {}, replace: false, isolate: false }, batchesOf(rows));
    table = sourceOf(t);
  });
  after(async () => conn?.close());

  test('split by a composite key covers every row once; a range within splits again', async () => {
    const view = await conn.source!().snapshot(2);
    try {
      const ranges = await conn.source!().split(table, 150, view);
      assert.equal(ranges.length, 7);
      const seen = new Set<string>();
      for (const r of ranges) {
        const rows = await collect(conn.source!().read(table, r, view, 64));
        assert.ok(rows.length <= 150, `${rows.length} rows`);
        for (const row of rows) seen.add(`${row[0]}|${row[1]}`);
      }
      assert.equal(seen.size, N);
      const inner = await conn.source!().split(table, 40, view, ranges[2]);
      const counts = await Promise.all(inner.map((r) => conn.source!().count(table, r, view)));
      assert.equal(
        counts.reduce((a, b) => a + b, 0),
        150,
      );
      assert.deepEqual(inner[0]!.lower, ranges[2]!.lower);
      assert.deepEqual(inner.at(-1)!.upper, ranges[2]!.upper);
    } finally {
      await view.release();
    }
  });

  test('an abandoned read or a failed one gives its reader back renewed, on the same snapshot', async () => {
    const view = await conn.source!().snapshot(1);
    try {
      await pgExec(url, "INSERT INTO pairs VALUES (5000, '2024-01-01', 'after the snapshot')");
      for await (const batch of conn.source!().read(table, {}, view, 10)) {
        assert.equal(batch.rows.length, 10);
        break;
      }
      await rejectsWith(
        collect(conn.source!().read({ ...table, where: 'no_such_column > 1' }, {}, view, 10)),
        'READ_FAILED',
        /no_such_column/,
      );
      // one reader: the second read waits for the first
      const [x, y] = await Promise.all([
        collect(conn.source!().read(table, {}, view, 100)),
        conn.source!().count(table, { lower: [50, '2024-01-01'] }, view),
      ]);
      assert.equal(x.length, N);
      assert.equal(y, N / 2);
    } finally {
      await view.release();
    }
    await rejectsWith(conn.source!().count(table, {}, view), 'INTERNAL', /after its release/);
  });

  test('a COPY whose bytes arrive a few at a time reads the same rows; an error after rows have streamed is named', async () => {
    const proxy = await tricklingProxy();
    const slow = await open(url.replace(`@${hostPort(PG_BASE)}/`, `@127.0.0.1:${proxy.port}/`));
    try {
      const direct = await readAll(conn, table);
      assert.deepEqual(await readAll(slow, table), direct);
      const view = await slow.source!().snapshot(1);
      try {
        // rows are stored in key order: those before a = 60 stream before the division fails
        await rejectsWith(
          collect(slow.source!().read({ ...table, where: '1 / (a - 60) <> 2' }, {}, view, 10)),
          'READ_FAILED',
          /division by zero/,
        );
        assert.equal((await collect(slow.source!().read(table, {}, view, 100))).length, direct.length);
      } finally {
        await view.release();
      }
    } finally {
      await slow.close();
      await proxy.close();
    }
  });

  test('a snapshot whose exporting connection died says so', async () => {
    const view = await conn.source!().snapshot(1);
    try {
      await pgExec(
        url,
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_export_snapshot%' AND pid <> pg_backend_pid()",
      );
      await rejectsWith(conn.source!().count(table, {}, view), 'SNAPSHOT_LOST', /snapshot is gone \(PostgreSQL at /);
    } finally {
      await view.release();
    }
  });

  test('a reader that died while the snapshot lives is replaced by one on the same snapshot', async () => {
    const view = await conn.source!().snapshot(1);
    try {
      const before = await conn.source!().count(table, {}, view);
      await pgExec(url, "INSERT INTO pairs VALUES (6000, '2024-01-01', 'after the snapshot')");
      const { rows } = await pgExec(
        url,
        "SELECT pg_terminate_backend(pid, 5000) AS gone FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction' AND query LIKE 'SELECT count(*) AS n FROM%'",
      );
      assert.deepEqual(rows, [{ gone: true }]);
      assert.equal(await conn.source!().count(table, {}, view), before);
    } finally {
      await view.release();
    }
  });

  test('a table that is not there is named', async () => {
    const view = await conn.source!().snapshot(1);
    try {
      await rejectsWith(
        collect(conn.source!().read({ ...table, name: 'no_such_table' }, {}, view, 10)),
        'TABLE_NOT_FOUND',
        /no_such_table/,
      );
    } finally {
      await view.release();
    }
  });

  test('orphans are counted unless PostgreSQL enforces the key: validated, its triggers firing', async () => {
    await pgExec(
      url,
      `CREATE TABLE fk_parent (id int PRIMARY KEY);
       CREATE TABLE fk_child (id int PRIMARY KEY, parent_id int);
       INSERT INTO fk_parent VALUES (1), (2);
       INSERT INTO fk_child VALUES (1, 1), (2, 9), (3, NULL), (4, 8);
       ALTER TABLE fk_child ADD CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES fk_parent (id) NOT VALID`,
    );
    const [info] = (await conn.introspect({ tables: ['fk_child'] })).tables;
    const fk = info!.foreignKeys.find((f) => f.name === 'fk_child_parent')!;
    const orphans = async () =>
      (await conn.source!().profile!(info!, [{ kind: 'orphans', foreignKey: fk }]))[0]!.answer;
    assert.deepEqual(await orphans(), { rows: 2 }, 'a NOT VALID key proves nothing');
    await pgExec(
      url,
      'DELETE FROM fk_child WHERE id IN (2, 4); ALTER TABLE fk_child VALIDATE CONSTRAINT fk_child_parent',
    );
    // while the key's triggers are off, rows go in unchecked: the validated key proves nothing
    await pgExec(url, 'ALTER TABLE fk_child DISABLE TRIGGER ALL; INSERT INTO fk_child VALUES (5, 7)');
    assert.deepEqual(await orphans(), { rows: 1 }, 'disabled triggers: counted');
    await pgExec(url, 'DELETE FROM fk_child WHERE id = 5; ALTER TABLE fk_child ENABLE TRIGGER ALL');
    // the key's word is taken: the count is not made (a replica-mode session, a superuser's, writes past it unseen)
    await pgExec(url, 'SET session_replication_role = replica; INSERT INTO fk_child VALUES (6, 6)');
    assert.deepEqual(await orphans(), { rows: 0 }, 'validated and enforced: no scan');
  });
});

describe('postgres: Pagila', () => {
  let conn: Connector;
  let url: string;
  before(async () => {
    url = await freshPg('ferry_pg_pagila');
    const dir = join(process.cwd(), '..', 'shared', 'datasets', 'pagila');
    for (const file of ['pagila-schema.sql', 'pagila-data.sql'])
      execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url, '-f', join(dir, file)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    await pgExec(url, 'ANALYZE');
    conn = await open(url);
  });
  after(async () => conn?.close());

  test('introspection finds every table once, with keys, foreign keys and mapped types; views and partitions are left out', async () => {
    const schema = await conn.introspect();
    assert.match(schema.version, /^\d+/);
    assert.deepEqual(
      schema.tables.map((t) => t.name),
      [
        'actor',
        'address',
        'category',
        'city',
        'country',
        'customer',
        'film',
        'film_actor',
        'film_category',
        'inventory',
        'language',
        'payment',
        'rental',
        'staff',
        'store',
      ],
    );
    for (const t of schema.tables) assert.ok(t.primaryKey.length > 0, `${t.name} has its primary key`);
    const byName = new Map(schema.tables.map((t) => [t.name, t]));
    const payment = byName.get('payment')!;
    assert.deepEqual(payment.primaryKey, ['payment_date', 'payment_id']);
    assert.equal(payment.rowEstimate, 16049, 'rows summed over the partitions');
    assert.ok(payment.bytesEstimate > 1_000_000);
    assert.deepEqual(payment.foreignKeys.map((f) => `${f.name}:${f.columns}->${f.refTable}`).sort(), [
      'payment_customer_id_fkey:customer_id->customer',
      'payment_rental_id_fkey:rental_id->rental',
      'payment_staff_id_fkey:staff_id->staff',
    ]);
    assert.equal(
      schema.tables.reduce((n, t) => n + t.foreignKeys.length, 0),
      21,
    );
    assert.deepEqual(byName.get('film_actor')!.primaryKey, ['actor_id', 'film_id']);
    const film = byName.get('film')!;
    const type = (table: string, column: string) =>
      formatType(byName.get(table)!.columns.find((c) => c.name === column)!.type);
    assert.equal(type('film', 'rating'), "enum('G','PG','PG-13','R','NC-17')");
    assert.equal(type('film', 'special_features'), 'array<text>');
    assert.equal(type('film', 'fulltext'), 'text');
    assert.equal(type('film', 'release_year'), 'int32', 'the year domain is its base type');
    assert.equal(type('film', 'rental_rate'), 'decimal(4,2)');
    assert.equal(type('payment', 'payment_date'), 'timestamptz(6)');
    assert.equal(type('staff', 'picture'), 'bytes');
    assert.equal(type('language', 'name'), 'char(20)');
    assert.equal(film.columns.find((c) => c.name === 'film_id')!.autoIncrement, true);
    assert.ok(
      film.indexes.some((i) => i.expression && /fulltext/.test(i.expression)),
      'the GiST index is kept as an expression',
    );
    assert.ok(
      byName
        .get('rental')!
        .indexes.some((i) => i.unique && i.columns.join() === 'rental_date,inventory_id,customer_id'),
    );
  });

  test('the partitioned payment table reads once through its parent, split by its composite key', async () => {
    const info = (await conn.introspect({ tables: ['payment'] })).tables[0]!;
    const payment: SourceTable = { name: 'payment', columns: info.columns, key: info.primaryKey };
    const view = await conn.source!().snapshot(3);
    try {
      const ranges = await conn.source!().split(payment, 3000, view);
      assert.equal(ranges.length, 6);
      const chunks = await Promise.all(ranges.map((r) => collect(conn.source!().read(payment, r, view, 1000))));
      const keys = new Set(chunks.flat().map((r) => `${r[5]}|${r[0]}`));
      assert.equal(keys.size, 16049);
      const first = chunks[0]![0]!;
      assert.equal(typeof first[0], 'number');
      assert.match(first[4] as string, /^\d+\.\d\d$/);
      assert.match(first[5] as string, /^2022-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?Z$/);
    } finally {
      await view.release();
    }
    const film = (await conn.introspect({ tables: ['film'] })).tables[0]!;
    const rows = await readAll(conn, { name: 'film', columns: film.columns, key: ['film_id'], where: 'film_id = 1' });
    const col = (name: string) => rows[0]![film.columns.findIndex((c) => c.name === name)];
    assert.equal(col('rating'), 'PG');
    assert.deepEqual(col('special_features'), ['Deleted Scenes', 'Behind the Scenes']);
    assert.match(col('fulltext') as string, /'academi':1/);
    assert.equal(canonicalText(col('rental_rate'), film.columns.find((c) => c.name === 'rental_rate')!.type), '0.99');
  });
});

describe('postgres: connection errors', () => {
  test('an unreachable server', async () => {
    await rejectsWith(
      open('postgres://postgres@127.0.0.1:1/postgres'),
      'CONNECT_FAILED',
      /cannot reach PostgreSQL at 127\.0\.0\.1:1/,
    );
  });

  test('a database that does not exist', async () => {
    await rejectsWith(
      open(`${PG_BASE}/ferry_pg_no_such_db`),
      'DATABASE_NOT_FOUND',
      /"ferry_pg_no_such_db" does not exist/,
    );
  });

  test('a malformed URL parameter', async () => {
    await rejectsWith(open(`${PG_BASE}/postgres?sslmode=sometimes`), 'URL_INVALID', /sslmode/);
    await rejectsWith(open(`${PG_BASE}/postgres?colour=blue`), 'URL_INVALID', /colour/);
  });

  describe('with password authentication', () => {
    let server: PrivatePostgres;
    before(async () => {
      server = await privatePostgres({ password: 's3cret-Pa55' });
    });
    after(() => server?.stop());

    test('the right password connects', async () => {
      const c = await open(`postgres://postgres:s3cret-Pa55@127.0.0.1:${server.port}/postgres`);
      await c.close();
    });

    test('a wrong password is refused without showing it', async () => {
      const e = await rejectsWith(
        open(`postgres://postgres:wr0ng-Guess@127.0.0.1:${server.port}/postgres`),
        'AUTH_FAILED',
        /refused the password for user postgres/,
      );
      assert.doesNotMatch(`${e.message} ${e.action}`, /wr0ng-Guess/);
      assert.equal(e.transient, false);
    });

    test('a missing password is asked for', async () => {
      const saved = process.env.PGPASSWORD;
      delete process.env.PGPASSWORD;
      try {
        await rejectsWith(
          open(`postgres://postgres@127.0.0.1:${server.port}/postgres`),
          'AUTH_FAILED',
          /wants a password/,
        );
      } finally {
        if (saved !== undefined) process.env.PGPASSWORD = saved;
      }
    });
  });
});
