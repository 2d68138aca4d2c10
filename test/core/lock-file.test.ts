import assert from 'node:assert/strict';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import type { LockHolder, LockOutcome } from '../../src/core/contracts.js';
import { LEASE_MS, takeLockFile } from '../../src/core/lock-file.js';
import { tmpDir } from '../helpers.js';

const me = (command = 'run'): LockHolder => ({
  host: hostname(),
  pid: process.pid,
  since: new Date().toISOString(),
  command,
});
const opts = { what: 'plan p.yaml', elsewhere: 'use another folder' };

function leaseOf(o: LockOutcome) {
  assert.ok('lease' in o, `taken, not held by ${JSON.stringify(o)}`);
  return o.lease;
}

/** A pid no process has: a process that ran and ended. */
function goneProcess(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test('a lock is taken once: the second taker is told the holder; released, it is free again and the file is gone', async () => {
  const dir = tmpDir('ferry-lock-');
  const path = join(dir, 'p.lock');
  const first = leaseOf(takeLockFile(path, me('run'), opts));
  const second = takeLockFile(path, me('verify'), opts);
  assert.ok('heldBy' in second);
  assert.equal(second.heldBy?.command, 'run');
  assert.equal(second.heldBy?.pid, process.pid);
  assert.equal(second.heldBy?.host, hostname());
  await first.release();
  assert.deepEqual(readdirSync(dir), []);
  await leaseOf(takeLockFile(path, me(), opts)).release();
});

test('a lock whose process is gone on this host is taken over at once', async () => {
  const path = join(tmpDir('ferry-lock-'), 'p.lock');
  writeFileSync(path, JSON.stringify({ host: hostname(), pid: goneProcess(), since: '2026-01-01T00:00:00Z' }));
  const lease = leaseOf(takeLockFile(path, me(), opts));
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
  await lease.release();
});

test("another host's lock holds while its lease runs, and is taken over when it ran out", async () => {
  const path = join(tmpDir('ferry-lock-'), 'p.lock');
  writeFileSync(path, JSON.stringify({ host: 'build-7', pid: 1, since: '2026-01-01T00:00:00Z', command: 'run' }));
  const held = takeLockFile(path, me(), opts);
  assert.deepEqual(held, { heldBy: { host: 'build-7', pid: 1, since: '2026-01-01T00:00:00Z', command: 'run' } });
  const expired = new Date(Date.now() - LEASE_MS - 1000);
  utimesSync(path, expired, expired);
  await leaseOf(takeLockFile(path, me(), opts)).release();
});

test('a lock file that is not a lock holds until its lease runs out, its holder unknown', async () => {
  const path = join(tmpDir('ferry-lock-'), 'p.lock');
  writeFileSync(path, 'not json');
  assert.deepEqual(takeLockFile(path, me(), opts), { heldBy: undefined });
  const expired = new Date(Date.now() - LEASE_MS - 1000);
  utimesSync(path, expired, expired);
  await leaseOf(takeLockFile(path, me(), opts)).release();
});

test('a release after the lock was taken over leaves the new holder its lock', async () => {
  const path = join(tmpDir('ferry-lock-'), 'p.lock');
  const first = leaseOf(takeLockFile(path, me('run'), opts));
  const expired = new Date(Date.now() - LEASE_MS - 1000);
  utimesSync(path, expired, expired);
  const second = leaseOf(takeLockFile(path, me('verify'), opts));
  await first.release();
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).command, 'verify');
  await second.release();
});

test('a folder that cannot hold the lock is one line naming it', () => {
  assert.throws(
    () => takeLockFile(join(tmpDir('ferry-lock-'), 'missing', 'p.lock'), me(), opts),
    /cannot take the lock of plan p\.yaml \(.*missing\/p\.lock\): /,
  );
});
