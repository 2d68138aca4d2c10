// PostgreSQL → PostgreSQL without decoding: a table whose mapping changes no value goes chunk by
// chunk as the source's binary COPY straight into the target's (the audit log's `as: raw`), every
// value arriving exactly; a transform or a type change sends it by the decoding paths; a run
// killed mid-copy resumes to every row once.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { ZOO } from '../fixtures/zoo.js';
import { freshPg, pgExec } from '../helpers.js';
import { ferry, killMidRun, planFor } from './support.js';

/** How each chunk of the plan's last run was written, by the audit log, counted by table. */
function writtenAs(planDir: string): Record<string, Record<string, number>> {
  const auditDir = join(planDir, '.ferry', 'audit');
  const out: Record<string, Record<string, number>> = {};
  for (const file of readdirSync(auditDir).sort())
    for (const line of readFileSync(join(auditDir, file), 'utf8').trim().split('\n')) {
      const e = JSON.parse(line) as { event: string; table?: string; as?: string };
      if (e.event !== 'chunk written') continue;
      const t = (out[e.table!] ??= {});
      t[e.as!] = (t[e.as!] ?? 0) + 1;
    }
  return out;
}

/** A table's rows as PostgreSQL prints them, in key order: equal text is equal values. */
async function rowsText(url: string, table: string): Promise<string[]> {
  const { rows } = await pgExec(url, `SELECT t::text AS r FROM "${table}" t ORDER BY 1`);
  return rows.map((r: { r: string }) => r.r);
}

/** Every built-in type ferry knows, with the edge values of each (infinities, NaN, extremes, NULL). */
const KNOWN_TYPES = [
  `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`,
  `CREATE TABLE every_type (
     id int PRIMARY KEY, b bool, s int2, i int4, l int8, n numeric(30,10), nn numeric, r real, d double precision,
     t text, v varchar(20), c char(3), j json, jb jsonb, by bytea, u uuid, dt date, tm time(6), ttz timetz,
     ts timestamp(6), tstz timestamptz, iv interval, bt bit(4), vb varbit, m mood, ta text[], ia int8[][], na numeric[])`,
  `INSERT INTO every_type VALUES
     (1, true, -32768, -2147483648, -9223372036854775808, -12345678901234567890.0123456789, 'NaN', 'NaN', '-Infinity',
      'ü € 𝄞 ''"\\', 'abc', 'ab', '{"a": [1, 2.50, null]}', '{"z": 1, "a": "é"}', '\\x00ff10', '123e4567-e89b-12d3-a456-426614174000',
      'infinity', '23:59:59.999999', '12:00:00+05:30', '-infinity', '2024-02-29 12:34:56.789012+00', '-178000000 years',
      B'1010', B'', 'happy', '{"a b",NULL,"c,d"}', '{{1,2},{3,4}}', '{1.5,NaN,-0}'),
     (2, false, 32767, 2147483647, 9223372036854775807, 0.0000000001, 1e-30, 3.4028235e38, 1.7976931348623157e308,
      '', '', '', 'null', '[]', '\\x', '00000000-0000-0000-0000-000000000000',
      '4713-01-01 BC', '00:00:00', '00:00:00-15:59', '294276-12-31 23:59:59.999999', '4713-01-01 00:00:00+00 BC', '1 mon -2 days 00:00:00.000001',
      B'0000', B'1', 'sad', '{}', '{}', '{}'),
     (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
  `INSERT INTO every_type (id, t, l) SELECT g, 'row ' || g, g * 1000003 FROM generate_series(4, 40) g`,
];

describe('PostgreSQL → PostgreSQL: chunks pass through undecoded when no value changes', () => {
  const pgZoo = ZOO.filter((z) => z.engine === 'postgres');

  test('every type ferry knows, and every table of the PostgreSQL zoo: raw, every value exact', async () => {
    const schemas = [{ name: 'known', sql: KNOWN_TYPES }, ...pgZoo];
    for (const z of schemas) {
      const source = await freshPg(`ferry_raw_${z.name}`);
      for (const s of z.sql) await pgExec(source, s);
      const target = await freshPg(`ferry_raw_${z.name}_dst`);
      const { file, dir, plan } = await planFor(source, target, () => {}, { rowsPerChunk: 2 });
      const summary = await runPlan(file);
      assert.equal(summary.rejects, 0, z.name);
      const tables = plan.waves.flatMap((w) => w.tables.map((t) => t.target));
      const as = writtenAs(dir);
      for (const table of tables) {
        assert.deepEqual(Object.keys(as[table] ?? {}), ['raw'], `${z.name}.${table}: ${JSON.stringify(as[table])}`);
        const expected = await rowsText(source, table);
        assert.ok(expected.length > 0, table);
        assert.deepEqual(await rowsText(target, table), expected, `${z.name}.${table}`);
      }
      const verify = ferry(['verify', file], { cwd: dir });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    }
  });

  test('a transform or a type change: the table goes by the decoding paths, values as the plan maps them', async () => {
    const source = await freshPg('ferry_raw_mapped');
    await pgExec(source, 'CREATE TABLE masked (id int PRIMARY KEY, secret text, n int4)');
    await pgExec(source, 'CREATE TABLE widened (id int PRIMARY KEY, n int4)');
    await pgExec(source, 'CREATE TABLE kept (id int PRIMARY KEY, n int4)');
    for (const t of ['masked', 'widened', 'kept'])
      await pgExec(
        source,
        `INSERT INTO ${t} SELECT g, ${t === 'masked' ? "'secret ' || g, " : ''}g * 7 FROM generate_series(1, 10) g`,
      );
    const target = await freshPg('ferry_raw_mapped_dst');
    const { file, dir } = await planFor(
      source,
      target,
      (p) => {
        const table = (name: string) => p.waves.flatMap((w) => w.tables).find((t) => t.source === name)!;
        table('masked').columns.find((c) => c.source === 'secret')!.transform = {
          mask: { keepFirst: 2, keepLast: 0, char: '*' },
        };
        const n = table('widened').columns.find((c) => c.source === 'n')!;
        n.type = 'bigint';
      },
      { rowsPerChunk: 5 },
    );
    assert.equal((await runPlan(file)).rejects, 0);
    const as = writtenAs(dir);
    assert.deepEqual(as.kept, { raw: 2 });
    assert.equal(as.masked!.raw, undefined, JSON.stringify(as.masked));
    assert.equal(as.widened!.raw, undefined, JSON.stringify(as.widened));
    assert.deepEqual((await pgExec(target, 'SELECT secret FROM masked WHERE id = 10')).rows[0], {
      secret: 'se*******',
    });
    const widened = await pgExec(
      target,
      "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'widened'::regclass AND attname = 'n'",
    );
    assert.equal(widened.rows[0].t, 'bigint');
    assert.deepEqual(await rowsText(target, 'widened'), await rowsText(source, 'widened'));
    assert.deepEqual(await rowsText(target, 'kept'), await rowsText(source, 'kept'));
  });

  test('a run killed mid-copy (SIGKILL) resumes: every row once, the chunks raw', async () => {
    const rows = 400_000;
    const source = await freshPg('ferry_raw_killed');
    await pgExec(source, 'CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2))');
    await pgExec(
      source,
      `INSERT INTO items SELECT g, 'item ' || g || ' ü', g % 1000 / 100.0 FROM generate_series(1, ${rows}) g`,
    );
    await pgExec(source, 'ANALYZE items');
    const target = await freshPg('ferry_raw_killed_dst');
    const { file, dir } = await planFor(source, target, (p) => (p.settings.parallelism = 2), { rowsPerChunk: 5_000 });
    await killMidRun(file, dir, 2);
    const again = ferry(['run', file], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    const counts = await pgExec(
      target,
      'SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, sum(id)::text AS s FROM items',
    );
    assert.deepEqual(counts.rows[0], { n: rows, d: rows, s: String((rows * (rows + 1)) / 2) });
    const as = writtenAs(dir);
    assert.deepEqual(Object.keys(as.items!), ['raw']);
    assert.ok(as.items!.raw! >= rows / 5_000, JSON.stringify(as));
    const verify = ferry(['verify', file], { cwd: dir });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
