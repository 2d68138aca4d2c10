// Where a queued run's chunk jobs and shared chunk states live: a Redis URL,
// `redis://[user:password@]host:port/db[?prefix=NAME]`, its password (if any) a ${env:…} or
// ${file:…} reference. Every key of the queue and its shared state starts with the prefix
// (default `ferry`), so that several queues may share one Redis.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../core/log.js';
import { FerryError } from '../../core/errors.js';
import { hasLiteralPassword, redact, resolveSecrets } from '../../core/secrets.js';
import { isSqsQueue, sqsAddress } from './sqs-address.js';

export interface QueueAddress {
  /** ioredis options for every connection to the queue */
  connection: RedisOptions;
  /** the first part of every key */
  prefix: string;
  /** the URL as given, for messages (redacted) */
  shown: string;
}

/** The name of the BullMQ queue of chunk jobs under the prefix. */
export const CHUNK_QUEUE = 'chunks';

export function queueAddress(url: string): QueueAddress {
  const shown = redact(url);
  const bad = (why: string) =>
    new FerryError(
      'URL_INVALID',
      `the queue ${shown} ${why}`,
      'give it as redis://host:port/db (a password as ${env:NAME} or ${file:path}), optionally ?prefix=NAME',
    );
  if (hasLiteralPassword(url)) throw bad('holds a literal password');
  let u: URL;
  try {
    u = new URL(resolveSecrets(url));
  } catch (e) {
    if (e instanceof FerryError) throw e;
    throw bad('is not a URL');
  }
  if (u.protocol !== 'redis:') throw bad('is not a redis:// URL');
  const db = u.pathname.replace(/^\//, '') || '0';
  if (!/^\d+$/.test(db)) throw bad(`names the database "${db}", which is not a number`);
  const prefix = u.searchParams.get('prefix') ?? 'ferry';
  if (!/^[\w.-]+$/.test(prefix)) throw bad('has a prefix other than letters, digits, "_", "." and "-"');
  return {
    connection: {
      host: u.hostname || '127.0.0.1',
      port: Number(u.port || 6379),
      db: Number(db),
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      // BullMQ's blocking commands wait for ever; a connection that drops is opened again
      maxRetriesPerRequest: null,
      connectTimeout: 10_000,
    },
    prefix,
    shown,
  };
}

/** Connects to the queue's Redis and checks it answers; one line, saying `whatToDo`, when it cannot be reached. */
export async function connectQueue(address: QueueAddress, log: Logger, whatToDo: string): Promise<Redis> {
  const redis = new Redis({ ...address.connection, lazyConnect: true });
  redis.on('error', (e) => log.debug({ err: e.message }, 'queue connection'));
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    throw new FerryError(
      'CONNECT_FAILED',
      `cannot reach the queue at ${address.shown} (${(e as Error).message})`,
      whatToDo,
    );
  }
  return redis;
}

/**
 * The Redis URL of a queued run's shared state: a Redis queue's own, or for an SQS queue (which
 * holds the jobs only) the one given with --shared-state; one line when it is missing or misplaced,
 * or the SQS queue's URL is not one.
 */
export function sharedStateUrl(queue: string, sharedState: string | undefined): string {
  if (!isSqsQueue(queue)) {
    if (sharedState !== undefined && sharedState !== queue)
      throw new FerryError(
        'PLAN_INVALID',
        `--shared-state goes with an SQS queue; the queue ${redact(queue)} keeps the run's shared state itself`,
        'leave --shared-state out',
      );
    return queue;
  }
  sqsAddress(queue);
  if (!sharedState)
    throw new FerryError(
      'PLAN_INVALID',
      `the SQS queue ${queue} holds chunk jobs only, and the run's shared state needs a Redis`,
      "add --shared-state redis://host:port/db[?prefix=NAME] (the function's FERRY_STATE, deploy/lambda)",
    );
  if (isSqsQueue(sharedState))
    throw new FerryError(
      'URL_INVALID',
      `--shared-state ${redact(sharedState)} is not a redis:// URL`,
      "give the function's FERRY_STATE, redis://host:port/db[?prefix=NAME]",
    );
  return sharedState;
}
