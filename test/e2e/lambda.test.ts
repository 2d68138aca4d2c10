// The Lambda carrier of chunk jobs (`ferry/lambda`), invoked in this process with SQS-shaped
// events as AWS would, against a queued run that `ferry run --queue` coordinates: the test takes
// the run's chunk messages off its queue (as an SQS queue would hold them) and delivers them,
// some twice (in one batch, at once to two function instances, again after they were done, and
// after the run ended), next to messages that are bad. Every row is copied exactly once and equal,
// the bad messages and only they come back as batch item failures, no secret travels in a
// message, and `ferry status --queue` on a machine without the run's state folder shows the chunks.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/core/log.js';
import { closeHandler, handler, settingsFromEnv, SqsChunkCarrier } from '../../src/lambda/handler.js';
import { CHUNK_QUEUE } from '../../src/pipeline/queue/address.js';
import { parseChunkJob, type ChunkJobMessage } from '../../src/pipeline/queue/job.js';
import { SharedCheckpoints } from '../../src/pipeline/queue/shared-state.js';
import type { FerryError } from '../../src/core/errors.js';
import { freshPg, MYSQL_BASE, mysqlExec, pgExec, tmpDir } from '../helpers.js';
import { ferry, ferryAsync, fillItems, itemsIn, oneLine, planFor } from './support.js';
import { canaryTarget, deploymentPackage, dropQueue, queueContents, queueUrl } from './queue-support.js';

const ROWS = 6_000;
const NOTES = 1_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const canary = `Canary-${randomBytes(8).toString('hex')}`;
process.env.FERRY_LAMBDA_CANARY = canary;
const env = { FERRY_LAMBDA_CANARY: canary };
// the function logs a line per record (JSON on stderr): here only its errors
process.env.FERRY_LOG_LEVEL ??= 'error';

const queue = queueUrl('lambda');
let second: SqsChunkCarrier | undefined;
after(async () => {
  await closeHandler();
  await second?.close();
  await dropQueue(queue);
});

/** An SQS record as Lambda's event source mapping delivers it. */
function record(body: string, receiveCount = 1): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: randomBytes(16).toString('base64'),
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:ferry-chunks',
    awsRegion: 'eu-west-1',
  };
}
const event = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const failed = (r: { batchItemFailures: { itemIdentifier: string }[] }) =>
  r.batchItemFailures.map((f) => f.itemIdentifier);

describe('ferry/lambda: chunk jobs from SQS events', () => {
  test('the function carries out a queued run: one copy of every row, bad messages reported, no secret in a message', async () => {
    const source = await freshPg('lambda_src');
    await fillItems(source, ROWS);
    await pgExec(
      source,
      `CREATE TABLE notes (body text NOT NULL); INSERT INTO notes SELECT 'note ' || g || ' ✓' FROM generate_series(1, ${NOTES}) g`,
    );
    // the target's password is the canary: the function resolves it from its own environment
    const { target, user, asUser: targetAsUser } = await canaryTarget('lambda_dst', 'lambda', canary);
    const { file, dir } = await planFor(source, targetAsUser, () => {}, { rowsPerChunk: 1000 });

    // the function's deployment package holds its own copy of the plan
    const plan = deploymentPackage(file);
    process.env.FERRY_STATE = queue;
    // a second instance of the function, carrying out two records of an event at once
    const other = new SqsChunkCarrier({
      plan,
      state: queue,
      concurrency: 2,
      log: createLogger({ level: 'silent' }),
    });
    second = other;

    const run = ferryAsync(['run', file, '--queue', queue], { cwd: dir, env });
    let ended = false;
    void run.then(() => (ended = true));

    // what the coordinator put on its queue is what an SQS queue would hold: one message per chunk
    const u = new URL(queue);
    const jobs = new Queue<ChunkJobMessage>(CHUNK_QUEUE, {
      connection: { host: u.hostname, port: Number(u.port) },
      prefix: u.searchParams.get('prefix')!,
    });
    const seen = new Set<string>();
    const bodies: string[] = [];
    const fresh = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const job of await jobs.getJobs(['waiting', 'prioritized', 'delayed', 'paused']))
        if (job.id && !seen.has(job.id)) {
          seen.add(job.id);
          out.push(JSON.stringify(job.data));
        }
      bodies.push(...out);
      return out;
    };
    /** Delivers records until each has succeeded (a chunk claimed by another delivery comes back: SQS delivers it again). */
    const deliverAll = async (
      carry: (e: SQSEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>,
      records: SQSRecord[],
    ) => {
      let left = records;
      for (let round = 2; left.length > 0; round++) {
        assert.ok(round < 30, `still failing: ${left.map((r) => r.body).join('\n')}`);
        const f = failed(await carry(event(...left)));
        left = left.filter((r) => f.includes(r.messageId)).map((r) => record(r.body, round));
        if (left.length > 0) await sleep(200);
      }
    };

    try {
      let first: string[] = [];
      while (first.length < 2) {
        if (ended) assert.fail((await run).stderr);
        first = first.concat(await fresh());
        await sleep(100);
      }
      // one batch: two chunks, one of them twice (SQS may deliver a message twice), and a message that is not JSON
      const [a, b] = [first[0]!, first[1]!];
      const poison = record('{"v":1,"plan":');
      const batch = [record(a), poison, record(a), record(b)];
      const r1 = await handler(event(...batch));
      assert.deepEqual(failed(r1), [poison.messageId], 'only the bad message failed');

      // a job from another plan (its hash differs from the function's plan): refused, reported
      const foreign = JSON.parse(a) as ChunkJobMessage;
      foreign.plan.hash = 'f'.repeat(64);
      const stranger = record(JSON.stringify(foreign));
      const done = record(a, 2);
      const r2 = await handler(event(stranger, done));
      assert.deepEqual(failed(r2), [stranger.messageId]);

      // the run from a machine that has no state folder of it: the queue's shared state tells
      const elsewhere = tmpDir('ferry-lambda-elsewhere-');
      const status = await ferryAsync(['status', file, '--queue', queue, '--state-dir', elsewhere, '--json'], { env });
      assert.equal(status.code, 0, status.stderr);
      const st = JSON.parse(status.stdout) as {
        phase: string;
        run?: { status: string };
        tables: { table: string; chunks: number; chunksDone: number; rows: number }[];
      };
      assert.equal(st.phase, 'copying');
      assert.equal(st.run?.status, 'running');
      assert.equal(st.tables.find((t) => t.table === 'items')?.chunks, ROWS / 1000);
      const doneSoFar = [a, b].map((x) => (JSON.parse(x) as ChunkJobMessage).table);
      for (const t of st.tables) {
        const n = doneSoFar.filter((x) => x === t.table).length;
        assert.equal(t.chunksDone, n, t.table);
        assert.equal(t.rows, n * (t.table === 'items' ? 1000 : NOTES), t.table);
      }

      // the instance's target connections are cut while it waits (as a frozen function's may be): the next events still copy
      const conns = (await mysqlExec(MYSQL_BASE, 'SELECT id FROM information_schema.processlist WHERE user = ?', [
        user,
      ])) as { id: number }[];
      assert.ok(conns.length > 0, 'the function keeps its target connections between events');
      for (const { id } of conns) await mysqlExec(MYSQL_BASE, `KILL ${id}`).catch(() => {});

      // the rest as they come: each once through the handler, and one of them at the same moment
      // through a second instance of the function as well
      let twice = false;
      for (;;) {
        const next = (first.slice(2) as string[]).concat(await fresh());
        first = [];
        if (next.length > 0) {
          if (!twice) {
            twice = true;
            const x = next.shift()!;
            await Promise.all([
              deliverAll((e) => handler(e), [record(x)]),
              deliverAll((e) => other.handle(e), [record(x), record(x)]),
            ]);
          }
          await deliverAll(
            (e) => handler(e),
            next.map((body) => record(body)),
          );
        }
        if (ended) break;
        await sleep(300);
      }
      const r = await run;
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(twice);
    } finally {
      await jobs.close();
    }

    assert.deepEqual(await itemsIn(target), { rows: ROWS, distinct: ROWS });
    const want = (await pgExec(source, 'SELECT id::text AS id, name, price::text AS price FROM items ORDER BY id'))
      .rows;
    const got = (await mysqlExec(
      target,
      'SELECT CAST(id AS CHAR) AS id, name, CAST(price AS CHAR) AS price FROM items ORDER BY id',
    )) as unknown[];
    assert.deepEqual(
      got.map((x) => ({ ...(x as object) })),
      want,
    );
    const notes = (await mysqlExec(target, 'SELECT body FROM notes ORDER BY body')) as { body: string }[];
    const sourceNotes = (await pgExec(source, 'SELECT body FROM notes ORDER BY body COLLATE "C"')).rows as {
      body: string;
    }[];
    assert.deepEqual(
      notes.map((n) => n.body),
      sourceNotes.map((n) => n.body),
    );
    const verify = ferry(['verify', file], { cwd: dir, env });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);

    assert.ok(bodies.length >= ROWS / 1000 + 1, `${bodies.length} messages`);
    for (const body of bodies) {
      assert.ok(!body.includes(canary), 'no secret in a message');
      assert.match(body, /\$\{env:FERRY_LAMBDA_CANARY\}/);
    }
    const left = await queueContents(queue);
    assert.ok(!left.text.includes(canary));

    // a message that outlived its run is dropped: what the target holds now is not written over
    const lateTable = (JSON.parse(bodies[0]!) as ChunkJobMessage).table;
    await mysqlExec(target, `DELETE FROM ${lateTable}`);
    const late = await handler(event(record(bodies[0]!, 3)));
    assert.deepEqual(failed(late), []);
    const after = (await mysqlExec(target, `SELECT count(*) AS n FROM ${lateTable}`)) as { n: unknown }[];
    assert.equal(Number(after[0]!.n), 0);
  });

  test('a chunk claimed by one delivery is refused to another until its holder lets it go', async () => {
    const u = new URL(queue);
    const redis = new Redis({ host: u.hostname, port: Number(u.port) });
    try {
      const shared = new SharedCheckpoints(redis, `${u.searchParams.get('prefix')!}_claims`);
      const first = await shared.claim('h', 'items', 3, 60_000);
      assert.ok(first);
      assert.equal(await shared.claim('h', 'items', 3, 60_000), undefined);
      assert.ok(await shared.claim('h', 'items', 4, 60_000), 'another chunk is free');
      await shared.release('h', 'items', 3, 'not-the-holder');
      assert.equal(await shared.claim('h', 'items', 3, 60_000), undefined, 'only the holder lets it go');
      await shared.release('h', 'items', 3, first);
      assert.ok(await shared.claim('h', 'items', 3, 50), 'free again');
      await sleep(150);
      assert.ok(await shared.claim('h', 'items', 3, 60_000), 'a claim lapses with its invocation');
    } finally {
      const keys = await redis.keys(`${u.searchParams.get('prefix')!}_claims:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  test('a message that is not a chunk job is refused in one line naming what is wrong', () => {
    const good = {
      v: 1,
      plan: { file: '/p.yaml', hash: 'abc' },
      source: 'postgres://u:${env:P}@h/db',
      target: 'mysql://u:${env:Q}@h/db',
      runId: 'r',
      table: 't',
      chunk: 0,
      range: '{}',
      snapshot: 's',
      batchRows: 100,
      replace: false,
    };
    assert.deepEqual(parseChunkJob(JSON.stringify(good)), good);
    const cases: [unknown, RegExp][] = [
      ['[1]', /is not a JSON object/],
      [{ ...good, v: 2 }, /a chunk job of format 2 reached a worker that knows 1/],
      [{ ...good, plan: { file: '/p.yaml' } }, /has no plan\.file and plan\.hash/],
      [{ ...good, snapshot: undefined }, /has no snapshot/],
      [{ ...good, chunk: -1 }, /has no whole number chunk/],
      [{ ...good, replace: 'yes' }, /has no replace/],
    ];
    for (const [body, why] of cases)
      assert.throws(
        () => parseChunkJob(typeof body === 'string' ? body : JSON.stringify(body)),
        (e: FerryError) => why.test(e.oneLine()) && !e.oneLine().includes('\n'),
      );
  });

  test('a function without its settings says which, in one line', async () => {
    assert.throws(() => settingsFromEnv({ FERRY_STATE: queue }), /the function's environment has no FERRY_PLAN/);
    assert.throws(
      () => settingsFromEnv({ FERRY_PLAN: '/var/task/ferry.plan.yaml', FERRY_STATE: queue, FERRY_CONCURRENCY: 'two' }),
      /FERRY_CONCURRENCY is "two"/,
    );
  });

  test('the package exports the handler as ferry/lambda', async () => {
    const name = 'ferry/lambda';
    const exported = (await import(name)) as { handler: unknown };
    assert.equal(exported.handler, handler);
  });

  test('status --queue of a plan the queue has no run of is one line', async () => {
    const source = await freshPg('lambda_none_src');
    await fillItems(source, 10);
    const { file } = await planFor(source, await freshPg('lambda_none_dst'));
    const r = ferry(['status', file, '--queue', queueUrl('lambda_none'), '--state-dir', tmpDir()]);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /^ferry: the shared state at .* holds no run of the plan/);
  });
});
