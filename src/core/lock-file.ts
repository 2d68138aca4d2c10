// A lock as a file: one command at a time on what the file stands for (a plan's state, a SQLite
// target). The file holds its holder (host, pid, since, command) so a refused command can name
// it. It appears whole or not at all: written under a name of its own, then hard-linked to the
// lock's name, which fails when the name exists (atomic on local file systems and on NFS). The
// holder renews its lease by touching the file; a lock whose process is gone (on this host) or
// whose lease ran out (a holder on another host, or a process that hangs) is taken over, one
// taker at a time.
import { randomBytes } from 'node:crypto';
import { linkSync, openSync, closeSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { LockHolder, LockOutcome } from './contracts.js';
import { fileError } from './files.js';

/** How long a lock lives without being renewed; the holder renews it six times as often. */
export const LEASE_MS = 120_000;
/** A takeover that has not finished in this long was left by a process that died taking over. */
const TAKEOVER_MS = 10_000;

export interface LockFileOptions {
  /** what the lock stands for, in the one line of a failure */
  what: string;
  /** the other way out when the folder cannot be written */
  elsewhere: string;
}

interface Found {
  text: string;
  holder?: LockHolder;
  touched: number;
}

/** Takes the lock of `path` for `me`, or says who holds it. */
export function takeLockFile(path: string, me: LockHolder, opts: LockFileOptions): LockOutcome {
  const failed = (e: unknown) => fileError(e, `cannot take the lock of ${opts.what} (${path})`, opts.elsewhere);
  const text = JSON.stringify({ ...me, token: randomBytes(8).toString('hex') });
  for (let attempt = 0; attempt < 5; attempt++) {
    if (create(path, text, failed)) return { lease: held(path, text) };
    const found = read(path, failed);
    if (!found) continue; // released meanwhile
    if (!isStale(found)) return { heldBy: found.holder };
    const taken = takeOver(path, found, text, failed);
    if (taken === 'taken') return { lease: held(path, text) };
    if (taken === 'busy') return { heldBy: found.holder };
  }
  return { heldBy: read(path, failed)?.holder };
}

/** Creates the lock file with `text` in it; false when it exists. */
function create(path: string, text: string, failed: (e: unknown) => Error): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw failed(e);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // not made
    }
  }
}

function read(path: string, failed: (e: unknown) => Error): Found | undefined {
  try {
    const touched = statSync(path).mtimeMs;
    const text = readFileSync(path, 'utf8');
    return { text, holder: holderOf(text), touched };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw failed(e);
  }
}

/** The holder a lock's JSON text names, if it names one. */
export function holderOf(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    return typeof h.host === 'string' && typeof h.since === 'string'
      ? { host: h.host, since: h.since, pid: h.pid, command: h.command }
      : undefined;
  } catch {
    return undefined;
  }
}

function isStale(found: Found): boolean {
  return Date.now() - found.touched > LEASE_MS || (!!found.holder && processGone(found.holder));
}

/** The holder's process ran on this host and is gone. */
export function processGone(h: LockHolder): boolean {
  return h.host === hostname() && typeof h.pid === 'number' && !alive(h.pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Replaces a stale lock, under a takeover file only one process makes at a time: the lock is
 * removed only if it is still the stale one judged (another taker may have replaced it), then
 * made anew. 'busy': another process is taking it over; 'again': look again.
 */
function takeOver(path: string, stale: Found, text: string, failed: (e: unknown) => Error): 'taken' | 'busy' | 'again' {
  const guard = `${path}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw failed(e);
    const since = statSafe(guard);
    if (since === undefined || Date.now() - since <= TAKEOVER_MS) return since === undefined ? 'again' : 'busy';
    removeSafe(guard);
    return 'again';
  }
  closeSync(fd);
  try {
    if (read(path, failed)?.text !== stale.text) return 'again';
    removeSafe(path);
    return create(path, text, failed) ? 'taken' : 'again';
  } finally {
    removeSafe(guard);
  }
}

function readSafe(path: string): Found | undefined {
  try {
    return read(path, (e) => e as Error);
  } catch {
    return undefined;
  }
}

function statSafe(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function removeSafe(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

/** The lease of a lock file this process made: renewed until released, removed only while it is still ours. */
function held(path: string, text: string) {
  const renew = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // the folder went away: the command that needs it fails on its own
    }
  }, LEASE_MS / 6);
  renew.unref();
  return {
    async release(): Promise<void> {
      clearInterval(renew);
      if (readSafe(path)?.text === text) removeSafe(path);
    },
  };
}
