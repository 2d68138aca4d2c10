// Text forms: PostgreSQL's own types (inet, ranges, geometric types, tsvector, …) keep their type
// between PostgreSQL databases; into an engine that lacks them they are stored as the text
// docs/types.md lists, and that text brings them back into PostgreSQL as the same values.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { assess } from '../../src/pipeline/plan/assess.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { freshPg, mysqlExec, pgExec } from '../helpers.js';
import { freshDb, open, planFor, type Engine } from './support.js';

interface Form {
  column: string;
  /** the PostgreSQL type */
  pg: string;
  /** a value as SQL */
  literal: string;
  /** the text stored in an engine without the type */
  stored: string;
}

const FORMS: Form[] = [
  { column: 'host', pg: 'inet', literal: "'::1'", stored: '::1' },
  { column: 'masked', pg: 'inet', literal: "'10.1.2.3/8'", stored: '10.1.2.3/8' },
  { column: 'net', pg: 'cidr', literal: "'10.0.0.0/8'", stored: '10.0.0.0/8' },
  { column: 'mac', pg: 'macaddr', literal: "'08:00:2b:01:02:03'", stored: '08:00:2b:01:02:03' },
  { column: 'span', pg: 'interval', literal: "'1 year 2 mons 3 days 04:05:06.5'", stored: 'P1Y2M3DT4H5M6.5S' },
  { column: 'back', pg: 'interval', literal: "'-1 day -00:00:01'", stored: 'P-1DT-1S' },
  { column: 'ints', pg: 'int4range', literal: "'[1,10)'", stored: '[1,10)' },
  { column: 'none', pg: 'int4range', literal: "'empty'", stored: 'empty' },
  {
    column: 'period',
    pg: 'tstzrange',
    literal: "'[2020-01-01 00:00+02,2021-01-01 00:00+00)'",
    stored: '["2019-12-31 22:00:00+00","2021-01-01 00:00:00+00")',
  },
  { column: 'dates', pg: 'daterange', literal: "'[2020-01-01,2020-02-01)'", stored: '[2020-01-01,2020-02-01)' },
  { column: 'amounts', pg: 'numrange', literal: "'(1.50,2.25]'", stored: '(1.50,2.25]' },
  { column: 'pt', pg: 'point', literal: "'(1.5,-2)'", stored: '(1.5,-2)' },
  { column: 'seg', pg: 'lseg', literal: "'[(0,0),(1,1)]'", stored: '[(0,0),(1,1)]' },
  { column: 'area', pg: 'box', literal: "'((0,0),(1,1))'", stored: '(1,1),(0,0)' },
  { column: 'route', pg: 'path', literal: "'[(0,0),(1,1),(2,0)]'", stored: '[(0,0),(1,1),(2,0)]' },
  { column: 'shape', pg: 'polygon', literal: "'((0,0),(1,1),(2,0))'", stored: '((0,0),(1,1),(2,0))' },
  { column: 'ring', pg: 'circle', literal: "'<(0,0),2>'", stored: '<(0,0),2>' },
  { column: 'doc', pg: 'tsvector', literal: "'a fat cat sat'", stored: "'a' 'cat' 'fat' 'sat'" },
  { column: 'query', pg: 'tsquery', literal: "'fat & (cat | rat)'", stored: "'fat' & ( 'cat' | 'rat' )" },
  { column: 'markup', pg: 'xml', literal: '\'<a href="x">é</a>\'', stored: '<a href="x">é</a>' },
  { column: 'bits', pg: 'bit varying(8)', literal: "B'101'", stored: '101' },
  { column: 'nums', pg: 'integer[]', literal: "'{1,NULL,-3}'", stored: '[1,null,-3]' },
  { column: 'grid', pg: 'integer[]', literal: "'{{1,2},{3,4}}'", stored: '[[1,2],[3,4]]' },
  { column: 'words', pg: 'text[]', literal: `'{"a b","c,d",NULL}'`, stored: '["a b","c,d",null]' },
  { column: 'hosts', pg: 'inet[]', literal: "'{::1,10.1.2.3/8}'", stored: '["::1","10.1.2.3/8"]' },
];

// the types every target engine stores as text of PostgreSQL's (the rest have a canonical type)
const OWN = FORMS.filter((f) => !['interval', 'bit varying(8)', 'integer[]', 'text[]'].includes(f.pg));

/** Each column's value as PostgreSQL prints it, by column name. */
async function pgText(url: string): Promise<Record<string, string | null>> {
  const list = FORMS.map(
    (f) => `CASE WHEN "${f.column}" IS NOT NULL THEN format('%s', "${f.column}") END AS "${f.column}"`,
  );
  return (await pgExec(url, `SELECT ${list.join(', ')} FROM forms WHERE id = 1`)).rows[0];
}

/** Each column's stored text in a MySQL or SQLite target, by column name. */
async function storedText(engine: Engine, url: string): Promise<Record<string, unknown>> {
  if (engine === 'mysql') {
    // as text: the client would parse a json column
    const list = FORMS.map((f) => `CAST(\`${f.column}\` AS CHAR) AS \`${f.column}\``).join(', ');
    return ((await mysqlExec(url, `SELECT ${list} FROM forms WHERE id = 1`)) as Record<string, unknown>[])[0]!;
  }
  const db = new Database(url.slice('sqlite:'.length), { readonly: true });
  try {
    return db.prepare('SELECT * FROM forms WHERE id = 1').get() as Record<string, unknown>;
  } finally {
    db.close();
  }
}

describe('text forms of PostgreSQL types', () => {
  let source: string;
  let original: Record<string, string | null>;
  before(async () => {
    source = await freshPg('ferry_forms_src');
    await pgExec(
      source,
      `CREATE TABLE forms (id int PRIMARY KEY, ${FORMS.map((f) => `"${f.column}" ${f.pg}`).join(', ')});
       INSERT INTO forms VALUES (1, ${FORMS.map((f) => `${f.literal}::${f.pg}`).join(', ')}), (2, ${FORMS.map(() => 'NULL').join(', ')})`,
    );
    original = await pgText(source);
  });

  test('PostgreSQL -> PostgreSQL: every type kept, every value as PostgreSQL prints it (an inet host is ::1)', async () => {
    const target = await freshPg('ferry_forms_pg');
    const { file, plan } = await planFor(source, target);
    const planned = plan.waves[0]!.tables[0]!.columns;
    for (const f of OWN) assert.equal(planned.find((c) => c.source === f.column)!.type, f.pg, f.column);
    assert.equal((await runPlan(file)).rejects, 0);
    assert.ok((await verifyPlan(file)).ok);
    assert.deepEqual(await pgText(target), original);
    assert.equal(original.host, '::1');
  });

  for (const engine of ['mysql', 'sqlite'] as const)
    test(`PostgreSQL -> ${engine} -> PostgreSQL: stored as the documented text, and back as the same values`, async () => {
      const middle = await freshDb(engine, `ferry_forms_${engine}`);
      const findings = (await assess({ source, target: middle })).findings.filter((f) => f.code === 'TYPE_AS_TEXT');
      assert.deepEqual(findings.map((f) => f.column).sort(), OWN.map((f) => f.column).sort());
      const there = await planFor(source, middle);
      assert.equal((await runPlan(there.file)).rejects, 0);
      assert.ok((await verifyPlan(there.file)).ok);
      const stored = await storedText(engine, middle);
      for (const f of FORMS) assert.equal(stored[f.column], f.stored, `${f.pg} ${f.column}`);

      // back: the plan names the PostgreSQL types again
      const back = await freshPg(`ferry_forms_back_${engine}`);
      const returned = await planFor(middle, back, (p) => {
        for (const c of p.waves[0]!.tables[0]!.columns) {
          const form = FORMS.find((f) => f.column === c.source);
          if (form) c.type = form.pg;
        }
      });
      assert.equal((await runPlan(returned.file)).rejects, 0);
      assert.deepEqual(await pgText(back), original);
      const conn = await open(back);
      try {
        const columns = (await conn.introspect()).tables[0]!.columns;
        assert.equal(columns.find((c) => c.name === 'host')!.nativeType, 'inet');
      } finally {
        await conn.close();
      }
    });
});
