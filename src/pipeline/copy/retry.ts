// Transient errors (a dropped connection, a deadlock, throttling) are retried with backoff and
// jitter; anything else, or a transient error past the limit, is the caller's to report.
import { isTransient } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

const MAX_TRANSIENT_RETRIES = 5;

export async function withRetries<T>(what: string, log: Logger, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e) || attempt >= MAX_TRANSIENT_RETRIES) throw e;
      const delay = Math.min(10_000, 200 * 2 ** attempt) * (0.5 + Math.random());
      log.warn({ err: (e as Error).message, attempt: attempt + 1 }, `${what}: transient error, retrying`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
