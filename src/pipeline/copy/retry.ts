// Transient errors (a dropped connection, a server restart, a deadlock) are retried with backoff
// and jitter, as often as the plan's settings.retries allow; anything else, or a transient error
// past the limit, is the caller's to report.
import { FerryError, isTransient } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Plan } from '../../core/plan.js';

export type RetrySettings = Plan['settings']['retries'];

/** the wait after the first failure; each next one doubles, up to maxDelaySeconds */
const FIRST_DELAY_MS = 500;

/** The wait after failed try `n` (from 1): a random point in the upper half of the backoff, so that chunks failed together do not retry together. */
function delayMs(n: number, retries: RetrySettings): number {
  const backoff = Math.min(retries.maxDelaySeconds * 1000, FIRST_DELAY_MS * 2 ** (n - 1));
  return backoff / 2 + (Math.random() * backoff) / 2;
}

export async function withRetries<T>(
  what: string,
  log: Logger,
  retries: RetrySettings,
  fn: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  for (let n = 1; ; n++) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e)) throw e;
      if (n >= retries.attempts) throw gaveUp(e as FerryError, what, n, started);
      log.warn({ err: (e as Error).message, attempt: n }, `${what}: transient error, retrying`);
      await new Promise((r) => setTimeout(r, delayMs(n, retries)));
    }
  }
}

function gaveUp(e: FerryError, what: string, tries: number, started: number): FerryError {
  const seconds = Math.round((Date.now() - started) / 1000);
  return new FerryError(
    e.code,
    `${what} failed ${tries} times in ${seconds} s: ${e.message}`,
    'check the server named here, then run the same command to resume (settings.retries sets how long a run keeps trying)',
    { transient: true, cause: e },
  );
}
