// `ferry run PLAN --follow` from PostgreSQL (a private server with wal_level = logical) into
// DynamoDB (dynalite) and a folder of Parquet files, while an application
// writes (follow-pg-support.ts): killed (SIGKILL) in the copy, at the handoff and at random
// moments, started again each time, then stopped (SIGTERM): the target equals the source, by
// ferry verify and value by value. Updates that leave a large TOASTed value alone arrive without
// it (UNCHANGED): DynamoDB and the object store's change files keep the value, and so do the
// tables `ferry compact` writes anew, read by DuckDB.
import assert from 'node:assert/strict';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { after, before, describe, test } from 'node:test';
import { startDynalite, type LocalDynamo } from '../connectors/dynamodb-local.js';
import { duckdb } from '../connectors/objectstore-servers.js';
import { pgExec, tmpDir, unique } from '../helpers.js';
import { privatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { random } from './follow-support.js';
import { exited, follow, phase, rowsOf, seedSource, writer, type Phase } from './follow-pg-support.js';
import { ferry, open, planFor } from './support.js';

let server: PrivatePostgres;
let dynamo: LocalDynamo;

before(async () => {
  server = await privatePostgres({
    settings: { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10 },
  });
  dynamo = await startDynalite();
});
after(async () => {
  server?.stop();
  await dynamo?.stop();
});

/** Whether the target holds account `id` (the last transaction's marker) yet. */
async function targetHas(url: string, id: number): Promise<boolean> {
  const conn = await open(url);
  try {
    return (await rowsOf(conn, 'target', 'account')).some((row) => row[0] === String(id));
  } catch {
    return false; // the table is not there yet
  } finally {
    await conn.close();
  }
}

/** Both tables, value by value: the target holds what the source holds. */
async function sameRows(source: string, target: string, when: string): Promise<void> {
  const [src, dst] = await Promise.all([open(source), open(target)]);
  try {
    for (const table of ['account', 'entry']) {
      const [want, got] = await Promise.all([rowsOf(src, 'source', table), rowsOf(dst, 'target', table)]);
      assert.equal(
        got.length,
        want.length,
        `${when}: ${table}: ${got.length} rows in the target, ${want.length} in the source`,
      );
      assert.deepEqual(got, want, `${when}: ${table}`);
    }
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}

/** The note and the doc's length of entry `id` in the target (DynamoDB keeps no column list to read back by). */
async function keptEntry(target: string, kind: Target, id: string): Promise<[string?, number?]> {
  if (kind === 'dynamo') {
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1' });
    try {
      const { Item } = await client.send(new GetItemCommand({ TableName: 'entry', Key: { id: { N: id } } }));
      return [Item?.note?.S, Item?.doc?.S?.length];
    } finally {
      client.destroy();
    }
  }
  const conn = await open(target);
  try {
    const entry = (await rowsOf(conn, 'target', 'entry')).find((row) => row[0] === id);
    return [entry?.[3], entry?.[4]?.length];
  } finally {
    await conn.close();
  }
}

type Target = 'dynamo' | 'folder';

async function followWithKills(kind: Target, seed: number): Promise<void> {
  const source = await server.database(unique(`follow_src_${kind}`));
  await seedSource(source);
  const lake = tmpDir('ferry-follow-pg-lake-');
  const target = kind === 'dynamo' ? dynamo.url : `file:${lake}`;
  const slot = unique(`ferry_follow_${kind}`);
  const { file, dir } = await planFor(
    source,
    target,
    (p) => {
      p.cdc = {
        slot,
        publication: slot,
        heartbeatSeconds: 1,
        batch: { transactions: 50, changes: 500, bytes: 2 ** 20, waitMs: 100 },
      };
    },
    { rowsPerChunk: 200 },
  );
  const rnd = random(seed);
  const app = writer(source, seed);
  let run = follow(file, dir);
  const killedIn: Phase[] = [];
  let kept = { id: '', doc: '' };
  try {
    for (const moment of ['copy', 'handoff', 'random', 'random', 'random']) {
      if (moment === 'copy') await phase(dir, (p) => p.chunksDone >= 3);
      else if (moment === 'handoff') await phase(dir, (p) => p.name !== 'copy');
      else await new Promise((resolve) => setTimeout(resolve, 300 + rnd() * 3000));
      killedIn.push((await phase(dir, () => true)).name);
      run.kill('SIGKILL');
      await exited(run);
      run = follow(file, dir);
    }
    for (const p of ['copy', 'handoff'] as const) assert.ok(killedIn.includes(p), `killed in ${killedIn.join(', ')}`);
    await phase(dir, (p) => p.name === 'stream');
    const transactions = await app.stop();
    assert.ok(transactions > 50, `the application wrote ${transactions} transactions`);
    // a large entry the stream sees updated with its doc left alone
    const { rows: large } = await pgExec(
      source,
      'SELECT id, doc FROM entry WHERE length(doc) > 10000 ORDER BY id DESC LIMIT 1',
    );
    kept = large[0] as { id: string; doc: string };
    await pgExec(source, `UPDATE entry SET note = 'large doc kept' WHERE id = $1`, [kept.id]);
    await pgExec(source, `INSERT INTO account VALUES (0, 'the end', 0)`);
    for (let i = 0; i < 600 && !(await targetHas(target, 0)); i++) {
      if (run.exitCode !== null) assert.fail(`ferry run --follow ended by itself: ${run.out}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    run.kill('SIGTERM');
    assert.equal(await exited(run), 0, run.out);
    assert.match(run.out, /followed live changes: applied \d+ changes in \d+ transactions/);
  } finally {
    run.kill('SIGKILL');
    await app.stop().catch(() => {});
  }
  const verify = ferry(['verify', file], { cwd: dir });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  if (kind === 'folder') await sameRows(source, target, 'followed');
  assert.deepEqual(
    await keptEntry(target, kind, kept.id),
    ['large doc kept', kept.doc.length],
    'the update that left the large doc alone kept it in the target',
  );
  if (kind === 'dynamo') return;

  // the change files folded into the tables: verify again, value by value, and DuckDB reads the large docs
  const compact = ferry(['compact', file], { cwd: dir });
  assert.equal(compact.code, 0, compact.stderr);
  assert.match(compact.stdout, /compact: 2 of 2 tables written anew with their live changes/);
  const again = ferry(['verify', file], { cwd: dir });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  await sameRows(source, target, 'compacted');
  const { rows } = await pgExec(
    source,
    'SELECT count(*)::int AS n, sum(length(doc))::text AS chars FROM entry WHERE length(doc) > 10000',
  );
  assert.deepEqual(
    await duckdb(
      `SELECT COUNT(*)::INTEGER, SUM(length(doc))::VARCHAR FROM read_parquet('${lake}/entry/**/*.parquet') WHERE length(doc) > 10000`,
    ),
    [[rows[0].n, rows[0].chars]],
  );
}

describe('ferry run --follow from PostgreSQL into DynamoDB and object storage', { timeout: 600_000 }, () => {
  test('into DynamoDB: a concurrent writer, SIGKILL in the copy, at the handoff and at 3 random moments, then SIGTERM: the target equals the source, large unchanged values kept', () =>
    followWithKills('dynamo', 11));
  test('into a Parquet folder: the same, then ferry compact: the tables equal the source, DuckDB reads the large values', () =>
    followWithKills('folder', 12));
});
