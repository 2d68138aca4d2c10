// A MariaDB server of a test's own (mariadb-install-db + mariadbd on a free port), for settings
// the shared server must not get: TLS with a test certificate.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './private-postgres.js';

export interface PrivateMariadb {
  port: number;
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

/** A server whose root@127.0.0.1 has no password; `tls` makes it offer TLS with the given certificate. */
export async function privateMariadb(opts: { tls?: { cert: string; key: string } } = {}): Promise<PrivateMariadb> {
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
    '--skip-log-bin',
    '--innodb-buffer-pool-size=16M',
    `--log-error=${join(dir, 'error.log')}`,
    ...user,
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
  const server = spawn('/usr/sbin/mariadbd', args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async () => {
    server.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (server.exitCode !== null) break;
    if (await reachable(port)) return { port, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = existsSync(join(dir, 'error.log'))
    ? readFileSync(join(dir, 'error.log'), 'utf8').trim().split('\n').slice(-3).join(' | ')
    : 'no log';
  await stop();
  throw new Error(`the private MariaDB server did not start: ${log}`);
}
