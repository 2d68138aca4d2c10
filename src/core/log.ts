// Structured logs (pino): one line per entry for a person to read, or JSON lines with
// `json` (--json-logs). Every line passes through `redact`, so a secret that reached a message
// is still never written.
import { isatty } from 'node:tty';
import { pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { redact } from './secrets.js';

export type Logger = pino.Logger;

export function createLogger(opts: { level?: string; json?: boolean; destination?: number | string } = {}): Logger {
  const fd = opts.destination ?? 2;
  const dest = pino.destination({ dest: fd, sync: true });
  const readable = opts.json
    ? undefined
    : prettyFactory({
        colorize: typeof fd === 'number' && isatty(fd),
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
        singleLine: true,
      });
  const stream = {
    write(line: string) {
      dest.write(redact(readable ? readable(line) : line));
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
