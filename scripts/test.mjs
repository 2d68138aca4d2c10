#!/usr/bin/env node
// The test command: makes sure the database servers the tests talk to are reachable
// (saying how to start one that is not), then runs every compiled test file. FERRY_TEST_PG and
// FERRY_TEST_MYSQL name other servers; every database, role and user the tests make carries
// this run's tag (FERRY_TEST_RUN), so that two runs on one machine never share a name.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';

const at = (url, port) => ({ host: new URL(url).hostname, port: Number(new URL(url).port || port) });
const servers = [
  {
    name: 'PostgreSQL',
    ...at(process.env.FERRY_TEST_PG ?? 'postgres://127.0.0.1:5432', 5432),
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  },
  {
    name: 'MariaDB',
    ...at(process.env.FERRY_TEST_MYSQL ?? 'mysql://127.0.0.1:3306', 3306),
    start:
      'start-stop-daemon --start --oknodo --background --pidfile /run/mysqld/ferry-shared.pid --exec /usr/sbin/mariadbd',
  },
];

function reachable({ host, port }) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 2000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

const missing = [];
for (const s of servers) if (!(await reachable(s))) missing.push(s);
if (missing.length) {
  for (const s of missing)
    console.error(`${s.name} is not reachable on ${s.host}:${s.port}. Start it with: ${s.start}`);
  process.exit(1);
}

function testFiles(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? testFiles(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

const filter = process.argv.slice(2);
const files = testFiles('dist/test')
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  // node --test given no file would look for tests on its own, and run every file it finds
  console.error(`no test file's path contains ${filter.map((x) => `"${x}"`).join(' or ')}`);
  process.exit(2);
}
process.env.FERRY_TEST_RUN ??= randomBytes(3).toString('hex');
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
