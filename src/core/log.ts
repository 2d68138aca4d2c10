// Structured logs (pino). Every line passes through `redact`, so a secret that reached a
// message is still never written.
import { pino } from 'pino';
import { redact } from './secrets.js';

export type Logger = pino.Logger;

export function createLogger(opts: { level?: string; json?: boolean; destination?: number | string } = {}): Logger {
  const dest = pino.destination({ dest: opts.destination ?? 2, sync: true });
  const stream = {
    write(line: string) {
      dest.write(redact(line));
    },
  };
  return pino(
    {
      level: opts.level ?? process.env.FERRY_LOG_LEVEL ?? 'warn',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

/** A logger that drops everything, for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
