// A lock as an object, for stores without files (S3): one object at the root holding its
// holder, a token and when the holder last renewed it. It is written only if absent where the
// store can make the write conditional (S3's If-None-Match), and read back after a moment all
// the same, for stores that write it regardless: the one whose token is there holds it. The
// holder renews it while it runs; a lock not renewed for a lease, or whose process is gone on
// this host, is taken over.
import { randomBytes } from 'node:crypto';
import type { LockHolder, LockOutcome } from '../core/contracts.js';
import { holderOf, LEASE_MS, processGone } from '../core/lock-file.js';

/** What a lock needs of a store. */
export interface LockObjectStore {
  get(key: string): Promise<Buffer | undefined>;
  /** writes the object unless there is one (false then); a store that cannot tell writes it */
  putIfAbsent(key: string, body: string): Promise<boolean>;
  put(key: string, body: string): Promise<void>;
  delete(keys: string[]): Promise<void>;
}

/** How long after writing the lock it is read back: longer than two takers' writes lie apart. */
const SETTLE_MS = 1000;

interface Found {
  token?: string;
  renewed: number;
  holder?: LockHolder;
}

function parse(body: Buffer | undefined): Found | undefined {
  if (!body) return undefined;
  const text = body.toString('utf8');
  try {
    const o = JSON.parse(text) as { token?: string; renewed?: string };
    return { token: o.token, renewed: Date.parse(o.renewed ?? '') || 0, holder: holderOf(text) };
  } catch {
    return { renewed: 0 };
  }
}

const stale = (f: Found) => Date.now() - f.renewed > LEASE_MS || (!!f.holder && processGone(f.holder));

export async function takeLockObject(store: LockObjectStore, key: string, me: LockHolder): Promise<LockOutcome> {
  const token = randomBytes(8).toString('hex');
  const body = () => JSON.stringify({ ...me, token, renewed: new Date().toISOString() });
  const found = parse(await store.get(key));
  if (found && !stale(found)) return { heldBy: found.holder };
  // a stale lock goes only while it is still the one judged stale
  if (found && parse(await store.get(key))?.token === found.token) await store.delete([key]);
  if (!(await store.putIfAbsent(key, body()))) return { heldBy: parse(await store.get(key))?.holder };
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const back = parse(await store.get(key));
  if (back?.token !== token) return { heldBy: back?.holder };
  const ours = async () => parse(await store.get(key))?.token === token;
  const renew = setInterval(() => {
    void (async () => {
      if (await ours()) await store.put(key, body());
    })().catch(() => {});
  }, LEASE_MS / 6);
  renew.unref();
  return {
    lease: {
      async release() {
        clearInterval(renew);
        if (await ours()) await store.delete([key]);
      },
    },
  };
}
