// A PostgreSQL server of a test's own (initdb + pg_ctl on a free port), for settings the shared
// server must not get (password authentication, TLS with a test certificate) and for what must
// not happen to it (a shutdown or a restart in the middle of a run).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PrivatePostgresOptions {
  /** the postgres user's password; without one, every local user is trusted */
  password?: string;
  /** PEM files of the server's certificate and key: the server runs with ssl=on and takes TCP connections only over TLS */
  tls?: { cert: string; key: string };
  /** more server settings (-c name=value), such as wal_level=logical for live changes */
  settings?: Record<string, string | number>;
}

export interface PrivatePostgres {
  port: number;
  /** creates a database on it; returns its URL (as user postgres) */
  database(name: string): Promise<string>;
  /** a fast shutdown (sessions end with "terminating connection due to administrator command"); port and data stay */
  shutdown(): void;
  /** starts it again after shutdown(), on the same port with the same data */
  start(): void;
  /** shutdown() and start() */
  restart(): void;
  /** kill -9 of the postmaster and every backend: connections die at once; start() recovers it */
  kill(): Promise<void>;
  /** SIGSTOP of the postmaster and every backend: the server stops answering, its connections stay open; thaw() wakes it */
  freeze(): void;
  thaw(): void;
  /** ends it and removes its files */
  stop(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const isRoot = process.getuid?.() === 0;

/** initdb refuses to run as root: as root, files and commands belong to the postgres user. */
function owned(path: string): void {
  if (!isRoot) return;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  chownSync(path, id('-u'), id('-g'));
}

function run(cmd: string[]): void {
  const argv = isRoot ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd;
  execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
}

/** Whether a process runs (a zombie does not: nothing may reap it in a container). */
function alive(pid: string): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export async function privatePostgres(opts: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const bin = execFileSync('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'], {
    encoding: 'utf8',
  }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-pg-private-'));
  owned(dir);
  const port = await freePort();
  const auth = opts.password === undefined ? 'trust' : 'scram-sha-256';
  const initdb = [`${bin}/initdb`, '-D', join(dir, 'data'), '-U', 'postgres', '-A', auth];
  if (opts.password !== undefined) {
    writeFileSync(join(dir, 'pw'), opts.password);
    owned(join(dir, 'pw'));
    initdb.push(`--pwfile=${join(dir, 'pw')}`);
  }
  run(initdb);
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c shared_buffers=16MB',
    '-c max_connections=20',
    ...Object.entries(opts.settings ?? {}).map(([k, v]) => `-c ${k}=${v}`),
  ];
  if (opts.tls) {
    // the server refuses a key file others may read
    for (const [from, to] of [
      [opts.tls.cert, 'server.crt'],
      [opts.tls.key, 'server.key'],
    ] as const) {
      copyFileSync(from, join(dir, to));
      chmodSync(join(dir, to), 0o600);
      owned(join(dir, to));
    }
    writeFileSync(join(dir, 'data', 'pg_hba.conf'), `local all all ${auth}\nhostssl all all 127.0.0.1/32 ${auth}\n`);
    settings.push(
      '-c ssl=on',
      `-c ssl_cert_file=${join(dir, 'server.crt')}`,
      `-c ssl_key_file=${join(dir, 'server.key')}`,
    );
  }
  const pgCtl = (...args: string[]) => run([`${bin}/pg_ctl`, '-D', join(dir, 'data'), '-w', ...args]);
  let running = false;
  const start = () => {
    pgCtl('-l', join(dir, 'log'), '-o', settings.join(' '), 'start');
    running = true;
  };
  const shutdown = () => {
    pgCtl('-m', 'fast', 'stop');
    running = false;
  };
  /** The postmaster and its children, as they are now. */
  const processes = () => {
    const postmaster = readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]!;
    const backends = execFileSync('ps', ['-o', 'pid=', '--ppid', postmaster], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    return [postmaster, ...backends];
  };
  const signal = (pids: string[], sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(Number(pid), sig);
      } catch {
        // gone already
      }
    }
  };
  let frozen: string[] = [];
  const kill = async () => {
    const pids = processes();
    signal(pids, 'SIGKILL');
    while (alive(pids[0]!)) await new Promise((r) => setTimeout(r, 50));
    // its lock files name a pid that may stay a zombie (nothing reaps it in a container): the
    // server would take it for a running postmaster
    for (const lock of [join(dir, 'data', 'postmaster.pid'), join(dir, `.s.PGSQL.${port}.lock`)])
      rmSync(lock, { force: true });
    running = false;
  };
  start();
  return {
    port,
    database: async (name) => {
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    shutdown,
    start,
    restart: () => {
      shutdown();
      start();
    },
    kill,
    freeze: () => {
      frozen = processes();
      signal(frozen, 'SIGSTOP');
    },
    thaw: () => {
      signal(frozen, 'SIGCONT');
      frozen = [];
    },
    stop: () => {
      signal(frozen, 'SIGCONT');
      if (running) pgCtl('-m', 'immediate', 'stop');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
