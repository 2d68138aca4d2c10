// How a table's questions become statements: aggregates share one scan, the others run alone,
// and questions an engine does not answer are left out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profileStatements, type ProfileAsk, type ProfileDialect } from '../../src/core/profile.js';

const fk = { name: 'fk', columns: ['a'], refTable: 'p', refColumns: ['id'] };

test('the aggregates asked of a table share one statement; each other ask has its own', () => {
  const dialect: ProfileDialect = {
    maxLength: { aggregate: true, fields: ({ column }) => ({ length: `max(length(${column}))` }) },
    orphans: { aggregate: false, fields: ({ foreignKey }) => ({ rows: `(orphans of ${foreignKey.name})` }) },
    storageClasses: undefined,
    notBoolean: undefined,
    durations: undefined,
    emptyValues: undefined,
  };
  const asks: ProfileAsk[] = [
    { kind: 'maxLength', column: 'a' },
    { kind: 'orphans', foreignKey: fk },
    { kind: 'maxLength', column: 'b' },
  ];
  const statements = profileStatements(asks, 't', dialect);
  assert.deepEqual(
    statements.map((s) => s.sql),
    ['SELECT max(length(a)), max(length(b)) FROM t', 'SELECT (orphans of fk)'],
  );
  assert.deepEqual(statements[0]!.answers([3n, null]), [
    { ask: asks[0], answer: { length: 3 } },
    { ask: asks[2], answer: { length: 0 } },
  ]);
  assert.deepEqual(statements[1]!.answers(['12']), [{ ask: asks[1], answer: { rows: 12 } }]);
});

test('a question the engine does not answer is left out', () => {
  const dialect: ProfileDialect = {
    maxLength: undefined,
    orphans: { aggregate: false, fields: () => ({ rows: 'count' }) },
    storageClasses: undefined,
    notBoolean: undefined,
    durations: undefined,
    emptyValues: undefined,
  };
  assert.deepEqual(
    profileStatements([{ kind: 'maxLength', column: 'a' }], 't', dialect).map((s) => s.sql),
    [],
  );
});
