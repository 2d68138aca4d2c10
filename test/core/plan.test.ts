import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parsePlan, planJsonSchema } from '../../src/core/plan.js';

const good = `ferry: 1
source: { url: "sqlite:a.db" }
target: { url: "sqlite:b.db" }
waves:
  - tables:
      - source: parent
        target: parent
        chunking: { key: [id], rowsPerChunk: 1000 }
        columns:
          - { source: id, target: id, sourceType: int64, type: INTEGER, nullable: false }
        primaryKey: [id]
  - tables:
      - source: child
        target: child
        chunking: { key: [id], rowsPerChunk: 1000 }
        columns:
          - { source: id, target: id, sourceType: int64, type: INTEGER, nullable: false }
          - { source: parent_id, target: parent_id, sourceType: int64, type: INTEGER }
        primaryKey: [id]
        foreignKeys:
          - { name: fk, columns: [parent_id], refTable: parent, refColumns: [id] }
`;

test('a valid plan loads with defaults filled in', () => {
  const p = parsePlan(good, 'p.yaml');
  assert.equal(p.settings.parallelism, 4);
  assert.equal(p.source.zeroDates, 'reject');
  assert.equal(p.target.ifExists, 'fail');
});

test('a foreign key may refer to a table of any wave: keys are added after all the data', () => {
  const parent = good.slice(good.indexOf('      - source: parent'), good.indexOf('  - tables:\n      - source: child'));
  const child = good.slice(good.indexOf('      - source: child'));
  const swapped = good.slice(0, good.indexOf('      - source: parent')) + child + '  - tables:\n' + parent;
  const p = parsePlan(swapped, 'p.yaml');
  assert.deepEqual(
    p.waves.map((w) => w.tables.map((t) => t.target)),
    [['child'], ['parent']],
  );
});

test('a malformed plan names the file, line and path of the problem', () => {
  assert.throws(
    () =>
      parsePlan(
        good.replace(
          'rowsPerChunk: 1000 }\n        columns:\n          - { source: id, target: id, sourceType: int64, type: INTEGER, nullable: false }\n        primaryKey: [id]\n  - tables',
          'rowsPerChunk: -5 }\n        columns:\n          - { source: id, target: id, sourceType: int64, type: INTEGER, nullable: false }\n        primaryKey: [id]\n  - tables',
        ),
        'p.yaml',
      ),
    /^FerryError: p\.yaml:8:\d+: waves\[0\]\.tables\[0\]\.chunking\.rowsPerChunk: .*/,
  );
  assert.throws(
    () =>
      parsePlan(
        good.replace(
          'sourceType: int64, type: INTEGER, nullable: false }\n        primaryKey: [id]\n  -',
          'sourceType: int65, type: INTEGER, nullable: false }\n        primaryKey: [id]\n  -',
        ),
        'p.yaml',
      ),
    /p\.yaml:10:\d+: waves\[0\]\.tables\[0\]\.columns\[0\]\.sourceType: unknown canonical type "int65"/,
  );
  assert.throws(
    () => parsePlan(good.replace('refTable: parent', 'refTable: nowhere'), 'p.yaml'),
    /foreignKeys\[0\]\.refTable: foreign key fk refers to "nowhere", which is not in the plan/,
  );
  assert.throws(
    () =>
      parsePlan(
        good.replace(
          'key: [id], rowsPerChunk: 1000 }\n        columns:\n          - { source: id, target: id, sourceType: int64, type: INTEGER, nullable: false }\n          - { source: parent_id',
          'key: [idx], rowsPerChunk: 1000 }\n        columns:\n          - { source: id, target: id, sourceType: int64, type: INTEGER, nullable: false }\n          - { source: parent_id',
        ),
        'p.yaml',
      ),
    /chunk key "idx" is not a column of child/,
  );
  assert.throws(() => parsePlan('ferry: 1\nsource: [unclosed', 'p.yaml'), /p\.yaml:2:\d+: Flow sequence/);
  assert.throws(
    () => parsePlan(good.replace('ferry: 1', 'ferry: 1\nsurprise: true'), 'p.yaml'),
    /p\.yaml:1:1: plan: Unrecognized key: "surprise"/,
  );
});

test('the shipped JSON Schema is the schema the loader uses', () => {
  const shipped = JSON.parse(readFileSync('schema/ferry.plan.schema.json', 'utf8'));
  assert.deepEqual(shipped, planJsonSchema(), 'regenerate it with npm run schema');
});
