// Support for the queue tests: `ferry worker` processes, a private Redis that a test may
// restart, a scan of every key and value a queue keeps in Redis, and what the Lambda tests
// deploy: a target whose password is a canary, and a deployment package holding the plan.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { dbName, freshMysql, MYSQL_BASE, mysqlExec, mysqlUser, RUN_TAG, tmpDir } from '../helpers.js';
import { freePort } from '../private-postgres.js';

/** The shared Redis the queue tests use (FERRY_TEST_REDIS names another). */
export const REDIS_BASE = (process.env.FERRY_TEST_REDIS ?? 'redis://127.0.0.1:6379/0').replace(/\/+$/, '');

/** A queue URL of this run: its keys start with a prefix no other run uses. */
export function queueUrl(name: string, base = REDIS_BASE): string {
  return `${base}?prefix=ferry_test_${RUN_TAG}_${name}`;
}

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** the chunk lines it printed so far */
  chunks(): string[];
  output(): string;
  /** resolves once it has printed `n` chunk lines */
  finished(n: number): Promise<void>;
  exited: Promise<number>;
  /** SIGTERM, then its exit code */
  stop(): Promise<number>;
}

/** Starts `ferry worker --queue URL` in a child process with `env` added. */
export function startWorker(queue: string, env: Record<string, string>, concurrency = 1): WorkerProcess {
  const child = spawn(process.execPath, [CLI, 'worker', '--queue', queue, '--concurrency', String(concurrency)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: (() => void)[] = [];
  const chunks = () => out.split('\n').filter((l) => / chunk \d+: \d+ rows$/.test(l));
  const onData = (d: Buffer) => {
    out += d;
    waiters.splice(0).forEach((w) => w());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number>((r) => child.on('exit', (code, signal) => r(code ?? (signal ? -1 : 0))));
  return {
    child,
    chunks,
    output: () => out,
    exited,
    async finished(n) {
      while (chunks().length < n) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the worker ended: ${out}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Every key under a queue's prefix with its value, whatever its type, as one text. */
export async function queueContents(queue: string): Promise<{ keys: string[]; text: string }> {
  const u = new URL(queue);
  const prefix = u.searchParams.get('prefix')!;
  const redis = new Redis({ host: u.hostname, port: Number(u.port), db: Number(u.pathname.slice(1) || 0) });
  try {
    const keys = await redis.keys(`${prefix}:*`);
    const parts: string[] = [];
    for (const k of keys) {
      const type = await redis.type(k);
      const value =
        type === 'string'
          ? await redis.get(k)
          : type === 'hash'
            ? await redis.hgetall(k)
            : type === 'list'
              ? await redis.lrange(k, 0, -1)
              : type === 'set'
                ? await redis.smembers(k)
                : type === 'zset'
                  ? await redis.zrange(k, 0, -1, 'WITHSCORES')
                  : type === 'stream'
                    ? await redis.xrange(k, '-', '+')
                    : type;
      parts.push(`${k} ${JSON.stringify(value)}`);
    }
    return { keys, text: parts.join('\n') };
  } finally {
    redis.disconnect();
  }
}

export interface PrivateRedis {
  url: string;
  /** SIGTERM (it writes its append-only file), then starts again on the same port and files */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server of this test's own on a free port, persisting every write (append-only file). */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = tmpDir('ferry-redis-');
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      const r = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
      r.on('error', () => {});
      try {
        await r.connect();
        await r.ping();
        return;
      } catch {
        await new Promise((ok) => setTimeout(ok, 100));
      } finally {
        r.disconnect();
      }
    }
    throw new Error(`redis-server did not start on port ${port}`);
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s || s.exitCode !== null) return;
    const gone = new Promise((r) => s.on('exit', r));
    s.kill('SIGTERM');
    await gone;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    async restart(downMs) {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    stop,
  };
}

/** Removes every key under a queue's prefix (what stopped workers leave: the queue's meta key). */
export async function dropQueue(queue: string): Promise<void> {
  const u = new URL(queue);
  const redis = new Redis({ host: u.hostname, port: Number(u.port), db: Number(u.pathname.slice(1) || 0) });
  try {
    const keys = await redis.keys(`${u.searchParams.get('prefix')!}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/**
 * A fresh MySQL target database (`target`, its URL as the tests reach it) and its URL as a
 * function's plan names it (`asUser`): the account `user`, whose password is `canary`, written
 * as ${env:FERRY_LAMBDA_CANARY} (the function resolves it).
 */
export async function canaryTarget(
  name: string,
  userName: string,
  canary: string,
): Promise<{ target: string; user: string; asUser: string }> {
  const target = await freshMysql(name);
  const user = mysqlUser(userName, ['%', 'localhost']);
  await mysqlExec(
    MYSQL_BASE,
    `CREATE USER '${user}'@'%' IDENTIFIED BY '${canary}'; CREATE USER '${user}'@'localhost' IDENTIFIED BY '${canary}';
     GRANT ALL ON \`${dbName(target)}\`.* TO '${user}'@'%'; GRANT ALL ON \`${dbName(target)}\`.* TO '${user}'@'localhost'`,
  );
  return { target, user, asUser: target.replace(/^mysql:\/\/[^@]+@/, `mysql://${user}:\${env:FERRY_LAMBDA_CANARY}@`) };
}

/** The function's deployment package, holding its own copy of the plan: the plan's path there, also set as FERRY_PLAN. */
export function deploymentPackage(planFile: string): string {
  const pkg = join(tmpDir('ferry-lambda-pkg-'), 'task');
  mkdirSync(pkg);
  copyFileSync(planFile, join(pkg, 'ferry.plan.yaml'));
  process.env.FERRY_PLAN = join(pkg, 'ferry.plan.yaml');
  return process.env.FERRY_PLAN;
}
