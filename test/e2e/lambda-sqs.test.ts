// A queued run on SQS end to end: `ferry run PLAN --queue <SQS URL> --shared-state redis://…`
// sends its chunk jobs to an SQS queue, and the Lambda handler (`ferry/lambda`, two instances in
// this process) drains it as Lambda's event source mapping would: ReceiveMessage, the handler,
// DeleteMessageBatch of the records that did not fail. The queue is a stand-in (test/sqs-stand-in.ts):
// no SQS implementation runs on this machine. Then, from machines without the run's state folder:
// `ferry status`, `ferry report` and `ferry rollback` with --queue, and the coordinator refusing
// to run on its state once the plan was rolled back elsewhere.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/core/log.js';
import { closeHandler, handler, SqsChunkCarrier } from '../../src/lambda/handler.js';
import { SharedCheckpoints } from '../../src/pipeline/queue/shared-state.js';
import { freshPg, mysqlExec, tmpDir } from '../helpers.js';
import { sqsStandIn, type SqsStandIn } from '../sqs-stand-in.js';
import { ferry, ferryAsync, fillItems, itemsIn, oneLine, planFor } from './support.js';
import { canaryTarget, deploymentPackage, dropQueue, queueContents, queueUrl } from './queue-support.js';

const ROWS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const canary = `Canary-${randomBytes(8).toString('hex')}`;
process.env.FERRY_LAMBDA_CANARY = canary;
process.env.FERRY_LOG_LEVEL ??= 'error';
const aws = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'stand-in', AWS_SECRET_ACCESS_KEY: 'stand-in' };
const env = { FERRY_LAMBDA_CANARY: canary, ...aws };

const state = queueUrl('sqs');
let sqs: SqsStandIn | undefined;
let other: SqsChunkCarrier | undefined;
after(async () => {
  await closeHandler();
  await other?.close();
  await sqs?.close();
  await dropQueue(state);
});

type Answer = { batchItemFailures: { itemIdentifier: string }[] };

/** What Lambda's event source mapping does with a received message. */
function record(m: { MessageId?: string; Body?: string; Attributes?: Record<string, string> }): SQSRecord {
  return {
    messageId: m.MessageId!,
    receiptHandle: randomUUID(),
    body: m.Body!,
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:ferry-chunks',
    awsRegion: 'eu-west-1',
  };
}

describe('a queued run on SQS, carried out by the Lambda handler', () => {
  test('coordinator → SQS → two function instances (a duplicate delivery) → after-data phases: one copy of every row', async () => {
    sqs = await sqsStandIn();
    const source = await freshPg('sqs_src');
    await fillItems(source, ROWS);
    const { target, asUser: targetAsUser } = await canaryTarget('sqs_dst', 'sqs', canary);
    const { file, dir } = await planFor(source, targetAsUser, () => {}, { rowsPerChunk: 500 });
    const plan = deploymentPackage(file);
    process.env.FERRY_STATE = state;
    other = new SqsChunkCarrier({
      plan,
      state,
      concurrency: 2,
      log: createLogger({ level: 'silent' }),
    });
    const instances = [(e: SQSEvent) => handler(e), (e: SQSEvent) => other!.handle(e)];

    // SQS fails some entries of the first two SendMessageBatch calls on its side: the coordinator sends them again
    sqs.failEntries(3, 2);
    const run = ferryAsync(['run', file, '--queue', sqs.url, '--shared-state', state], { cwd: dir, env });
    let ended = false;
    void run.then(() => (ended = true));

    const client = new SQSClient({
      region: 'eu-west-1',
      endpoint: new URL(sqs.url).origin,
      credentials: { accessKeyId: 'stand-in', secretAccessKey: 'stand-in' },
    });
    let duplicated = false;
    let turn = 0;
    const t0 = Date.now();
    const sqsUrl = sqs.url;
    const receive = async () =>
      (
        await client.send(
          new ReceiveMessageCommand({
            QueueUrl: sqsUrl,
            MaxNumberOfMessages: 4,
            VisibilityTimeout: 2,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        )
      ).Messages ?? [];
    /** what did not fail is deleted; the rest comes back after its visibility timeout */
    const deleteDone = async (Messages: Message[], answers: { answer: Answer }[]) => {
      const failed = new Set(answers.flatMap((a) => a.answer.batchItemFailures.map((f) => f.itemIdentifier)));
      const done = Messages.filter((m) => !failed.has(m.MessageId!));
      if (done.length > 0)
        await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: sqsUrl,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
    };
    try {
      while (!ended) {
        assert.ok(
          Date.now() - t0 < 240_000,
          `the run did not end: ${sqs.sent.length} sent, ${sqs.depth()} on the queue, calls ${JSON.stringify(sqs.calls)}`,
        );
        const Messages = await receive();
        if (Messages.length === 0) {
          await sleep(200);
          continue;
        }
        let answers: { records: SQSRecord[]; answer: Answer }[];
        if (!duplicated) {
          // one message delivered twice at the same moment, to both instances
          duplicated = true;
          const twice = record(Messages[0]!);
          answers = await Promise.all(
            instances.map(async (carry) => ({ records: [twice], answer: await carry({ Records: [twice] }) })),
          );
          const failures = answers.filter((a) => a.answer.batchItemFailures.length > 0).length;
          assert.ok(failures <= 1, 'at most one of the two deliveries is refused (claimed by the other)');
          const rest = Messages.slice(1).map(record);
          if (rest.length > 0) answers.push({ records: rest, answer: await handler({ Records: rest }) });
        } else {
          const records = Messages.map(record);
          const carry = instances[turn++ % 2]!;
          answers = [{ records, answer: await carry({ Records: records }) }];
        }
        await deleteDone(Messages, answers);
      }
      const r = await run;
      assert.equal(r.code, 0, r.stdout + r.stderr);
      // the delivery refused as claimed by the other instance comes back once its visibility
      // timeout passes, which may be after the run ended: the function drops it (its chunk is done)
      for (const until = Date.now() + 15_000; sqs.depth() > 0 && Date.now() < until;) {
        const Messages = await receive();
        if (Messages.length === 0) await sleep(200);
        else await deleteDone(Messages, [{ answer: await handler({ Records: Messages.map(record) }) }]);
      }
    } finally {
      client.destroy();
    }
    assert.ok(duplicated);

    // every chunk sent once, the failed entries again: as many messages as chunks, and retries made
    const chunks = ROWS / 500;
    assert.equal(sqs.sent.length, chunks, `${sqs.sent.length} messages for ${chunks} chunks`);
    assert.ok(
      sqs.calls.every((c) => c.entries <= 10),
      'ten entries a call at most',
    );
    assert.equal(sqs.calls.filter((c) => c.failed > 0).length, 2);
    assert.equal(sqs.depth(), 0, 'the queue is drained');
    for (const body of sqs.sent) {
      assert.ok(!body.includes(canary), 'no secret in a message');
      assert.match(body, /\$\{env:FERRY_LAMBDA_CANARY\}/);
    }
    assert.ok(!(await queueContents(state)).text.includes(canary), 'no secret in the shared state');

    // exactly one copy of every row, equal, and the after-data phases done (the primary key, verify)
    assert.deepEqual(await itemsIn(target), { rows: ROWS, distinct: ROWS });
    const keys = (await mysqlExec(
      target,
      "SELECT count(*) AS n FROM information_schema.table_constraints WHERE table_schema = DATABASE() AND table_name = 'items' AND constraint_type = 'PRIMARY KEY'",
    )) as { n: unknown }[];
    assert.equal(Number(keys[0]!.n), 1, 'the primary key is built after the data');
    const verify = ferry(['verify', file], { cwd: dir, env });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);

    // from a machine without the run's state folder: status, report, rollback
    const status = ferry(
      ['status', file, '--queue', sqs.url, '--shared-state', state, '--state-dir', tmpDir(), '--json'],
      { env },
    );
    assert.equal(status.code, 0, status.stderr);
    const st = JSON.parse(status.stdout) as { phase: string; run: { status: string }; tables: { rows: number }[] };
    assert.equal(st.phase, 'done');
    assert.equal(st.run.status, 'done');
    assert.equal(
      st.tables.reduce((n, t) => n + t.rows, 0),
      ROWS,
    );

    const reportDir = join(tmpDir('ferry-sqs-report-'), 'state');
    const report = ferry(['report', file, '--queue', sqs.url, '--shared-state', state, '--state-dir', reportDir], {
      env,
    });
    assert.equal(report.code, 0, report.stdout + report.stderr);
    const md = report.stdout
      .split('\n')
      .find((l) => l.trim().endsWith('.md'))!
      .trim();
    assert.ok(existsSync(md), md);
    const text = readFileSync(md, 'utf8');
    assert.match(text, /items/);
    assert.match(text, new RegExp(String(ROWS).replace(/\B(?=(\d{3})+$)/g, '[,  ]?')));
    assert.ok(!text.includes(canary));
    // a state folder that holds a state is not laid over
    const again = ferry(['report', file, '--queue', sqs.url, '--shared-state', state, '--state-dir', reportDir], {
      env,
    });
    assert.notEqual(again.code, 0);
    assert.match(oneLine(again.stderr), /holds a state already/);

    const rollbackDir = join(tmpDir('ferry-sqs-rollback-'), 'state');
    const rb = ferry(['rollback', file, '--queue', sqs.url, '--shared-state', state, '--state-dir', rollbackDir], {
      env,
    });
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    assert.match(rb.stdout, /items\s.*drop/);
    const left = (await mysqlExec(
      target,
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'items'",
    )) as { n: unknown }[];
    assert.equal(Number(left[0]!.n), 0, 'the table the run created is dropped');

    // the coordinator's state folder no longer says what the target holds: its next queued run says so
    const stale = ferry(['run', file, '--queue', sqs.url, '--shared-state', state], { cwd: dir, env });
    assert.notEqual(stale.code, 0);
    assert.match(oneLine(stale.stderr), /rolled back from another machine .*move that state folder away/);
  });

  test('status --queue tells the run phase as it goes: copying, after-data, done, failed', async () => {
    const source = await freshPg('sqs_phase_src');
    await fillItems(source, 10);
    const { file, plan } = await planFor(source, await freshPg('sqs_phase_dst'));
    void plan;
    const { hash } = (await import('../../src/core/plan.js')).loadPlan(file);
    const queue = queueUrl('sqs_phase');
    const u = new URL(queue);
    const redis = new Redis({ host: u.hostname, port: Number(u.port) });
    const shared = new SharedCheckpoints(redis, u.searchParams.get('prefix')!);
    const phase = () => {
      const r = ferry(['status', file, '--queue', queue, '--state-dir', tmpDir(), '--json']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { phase: string; run: { status: string; error?: string } };
    };
    try {
      await shared.beginRun(hash, { id: 'r1', started: new Date().toISOString() });
      await shared.tableSplit(hash, 'items', 1);
      assert.deepEqual([phase().phase, phase().run.status], ['copying', 'running']);
      await shared.afterData(hash);
      assert.equal(phase().phase, 'after-data');
      await shared.endRun(hash, 'failed', 'items indexes: disk full');
      const failed = phase();
      assert.deepEqual(
        [failed.phase, failed.run.status, failed.run.error],
        ['failed', 'failed', 'items indexes: disk full'],
      );
      await shared.beginRun(hash, { id: 'r2', started: new Date().toISOString() });
      assert.equal(phase().phase, 'copying', 'a new run is live again');
      await shared.endRun(hash, 'done');
      await shared.forget(hash);
      assert.deepEqual([phase().phase, phase().run.status], ['done', 'done']);
    } finally {
      await dropQueue(queue);
      redis.disconnect();
    }
  });

  test('an SQS queue without a shared state, or a bad SQS URL, is one line', async () => {
    const source = await freshPg('sqs_bad_src');
    await fillItems(source, 10);
    const { file, dir } = await planFor(source, await freshPg('sqs_bad_dst'));
    const noState = ferry(['run', file, '--queue', 'sqs://eu-west-1/123456789012/chunks'], { cwd: dir, env });
    assert.equal(noState.code, 2);
    assert.match(oneLine(noState.stderr), /holds chunk jobs only.*add --shared-state redis:/);
    const badUrl = ferry(['run', file, '--queue', 'sqs://eu-west-1/chunks', '--shared-state', state], {
      cwd: dir,
      env,
    });
    assert.equal(badUrl.code, 2, badUrl.stderr);
    assert.match(oneLine(badUrl.stderr), /does not end in \/ACCOUNT\/NAME/);
    const gone = ferry(['run', file, '--queue', 'http://127.0.0.1:9/000000000000/none', '--shared-state', state], {
      cwd: dir,
      env,
    });
    assert.notEqual(gone.code, 0);
    assert.match(oneLine(gone.stderr), /cannot reach the SQS queue http:\/\/127\.0\.0\.1:9\/000000000000\/none/);
  });
});
