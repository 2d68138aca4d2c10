// The DynamoDB client (AWS SDK v3, standard credential chain), its errors as FerryErrors, and
// the one retry policy every call goes through: exponential backoff with full jitter.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FerryError, type ErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { redactUrl, urlParams } from '../../core/url.js';

export interface Endpoint {
  region: string;
  /** a local or compatible implementation's URL; absent for AWS itself */
  endpoint?: string;
}

/** dynamodb://region[?endpoint=http://host:port] */
export function parseEndpoint(url: string): Endpoint {
  const m = /^dynamodb:\/\/([^/?#]*)\/?(\?.*)?$/i.exec(url.trim());
  const usage =
    'write dynamodb://REGION, e.g. dynamodb://eu-west-1, or dynamodb://us-east-1?endpoint=http://127.0.0.1:8000 for a local implementation';
  if (!m) throw new FerryError('URL_INVALID', `cannot read DynamoDB endpoint "${redactUrl(url)}"`, usage);
  const region = decodeURIComponent(m[1]!);
  if (!/^[a-z]{2}(-[a-z0-9]+)+$/.test(region))
    throw new FerryError('URL_INVALID', `"${region}" in ${redactUrl(url)} is not an AWS region`, usage);
  const params = urlParams(url);
  for (const key of params.keys())
    if (key !== 'endpoint')
      throw new FerryError('URL_INVALID', `unknown parameter "${key}" in ${redactUrl(url)}`, usage);
  const endpoint = params.get('endpoint') ?? undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint))
    throw new FerryError('URL_INVALID', `endpoint "${redactUrl(endpoint)}" is not an http(s) URL`, usage);
  return { region, endpoint };
}

export function endpointName(e: Endpoint): string {
  return e.endpoint ? `DynamoDB at ${redactUrl(e.endpoint)}` : `DynamoDB in ${e.region}`;
}

export function createClient(e: Endpoint, sockets: number): DynamoDBClient {
  // the SDK warns on stderr about Node versions it will drop; ferry's output is its own
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const agent = { keepAlive: true, maxSockets: sockets };
  return new DynamoDBClient({
    region: e.region,
    endpoint: e.endpoint,
    // retries are ferry's own (withRetries), so that throttling never loses an item
    maxAttempts: 1,
    requestHandler: {
      httpAgent: new HttpAgent(agent),
      httpsAgent: new HttpsAgent(agent),
      connectionTimeout: 5_000,
      requestTimeout: 60_000,
    },
  });
}

interface AwsErrorLike {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);
const AUTH = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'AccessDeniedException',
  'MissingAuthenticationTokenException',
  'IncompleteSignatureException',
  'CredentialsProviderError',
  'InvalidClientTokenId',
]);
const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'TimeoutError',
  'RequestTimeout',
  'NetworkingError',
]);

/** Throttling, server errors and dropped connections: worth another try. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof FerryError) return err.transient;
  const e = err as AwsErrorLike;
  const status = e?.$metadata?.httpStatusCode ?? 0;
  return (
    THROTTLED.has(e?.name ?? '') ||
    status >= 500 ||
    NETWORK.has(e?.code ?? '') ||
    NETWORK.has(e?.name ?? '') ||
    e?.name === 'InternalServerError' ||
    /socket hang up/i.test(e?.message ?? '')
  );
}

/** A DynamoDB or SDK error as a FerryError; `context` says what was being done. */
export function toFerryError(err: unknown, code: ErrorCode, context: string, endpoint: Endpoint): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as AwsErrorLike;
  const name = e?.name ?? '';
  const message = (e?.message ?? String(err)).split('\n')[0]!;
  if (AUTH.has(name))
    return new FerryError(
      'AUTH_FAILED',
      `${context}: ${endpointName(endpoint)} refused the credentials (${name}: ${message})`,
      'check the AWS credentials ferry finds (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role) and their permissions',
      { cause: err },
    );
  if (name === 'ResourceNotFoundException')
    return new FerryError(
      'TABLE_NOT_FOUND',
      `${context}: ${message}`,
      'check the table name in the plan, or run the plan again to create it',
      { cause: err },
    );
  if (NETWORK.has(e?.code ?? '') || NETWORK.has(name))
    return new FerryError(
      'CONNECT_FAILED',
      `${context}: cannot reach ${endpointName(endpoint)} (${e.code ?? name})`,
      'check the region and the endpoint in the target URL, and the network',
      { transient: true, cause: err },
    );
  const transient = isRetryable(err);
  return new FerryError(
    code,
    `${context}: ${name ? `${name}: ` : ''}${message}`,
    transient ? 'DynamoDB is busy or unavailable; the work is retried' : 'fix the plan or the data as the message says',
    { transient, cause: err },
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Backoff {
  /** first delay ceiling, ms */
  base: number;
  /** largest delay ceiling, ms */
  cap: number;
  /** tries before the error is passed on */
  attempts: number;
}

export const DEFAULT_BACKOFF: Backoff = { base: 50, cap: 5_000, attempts: 10 };

/** Full jitter: a random delay up to an exponentially growing ceiling. */
export const jitter = (b: Backoff, attempt: number): number => Math.random() * Math.min(b.cap, b.base * 2 ** attempt);

/** Runs `fn`, retrying retryable errors with backoff; the last error passes on as it was. */
export async function withRetries<T>(
  fn: () => Promise<T>,
  log: Logger,
  what: string,
  backoff: Backoff = DEFAULT_BACKOFF,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetryable(err) || attempt + 1 >= backoff.attempts) throw err;
      log.debug({ err: (err as Error).name, attempt: attempt + 1 }, `${what}: retrying`);
      await sleep(jitter(backoff, attempt));
    }
  }
}

/** A write-rate cap shared by every writer of a connector: items are given time slots in turn. */
export class RateLimit {
  private next = 0;

  constructor(private readonly perSecond: number | undefined) {}

  async take(items: number): Promise<void> {
    if (!this.perSecond) return;
    const now = performance.now();
    const start = Math.max(now, this.next);
    this.next = start + (items * 1000) / this.perSecond;
    if (start > now) await sleep(start - now);
  }
}

/** At most so many calls in flight over the whole connector, whichever chunks make them. */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
