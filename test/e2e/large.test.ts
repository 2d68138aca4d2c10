// Large values end to end: text of every UTF-8 width (multi-byte characters across whatever
// chunks carry them, and the characters each format escapes) and bytes of every value, a few
// MiB each, through every source → target pair that can hold them, arrive exactly and verify.
// DynamoDB, whose items hold at most 400 KB, rejects such rows with the reason and writes the rest.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { startDynalite, type LocalDynamo } from '../connectors/dynamodb-local.js';
import { largeBytes, largeText } from '../fixtures/large.js';
import { tmpDir } from '../helpers.js';
import { largeSource, readBack, sameValue } from './large-support.js';
import { ENGINES, freshDb, planFor, type Engine } from './support.js';

const MIB = 1 << 20;
// two large rows with small ones between them, so that rows of every size follow one another
const rows: unknown[][] = [
  [1, largeText(3 * MIB, 7), largeBytes(2 * MIB, 7)],
  [2, 'été 🚢', new Uint8Array([0, 255, 10, 9, 92])],
  [3, null, null],
  [4, largeText(2 * MIB + 3, 11), largeBytes(MIB + 5, 11)],
];

const TARGETS: { name: string; url: (from: Engine) => Promise<string> }[] = [
  ...ENGINES.map((to) => ({ name: to, url: (from: Engine) => freshDb(to, `ferry_large_${from}_${to}`) })),
  ...(['parquet', 'ndjson', 'csv'] as const).map((format) => ({
    name: format,
    url: async () => `file:${tmpDir(`ferry-large-${format}-`)}?format=${format}`,
  })),
];

for (const from of ENGINES)
  describe(`large values from ${from}`, () => {
    let source: string;
    before(async () => {
      source = await largeSource(from, `ferry_large_${from}_src`, rows);
    });

    for (const to of TARGETS)
      test(`to ${to.name}: text and bytes of several MiB arrive exactly and verify`, async () => {
        const target = await to.url(from);
        const { file } = await planFor(source, target);
        const run = await runPlan(file);
        assert.equal(run.rejects, 0);
        assert.equal(run.copied, rows.length);
        const v = await verifyPlan(file);
        assert.ok(v.ok, JSON.stringify(v.tables));
        const back = await readBack(target);
        assert.equal(back.length, rows.length);
        back.forEach((row, r) => {
          assert.equal(Number(row[0]), rows[r]![0]);
          sameValue(row[1], rows[r]![1], `row ${r + 1}, text`);
          sameValue(row[2], rows[r]![2], `row ${r + 1}, bytes`);
        });
      });
  });

// NDJSON and CSV write a large field straight to its bytes (escaped or base64 there): at 20 MiB
// it must arrive exactly as well
describe('20 MiB values into NDJSON and CSV', () => {
  const huge: unknown[][] = [
    [1, 'small "one"', new Uint8Array([34, 0, 255])],
    [2, largeText(20 * MIB, 13), largeBytes(20 * MIB + 1, 13)],
    [3, null, null],
  ];
  for (const format of ['ndjson', 'csv'] as const)
    test(`to ${format}: arrive exactly and verify`, async () => {
      const source = await largeSource('sqlite', `ferry_huge_${format}_src`, huge);
      const target = `file:${tmpDir(`ferry-huge-${format}-`)}?format=${format}`;
      const { file } = await planFor(source, target);
      const run = await runPlan(file);
      assert.equal(run.rejects, 0);
      assert.equal(run.copied, huge.length);
      assert.ok((await verifyPlan(file)).ok);
      const back = await readBack(target);
      assert.equal(back.length, huge.length);
      back.forEach((row, r) => {
        assert.equal(Number(row[0]), huge[r]![0]);
        sameValue(row[1], huge[r]![1], `row ${r + 1}, text`);
        sameValue(row[2], huge[r]![2], `row ${r + 1}, bytes`);
      });
    });
});

describe('large values into DynamoDB', () => {
  let dynamo: LocalDynamo;
  before(async () => {
    dynamo = await startDynalite();
  });
  after(async () => dynamo.stop());

  test('rows of several MiB are rejected with their size, kept in bounded records that verify tells apart', async () => {
    const source = await largeSource('postgres', 'ferry_large_dynamodb_src', rows);
    const { file, dir } = await planFor(source, dynamo.url, (p) => (p.settings.maxRejects = 2));
    const run = await runPlan(file);
    assert.equal(run.rejects, 2);
    assert.equal(run.copied, 2);
    const lines = readFileSync(run.rejectFiles[0]!, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    const large = rows.filter((r) => r[1] !== null && (r[1] as string).length > MIB);
    lines.forEach((line, i) => {
      // the row is in it as its key, and its large values as their size and digest: not megabytes
      assert.ok(line.length < 4096, `reject line ${i + 1} is ${line.length} characters`);
      const record = JSON.parse(line) as { reason: string; columns: string[]; row: unknown[] };
      assert.match(record.reason, /^the item is at least \d{7} bytes, more than DynamoDB's limit of 409600 bytes/);
      assert.deepEqual(record.columns, ['id', 't', 'b']);
      const [id, text, bytes] = large[i]!;
      assert.equal(Number(record.row[0]), id);
      const sha = (v: string | Uint8Array) => createHash('sha256').update(v).digest('hex');
      assert.deepEqual(record.row[1], {
        $omitted: {
          kind: 'text',
          bytes: Buffer.byteLength(text as string),
          sha256: sha(text as string),
          head: (text as string).slice(0, 200),
        },
      });
      assert.deepEqual(record.row[2], {
        $omitted: {
          kind: 'bytes',
          bytes: (bytes as Uint8Array).length,
          sha256: sha(bytes as Uint8Array),
          head: Buffer.from(bytes as Uint8Array)
            .subarray(0, 64)
            .toString('hex'),
        },
      });
    });
    const stateBytes = ['state.db', 'state.db-wal']
      .map((f) => join(dir, '.ferry', f))
      .reduce((n, f) => n + (existsSync(f) ? statSync(f).size : 0), 0);
    assert.ok(stateBytes < MIB, `state.db is ${stateBytes} bytes`);
    // verify leaves the refused rows out of the source side by their records: the rest matches
    const v = await verifyPlan(file);
    assert.equal(v.tables[0]!.status, 'match', JSON.stringify(v.tables));
    assert.equal(v.tables[0]!.rejected, 2);
  });
});
