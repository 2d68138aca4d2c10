// A plan copied by `ferry worker` processes on a queue, as a user runs them: three workers, one
// SIGKILLed in the middle of a chunk and another added meanwhile, leave exactly one copy of
// every row of a table with a primary key and of one without; no secret reaches the queue;
// the queue is cleaned when the run ends; a Redis restarted mid-run is ridden out (or the run
// stops with one line and the same command finishes it); the global rate limit holds across
// workers; a MySQL source is refused in one line.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freshMysql, freshPg, mysqlExec, pgExec } from '../helpers.js';
import { ferry, ferryAsync, fillItems, itemsIn, oneLine, planFor } from './support.js';
import { dropQueue, privateRedis, queueContents, queueUrl, startWorker, type WorkerProcess } from './queue-support.js';

const ROWS = 16_000;
const NOTES = 3_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const canary = `canary-${randomBytes(8).toString('hex')}`;
process.env.FERRY_QUEUE_CANARY = canary;
const env = { FERRY_QUEUE_CANARY: canary };

/** A server URL whose password is a reference to the canary (the shared servers trust loopback and ignore it). */
function withCanary(url: string): string {
  return url.replace(
    /^([a-z]+:\/\/)([^:@/]+)@/,
    (_, scheme: string, user: string) => `${scheme}${user}:\${env:FERRY_QUEUE_CANARY}@`,
  );
}

const workers: WorkerProcess[] = [];
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  for (const name of ['kill', 'rate', 'mysql']) await dropQueue(queueUrl(name));
});
function worker(queue: string): WorkerProcess {
  const w = startWorker(queue, env);
  workers.push(w);
  return w;
}

/** A source with `items` (primary key) and `notes` (none, each row distinct), and an empty target. */
async function endpoints(name: string): Promise<{ source: string; target: string }> {
  const source = await freshPg(`q_${name}_src`);
  await fillItems(source, ROWS);
  await pgExec(
    source,
    `CREATE TABLE notes (body text NOT NULL); INSERT INTO notes SELECT 'note ' || g FROM generate_series(1, ${NOTES}) g`,
  );
  return { source: withCanary(source), target: withCanary(await freshPg(`q_${name}_dst`)) };
}

/** Every row once in the target, and `ferry verify` agrees. */
async function copiedOnce(target: string, file: string, dir: string): Promise<void> {
  assert.deepEqual(await itemsIn(target), { rows: ROWS, distinct: ROWS });
  const notes = (await pgExec(target, 'SELECT count(*) n, count(DISTINCT body) d FROM notes')).rows[0];
  assert.deepEqual({ rows: Number(notes.n), distinct: Number(notes.d) }, { rows: NOTES, distinct: NOTES });
  const verify = ferry(['verify', file], { cwd: dir, env });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
}

/** The audit log lines of the latest `ferry run` in a state folder. */
function auditLines(dir: string): Record<string, unknown>[] {
  const folder = join(dir, '.ferry', 'audit');
  const logs = readdirSync(folder)
    .sort()
    .map((f) =>
      readFileSync(join(folder, f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
  return logs.filter((lines) => lines[0]!.command === 'run').at(-1)!;
}

describe('ferry worker on a queue', () => {
  test('three workers, one SIGKILLed mid-chunk and one added: exactly one copy of every row, no secret in the queue', async () => {
    const { source, target } = await endpoints('kill');
    // each worker reads 500 rows a second: a chunk of 2000 rows takes it four seconds, so that
    // chunks are left for the worker added mid-run even when a loaded machine starts it slowly
    const { file, dir } = await planFor(source, target, (p) => {
      p.settings.throttle = { rowsPerSecond: 500 };
      p.settings.batchRows = 250;
    });
    const queue = queueUrl('kill');
    const first = worker(queue);
    const second = worker(queue);
    const run = ferryAsync(['run', file, '--queue', queue], { cwd: dir, env });
    await first.finished(1);
    // the first worker has taken its next chunk: kill it half a second into it
    await sleep(500);
    const during = await queueContents(queue);
    first.child.kill('SIGKILL');
    const third = worker(queue);
    const r = await run;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await copiedOnce(target, file, dir);

    const written = auditLines(dir).filter((l) => l.event === 'chunk written');
    assert.equal(written.length, ROWS / 2000 + 1, 'every chunk written once in the run');
    assert.ok(
      written.some((l) => (l.attempts as number) > 1),
      'the chunk the killed worker held was taken over and replayed',
    );
    assert.ok(third.chunks().length > 0, 'the worker added mid-run took chunks');
    assert.ok(second.chunks().length > 0);

    assert.ok(during.keys.length > 0, 'the queue held the run while it went');
    const afterwards = await queueContents(queue);
    for (const contents of [during, afterwards]) assert.ok(!contents.text.includes(canary), 'no secret in the queue');
    assert.ok(during.text.includes('${env:FERRY_QUEUE_CANARY}'), 'endpoints travel as references');
    // cleaned: no job and no chunk state left, only what the live workers keep of the queue itself,
    // and how the run ended with its records (status, report and rollback from other machines)
    const kept = /:state:[0-9a-f]+:(outcome|records)$/;
    assert.deepEqual(
      afterwards.keys.filter((k) => !/:chunks:(meta|stalled-check)$/.test(k) && !kept.test(k)),
      [],
      afterwards.keys.join(' '),
    );
    assert.equal(afterwards.keys.filter((k) => kept.test(k)).length, 2, afterwards.keys.join(' '));
    const status = ferry(['status', file], { cwd: dir, env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /items/);
  });

  test('Redis restarted mid-run: the run finishes, or stops with one line and the same command finishes it', async () => {
    const redis = await privateRedis();
    try {
      const { source, target } = await endpoints('restart');
      const { file, dir } = await planFor(source, target, (p) => {
        p.settings.throttle = { rowsPerSecond: 2000 };
        p.settings.batchRows = 250;
      });
      const queue = queueUrl('restart', redis.url);
      const a = worker(queue);
      worker(queue);
      const run = ferryAsync(['run', file, '--queue', queue], { cwd: dir, env });
      await a.finished(1);
      await redis.restart(2000);
      let r = await run;
      if (r.code !== 0) {
        assert.match(oneLine(r.stderr), /^ferry: .*queue/);
        r = await ferryAsync(['run', file, '--queue', queue], { cwd: dir, env });
      }
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
      await copiedOnce(target, file, dir);
    } finally {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await redis.stop();
    }
  });

  test('the global rate limit holds across three workers', async (t) => {
    const source = await freshPg('q_rate_src');
    await fillItems(source, 4000);
    const target = await freshPg('q_rate_dst');
    const { file, dir } = await planFor(source, target, () => {}, { rowsPerChunk: 100 });
    const queue = queueUrl('rate');
    for (let i = 0; i < 3; i++) worker(queue);
    const limit = 4;
    const r = await ferryAsync(['run', file, '--queue', queue, '--chunks-per-second', String(limit)], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const times = auditLines(dir)
      .filter((l) => l.event === 'chunk written')
      .map((l) => Date.parse(l.time as string))
      .sort((x, y) => x - y);
    assert.equal(times.length, 40);
    // BullMQ's limiter lets `limit` jobs start per window of a second. The first window's jobs
    // also pay each worker's start (connecting, importing the snapshot), which bunches the
    // completions after them: the rate is taken from the end of the first window on
    const rate = (times.length - 1 - limit) / ((times.at(-1)! - times[limit]!) / 1000);
    t.diagnostic(`${rate.toFixed(2)} chunks/s across 3 workers, limit ${limit}`);
    assert.ok(rate <= limit * 1.1, `${rate} chunks/s, limit ${limit}`);
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  test('a MySQL source is refused in one line before anything is written', async () => {
    const source = await freshMysql('q_mysql_src');
    await mysqlExec(source, 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)');
    const target = await freshPg('q_mysql_dst');
    const { file, dir } = await planFor(source, target);
    const r = ferry(['run', file, '--queue', queueUrl('mysql')], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(
      oneLine(r.stderr),
      /^ferry: a queued run of a MySQL source needs the CDC handoff .*: run the plan without --queue$/,
    );
    const tables = await pgExec(
      target,
      "SELECT count(*) n FROM information_schema.tables WHERE table_schema = 'public'",
    );
    assert.equal(Number(tables.rows[0].n), 0);
  });

  test('a queue that cannot be reached is one line', () => {
    const r = ferry(['worker', '--queue', 'redis://127.0.0.1:1/0']);
    assert.equal(r.code, 1);
    assert.match(
      oneLine(r.stderr),
      /^ferry: cannot reach the queue at redis:\/\/127\.0\.0\.1:1\/0 .*: check that Redis runs there/,
    );
  });
});
