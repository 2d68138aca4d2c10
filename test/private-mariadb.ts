// A MariaDB server of a test's own (mariadb-install-db + mariadbd on a free port), for settings
// the shared server must not get (TLS with a test certificate) and for what must not happen to
// it (a shutdown or a restart in the middle of a run).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './private-postgres.js';

export interface PrivateMariadb {
  port: number;
  /** creates a database on it (utf8mb4); returns its URL (as root) */
  database(name: string): Promise<string>;
  /** a normal shutdown (SIGTERM: "server shutdown in progress", connections closed); port and data stay */
  shutdown(): Promise<void>;
  /** starts it again after shutdown(), on the same port with the same data */
  start(): Promise<void>;
  /** shutdown() and start() */
  restart(): Promise<void>;
  /** kill -9: the server dies at once, its connections with it; start() recovers it */
  kill(): Promise<void>;
  /** SIGSTOP: the server stops answering, its connections stay open; thaw() wakes it */
  freeze(): void;
  thaw(): void;
  /** ends it and removes its files */
  stop(): Promise<void>;
}

const isRoot = process.getuid?.() === 0;

/** mariadbd refuses to run as root: as root, files and the server belong to the mysql user. */
function owned(path: string): void {
  if (!isRoot) return;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'mysql'], { encoding: 'utf8' }));
  chownSync(path, id('-u'), id('-g'));
}

async function reachable(port: number): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * A server whose root@127.0.0.1 has no password; `tls` makes it offer TLS with the given
 * certificate; `binlog` writes a row binlog (log_bin, binlog_format=ROW, binlog_row_image=FULL,
 * binlog_row_metadata=FULL) in its folder, for live changes; `settings` are more server options
 * (`--max-allowed-packet=1G`), after the defaults.
 */
export async function privateMariadb(
  opts: { tls?: { cert: string; key: string }; binlog?: boolean; settings?: string[] } = {},
): Promise<PrivateMariadb> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-mariadb-private-'));
  owned(dir);
  const port = await freePort();
  const user = isRoot ? ['--user=mysql'] : [];
  execFileSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      ...user,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ],
    { stdio: 'ignore' },
  );
  const args = [
    '--no-defaults',
    `--datadir=${join(dir, 'data')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(dir, 'sock')}`,
    ...(opts.binlog
      ? [
          `--log-bin=${join(dir, 'data', 'binlog')}`,
          '--server-id=1',
          '--binlog-format=ROW',
          '--binlog-row-image=FULL',
          '--binlog-row-metadata=FULL',
        ]
      : ['--skip-log-bin']),
    '--innodb-buffer-pool-size=16M',
    `--log-error=${join(dir, 'error.log')}`,
    ...user,
    ...(opts.settings ?? []),
  ];
  if (opts.tls) {
    for (const [from, to] of [
      [opts.tls.cert, 'server.crt'],
      [opts.tls.key, 'server.key'],
    ] as const) {
      copyFileSync(from, join(dir, to));
      owned(join(dir, to));
    }
    args.push(`--ssl-cert=${join(dir, 'server.crt')}`, `--ssl-key=${join(dir, 'server.key')}`);
  }
  let server: ChildProcess | undefined;
  let exited = Promise.resolve();
  const shutdown = async () => {
    server?.kill('SIGTERM');
    await exited;
    server = undefined;
  };
  const kill = async () => {
    server?.kill('SIGKILL');
    await exited;
    server = undefined;
  };
  const start = async () => {
    const child = spawn('/usr/sbin/mariadbd', args, { stdio: 'ignore' });
    server = child;
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      if (await reachable(port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = existsSync(join(dir, 'error.log'))
      ? readFileSync(join(dir, 'error.log'), 'utf8').trim().split('\n').slice(-3).join(' | ')
      : 'no log';
    await shutdown();
    throw new Error(`the private MariaDB server did not start: ${log}`);
  };
  const stop = async () => {
    server?.kill('SIGCONT');
    await shutdown();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    database: async (name) => {
      const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
      try {
        await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
      } finally {
        await c.end();
      }
      return `mysql://root@127.0.0.1:${port}/${name}`;
    },
    shutdown,
    start,
    restart: async () => {
      await shutdown();
      await start();
    },
    kill,
    freeze: () => server?.kill('SIGSTOP'),
    thaw: () => server?.kill('SIGCONT'),
    stop,
  };
}
