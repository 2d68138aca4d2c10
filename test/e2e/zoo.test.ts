// The schema zoo (test/fixtures/zoo.ts) through every engine pair, a folder and DynamoDB (dynalite):
// the default lifecycle (plan, run, verify) with no hand edit, then every value of every row
// compared, source against target.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { CanonicalType, KeyRange } from '../../src/core/types.js';
import { canonicalText, convertValue, stateParse } from '../../src/core/values.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { openSession } from '../../src/pipeline/session/session.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { startDynalite, type LocalDynamo } from '../connectors/dynamodb-local.js';
import { ZOO, type ZooSchema, type ZooTarget } from '../fixtures/zoo.js';
import { dbName, mariadbClientArgs, pgExec, tmpDir } from '../helpers.js';
import { freshDb, planFor } from './support.js';

async function load(z: ZooSchema): Promise<string> {
  const url = await freshDb(z.engine, `ferry_zoo_${z.name}`);
  if (z.engine === 'postgres') for (const s of z.sql) await pgExec(url, s);
  else if (z.engine === 'mysql')
    execFileSync('mariadb', [...mariadbClientArgs(), '--default-character-set=utf8mb4', dbName(url)], {
      input: z.sql.map((s) => `${s};`).join('\n'),
    });
  else {
    const db = new Database(url.slice('sqlite:'.length));
    for (const s of z.sql) db.exec(s);
    db.close();
  }
  return url;
}

/** Rows as canonical text by key, values of the target converted to the source's types. */
function byKey(
  rows: unknown[][],
  key: number[],
  types: CanonicalType[],
  from?: CanonicalType[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const row of rows) {
    const text = row.map((v, i) => canonicalText(from ? convertValue(v, from[i]!, types[i]!) : v, types[i]!));
    out.set(JSON.stringify(key.map((k) => text[k])), text);
  }
  return out;
}

/** Every value of every table, read from the source and read back from the target, compared (but the rejected rows). */
async function compareValues(planFile: string, rejected: Map<string, Set<string>>): Promise<number> {
  const session = await openSession(planFile);
  let compared = 0;
  try {
    const view = await session.source.source!().snapshot(1);
    try {
      for (const m of session.waves.flat()) {
        const whole: KeyRange = {};
        const read = async (batches: AsyncIterable<{ rows: unknown[][] }>) => {
          const rows: unknown[][] = [];
          for await (const b of batches) rows.push(...b.rows);
          return rows;
        };
        const sourceTypes = m.source.columns.map((c) => c.type);
        const key = m.plan.primaryKey.map((k) => m.target.columns.findIndex((c) => c.name === k));
        const expected = byKey(await read(session.source.source!().read(m.source, whole, view, 500)), key, sourceTypes);
        for (const k of rejected.get(m.target.name) ?? []) expected.delete(k);
        const actual = byKey(
          await read(session.target.target!().readBack(m.target, whole, 500)),
          key,
          sourceTypes,
          m.target.columns.map((c) => c.type),
        );
        assert.equal(actual.size, expected.size, `${m.target.name}: row count`);
        for (const [k, row] of expected) {
          assert.deepEqual(actual.get(k), row, `${m.target.name} ${k}`);
          compared += row.length;
        }
      }
    } finally {
      await view.release();
    }
  } finally {
    await session.close();
  }
  return compared;
}

/** The rejects a run recorded: table, key text (as byKey writes it) and reason. */
function recordedRejects(dir: string, tables: string[]): { table: string; key: string; reason: string }[] {
  return tables.flatMap((table) => {
    const file = join(dir, '.ferry', 'rejects', `${table}.ndjson`);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => stateParse<{ row: unknown[]; reason: string }>(l))
      .map((r) => ({ table, key: JSON.stringify([String(r.row[0])]), reason: r.reason }));
  });
}

const TARGETS: ZooTarget[] = ['postgres', 'mysql', 'sqlite', 'folder', 'dynamodb'];

describe('the schema zoo through every engine pair', () => {
  let dynamo: LocalDynamo;
  before(async () => {
    dynamo = await startDynalite();
  });
  after(async () => {
    await dynamo.stop();
  });

  const targetUrl = async (z: ZooSchema, to: ZooTarget) =>
    to === 'folder'
      ? `file:${tmpDir('ferry-zoo-')}`
      : to === 'dynamodb'
        ? dynamo.url
        : await freshDb(to, `ferry_zoo_${z.name}_${to}`);

  for (const z of ZOO)
    for (const to of TARGETS)
      test(
        `${z.name} (${z.engine}) -> ${to}: planned, run, verified, every value compared`,
        { skip: z.pending?.[to] },
        async () => {
          const source = await load(z);
          const target = await targetUrl(z, to);
          const expected = (z.rejects?.[to] ?? []).map((r) => ({ ...r, key: JSON.stringify(r.key.map(String)) }));
          const { file, dir, plan } = await planFor(source, target, (p) => (p.settings.maxRejects = expected.length), {
            rowsPerChunk: 2,
          });
          assert.equal((await runPlan(file)).rejects, expected.length);
          const tables = plan.waves.flatMap((w) => w.tables.map((t) => t.target));
          assert.deepEqual(recordedRejects(dir, tables), expected);
          const v = await verifyPlan(file);
          for (const t of v.tables) {
            const rejected = expected.filter((r) => r.table === t.table).length;
            assert.equal(t.rejected, rejected, t.table);
            if (rejected === 0) assert.equal(t.status, 'match', JSON.stringify(t));
          }
          const rejectedKeys = new Map<string, Set<string>>();
          for (const r of expected) rejectedKeys.set(r.table, (rejectedKeys.get(r.table) ?? new Set()).add(r.key));
          assert.ok((await compareValues(file, rejectedKeys)) > 0);
        },
      );
});
