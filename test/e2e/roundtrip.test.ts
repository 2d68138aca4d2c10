// Every canonical type's edge values through every engine pair: plan, run, verify, and the
// target's values compared with the source's, converted along the same type path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TargetTable } from '../../src/core/contracts.js';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { canonicalText, convertValue } from '../../src/core/values.js';
import { edgeColumns, edgeRows, floatSpecials } from '../fixtures/edge.js';
import { batchesOf, collect, foundTable, tableFor } from '../contract/target-contract.js';
import { ENGINES, freshDb, open, planFor, type Engine } from './support.js';

const HAS_FLOAT_SPECIALS: Record<Engine, boolean> = { postgres: true, mysql: false, sqlite: true };

for (const from of ENGINES)
  for (const to of ENGINES)
    describe(`round trip ${from} -> ${to}`, () => {
      test('edge values of every canonical type arrive exactly and verify', async () => {
        const src = await freshDb(from, `ferry_rt_${from}_${to}_src`);
        const dst = await freshDb(to, `ferry_rt_${from}_${to}_dst`);
        const sconn = await open(src);
        let sourceTable: TargetTable;
        try {
          sourceTable = tableFor(sconn, 'edge', edgeColumns);
          await sconn.target!().prepare(sourceTable, 'drop');
          await sconn.target!().writeChunk(
            { table: sourceTable, range: {}, replace: false, isolate: false },
            batchesOf(edgeRows),
          );
          if (HAS_FLOAT_SPECIALS[from] && HAS_FLOAT_SPECIALS[to]) {
            const floats = tableFor(sconn, 'floats', [edgeColumns[0]!, edgeColumns.find((c) => c.name === 'f64')!]);
            await sconn.target!().prepare(floats, 'drop');
            await sconn.target!().writeChunk(
              { table: floats, range: {}, replace: false, isolate: false },
              batchesOf(floatSpecials.map((f, i) => [i + 1, f])),
            );
          }
        } finally {
          await sconn.close();
        }
        const { file } = await planFor(src, dst);
        const run = await runPlan(file);
        assert.equal(run.rejects, 0);
        const v = await verifyPlan(file);
        assert.ok(v.ok, JSON.stringify(v.tables));

        const tconn = await open(dst);
        try {
          const targetTable = await foundTable(tconn, 'edge', edgeColumns);
          const back = (await collect(tconn.target!().readBack(targetTable, {}, 100))).map((r) =>
            r.map((v, i) => canonicalText(v, targetTable.columns[i]!.type)),
          );
          const expected = edgeRows.map((r) =>
            r.map((v, i) => {
              const viaSource = convertValue(v, edgeColumns[i]!.type, sourceTable.columns[i]!.type);
              return canonicalText(
                convertValue(viaSource, sourceTable.columns[i]!.type, targetTable.columns[i]!.type),
                targetTable.columns[i]!.type,
              );
            }),
          );
          const byId = (rows: string[][]) => [...rows].sort((a, b) => Number(a[0]) - Number(b[0]));
          assert.deepEqual(byId(back), byId(expected));
        } finally {
          await tconn.close();
        }
      });
    });
