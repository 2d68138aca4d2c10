// The planner's invariant, as a property: every plan `ferry plan` writes passes `ferry run`'s
// validation, runs, and verifies, with no hand edit. Random schemas (test/fixtures/random-schema.ts:
// foreign-key graphs, names at and over each engine's limits, names that collide in the target,
// the types each source holds, keys on several types) from each source engine go into every kind
// of target. FERRY_PROPERTY_CASES schemas per source engine (default 1); FERRY_PROPERTY_SEED
// repeats a run (every failure names its seed).
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { startDynalite, type LocalDynamo } from '../connectors/dynamodb-local.js';
import { randomSchema, type GenSchema } from '../fixtures/random-schema.js';
import { dbName, mariadbClientArgs, pgExec, tmpDir } from '../helpers.js';
import { ENGINES, freshDb, planFor, type Engine } from './support.js';

const SEED = Number(process.env.FERRY_PROPERTY_SEED ?? randomInt(2 ** 31));
const CASES = Number(process.env.FERRY_PROPERTY_CASES ?? 1);
const TARGETS = ['postgres', 'mysql', 'sqlite', 'folder', 'dynamodb'] as const;

async function load(s: GenSchema, name: string): Promise<string> {
  const url = await freshDb(s.engine, name);
  if (s.engine === 'postgres') await pgExec(url, s.sql.join(';\n'));
  else if (s.engine === 'mysql')
    execFileSync('mariadb', [...mariadbClientArgs(), '--default-character-set=utf8mb4', dbName(url)], {
      input: s.sql.map((x) => `${x};`).join('\n'),
    });
  else {
    const db = new Database(url.slice('sqlite:'.length));
    // rows refer to tables filled after theirs (cycles); SQLite as applications use it checks no key
    db.pragma('foreign_keys = OFF');
    for (const x of s.sql) db.exec(x);
    db.close();
  }
  return url;
}

/** What a failure needs to be found again: the seed, and the schema's statements. */
function context(s: GenSchema): string {
  return `seed ${s.seed} (FERRY_PROPERTY_SEED=${SEED}); the schema:\n${s.sql.join(';\n')}`;
}

describe(`plan, run and verify random schemas with no edit (seed ${SEED}, ${CASES} per source)`, () => {
  let dynamo: LocalDynamo;
  before(async () => {
    dynamo = await startDynalite();
  });
  after(async () => {
    await dynamo.stop();
  });

  ENGINES.forEach((engine: Engine, ei) => {
    for (let c = 0; c < CASES; c++) {
      const schema = randomSchema(engine, SEED + ei * 1000 + c);
      let source: Promise<string> | undefined;
      for (const to of TARGETS)
        test(`${engine} schema ${c + 1} (${schema.tables.length} tables) -> ${to}`, async () => {
          // the source is loaded once for every target
          source ??= load(schema, `ferry_prop_${engine}_${c}`);
          const target =
            to === 'folder'
              ? `file:${tmpDir('ferry-prop-')}`
              : to === 'dynamodb'
                ? dynamo.url
                : await freshDb(to, `ferry_prop_${engine}_${c}_${to}`);
          try {
            const { file, plan } = await planFor(await source, target, () => {}, { rowsPerChunk: 2 });
            const run = await runPlan(file);
            assert.equal(run.rejects, 0);
            const rows = schema.tables.reduce((n, t) => n + t.rows.length, 0);
            assert.equal(
              run.tables.reduce((n, t) => n + t.rows, 0),
              rows,
            );
            const verified = await verifyPlan(file);
            assert.ok(verified.ok, JSON.stringify(verified.tables.filter((t) => t.status !== 'match')));
            assert.equal(verified.tables.length, plan.waves.flatMap((w) => w.tables).length);
          } catch (e) {
            (e as Error).message = `${(e as Error).message}\n${context(schema)}`;
            throw e;
          }
        });
    }
  });
});
