// How one call's live changes become steps (core/apply.ts): batched where the order allows it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applySteps, type ApplyStep } from '../../src/core/apply.js';
import { UNCHANGED } from '../../src/core/changes.js';
import type { AppliedChange, TargetTable } from '../../src/core/contracts.js';
import { parseType } from '../../src/core/types.js';

function table(name: string, primaryKey = ['id']): TargetTable {
  return {
    name,
    columns: [
      { name: 'id', type: parseType('int64'), nativeType: 'bigint', nullable: false },
      { name: 'note', type: parseType('text'), nativeType: 'text', nullable: true },
    ],
    primaryKey,
    key: primaryKey,
    uniqueKeys: [],
    indexes: [],
    foreignKeys: [],
  };
}

/** A step in short: its op, table and keys. */
function brief(step: ApplyStep): string {
  if (step.op === 'upsert') return `upsert ${step.table.name} ${step.rows.map((r) => r[0]).join(',')}`;
  if (step.op === 'delete') return `delete ${step.table.name} ${step.keys.map((k) => k[0]).join(',')}`;
  const u = step.update;
  return `update ${step.table.name} ${u.key[0]}->${u.newKey[0]}${u.whole ? '' : ` carrying ${u.carried.join(',')}`}`;
}

test('consecutive changes of one table with distinct keys are one step; a repeated key, another table or op starts the next', () => {
  const a = table('a');
  const b = table('b');
  const up = (t: TargetTable, id: number): AppliedChange => ({
    table: t,
    change: { op: 'upsert', row: [BigInt(id), 'x'] },
  });
  const del = (t: TargetTable, id: number): AppliedChange => ({
    table: t,
    change: { op: 'delete', key: [BigInt(id)] },
  });
  const upd = (t: TargetTable, from: number, to: number, note: unknown = 'y'): AppliedChange => ({
    table: t,
    change: { op: 'update', key: [BigInt(from)], row: [BigInt(to), note] },
  });
  const steps = applySteps([
    up(a, 1),
    up(a, 2),
    upd(a, 3, 3),
    up(a, 1),
    del(a, 4),
    del(a, 5),
    up(b, 4),
    upd(b, 5, 6),
    upd(b, 7, 7, UNCHANGED),
    up(b, 8),
    del(a, 9),
  ]);
  assert.deepEqual(steps.map(brief), [
    'upsert a 1,2,3',
    'upsert a 1',
    'delete a 4,5',
    'upsert b 4',
    'update b 5->6',
    'update b 7->7 carrying 0',
    'upsert b 8',
    'delete a 9',
  ]);
});

test('a table without a primary key is refused before any step', () => {
  assert.throws(
    () => applySteps([{ table: table('bare', []), change: { op: 'delete', key: [1n] } }]),
    (e: Error & { code?: string }) => e.code === 'UNSUPPORTED' && /bare has no primary key/.test(e.message),
  );
});
