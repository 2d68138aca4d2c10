// A local folder as an object store (file:./dir): objects are files, written to a hidden
// temporary name, synced and renamed into place, so an object is whole or absent.
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FerryError } from '../core/errors.js';
import type { LockHolder, LockOutcome } from '../core/contracts.js';
import { fileError } from '../core/files.js';
import { takeLockFile } from '../core/lock-file.js';
import { Tally, type ListedObject, type ObjectStore, type ObjectWriter, type RandomAccess } from './store.js';

/** What a caller can do instead, in every error of a folder store. */
const ELSEWHERE = 'choose another folder';

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The modes a folder store makes folders and files with (before the umask). */
interface Modes {
  folder: number;
  file: number;
}

const SHARED: Modes = { folder: 0o777, file: 0o666 };
const OWNER_ONLY: Modes = { folder: 0o700, file: 0o600 };

/** Writes to a temporary file beside the object and renames it into place on close. */
class FileWriter implements ObjectWriter {
  private fh?: Promise<FileHandle>;
  private readonly tmp: string;
  private readonly tally = new Tally();

  constructor(
    private readonly path: string,
    private readonly modes: Modes,
  ) {
    this.tmp = join(dirname(path), `.${relative(dirname(path), path)}.${randomBytes(4).toString('hex')}.tmp`);
  }

  private handle(): Promise<FileHandle> {
    this.fh ??= mkdir(dirname(this.path), { recursive: true, mode: this.modes.folder }).then(() =>
      open(this.tmp, 'w', this.modes.file),
    );
    return this.fh;
  }

  async write(...chunks: Buffer[]): Promise<void> {
    for (const c of chunks) this.tally.add(c);
    const fh = await this.handle();
    await fh.writev(chunks);
  }

  async close(): Promise<{ bytes: number; sha256: string }> {
    const fh = await this.handle();
    await fh.sync();
    await fh.close();
    await rename(this.tmp, this.path);
    await syncDir(dirname(this.path));
    return this.tally.result();
  }

  async abort(): Promise<void> {
    if (!this.fh) return;
    const fh = await this.fh.catch(() => undefined);
    await fh?.close().catch(() => {});
    // best effort: the error that made the write stop is the one to tell (a folder of the path may be a file)
    await rm(this.tmp, { force: true }).catch(() => {});
  }
}

export class FolderStore implements ObjectStore {
  readonly location: string;
  private readonly modes: Modes;

  /** `ownerOnly`: what the store makes is readable by its owner only (backups), not as the umask allows (a data lake) */
  constructor(
    private readonly root: string,
    ownerOnly = false,
  ) {
    this.location = root.endsWith('/') ? root : `${root}/`;
    this.modes = ownerOnly ? OWNER_ONLY : SHARED;
  }

  private path(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  async lock(name: string, me: LockHolder): Promise<LockOutcome> {
    const what = `folder ${this.root}`;
    try {
      await mkdir(this.root, { recursive: true, mode: this.modes.folder });
    } catch (e) {
      throw fileError(e, `cannot create ${what}`, 'check the path in the file: URL');
    }
    // a file at the root, not a folder: no table's folder holds it
    return takeLockFile(join(this.root, `.${name}.lock`), me, { what, elsewhere: 'check the path in the file: URL' });
  }

  /**
   * Refuses a folder that cannot be written, without making it (the first write does): a
   * command that only looks, like assess, leaves nothing behind. The probe goes into the folder
   * or, while it does not exist, into the nearest parent that does, and is removed.
   */
  async check(): Promise<void> {
    let dir = resolve(this.root);
    while (
      dir !== dirname(dir) &&
      !(await stat(dir).then(
        () => true,
        (err: NodeJS.ErrnoException) => err.code !== 'ENOENT',
      ))
    )
      dir = dirname(dir);
    const probe = join(dir, `.ferry-probe-${randomBytes(4).toString('hex')}`);
    try {
      const fh = await open(probe, 'wx');
      await fh.close();
      await rm(probe);
    } catch (err) {
      throw fileError(err, `cannot write to folder ${this.root}`, ELSEWHERE);
    }
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    const w = this.writer(key);
    try {
      await w.write(typeof body === 'string' ? Buffer.from(body) : body);
      await w.close();
    } catch (err) {
      await w.abort();
      throw fileError(err, `writing ${this.path(key)}`, ELSEWHERE);
    }
  }

  writer(key: string): ObjectWriter {
    const path = this.path(key);
    const w = new FileWriter(path, this.modes);
    const wrap =
      <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        try {
          return await f(...a);
        } catch (err) {
          throw err instanceof FerryError ? err : fileError(err, `writing ${path}`, ELSEWHERE);
        }
      };
    return { write: wrap((...c: Buffer[]) => w.write(...c)), close: wrap(() => w.close()), abort: () => w.abort() };
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fileError(err, `reading ${this.path(key)}`, ELSEWHERE);
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(key))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fileError(err, `reading ${this.path(key)}`, ELSEWHERE);
    }
  }

  open(key: string, size: number): RandomAccess {
    const path = this.path(key);
    return {
      size,
      async read(start: number, end: number): Promise<Buffer> {
        const fh = await open(path, 'r').catch((err: unknown) => {
          throw fileError(err, `reading ${path}`, ELSEWHERE);
        });
        try {
          const buf = Buffer.allocUnsafe(end - start);
          const { bytesRead } = await fh.read(buf, 0, end - start, start);
          return buf.subarray(0, bytesRead);
        } finally {
          await fh.close();
        }
      },
    };
  }

  async *stream(key: string): AsyncIterable<Buffer> {
    const path = this.path(key);
    try {
      for await (const chunk of createReadStream(path)) yield chunk as Buffer;
    } catch (err) {
      throw fileError(err, `reading ${path}`, ELSEWHERE);
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    // a prefix names a folder (ends with "/") or the start of file names in one
    const slash = prefix.lastIndexOf('/');
    const dir = this.path(prefix.slice(0, slash + 1));
    let entries;
    try {
      entries = await readdir(dir, { recursive: true, withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fileError(err, `listing ${dir}`, ELSEWHERE);
    }
    for (const e of entries) {
      // the temporary file of a write under way, or of a process that was killed, is listed too
      // (S3 lists neither): a chunk written again finds what its killed attempt left, by name
      if (!e.isFile()) continue;
      const full = join(e.parentPath, e.name);
      const key = relative(this.root, full).split(sep).join('/');
      if (!key.startsWith(prefix)) continue;
      let info;
      try {
        info = await stat(full);
      } catch (err) {
        // removed by a concurrent chunk between the listing and now
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw fileError(err, `reading ${full}`, ELSEWHERE);
      }
      yield { key, size: info.size, version: String(info.mtimeMs) };
    }
  }

  async folders(prefix: string): Promise<string[]> {
    try {
      return (await readdir(this.path(prefix), { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fileError(err, `listing ${this.path(prefix)}`, ELSEWHERE);
    }
  }

  async delete(keys: string[]): Promise<void> {
    try {
      await Promise.all(keys.map((k) => rm(this.path(k), { force: true })));
    } catch (err) {
      throw fileError(err, `deleting files in ${this.root}`, ELSEWHERE);
    }
  }

  async deleteFolder(prefix: string): Promise<void> {
    try {
      await rm(this.path(prefix), { recursive: true, force: true });
    } catch (err) {
      throw fileError(err, `deleting ${this.path(prefix)}`, ELSEWHERE);
    }
    // as on S3, where a prefix without objects does not exist: the folders above it that are
    // empty now go too (a nested table folder, __ferrytest_3fa9c1/orders/), up to the root
    const root = resolve(this.root);
    for (let dir = dirname(resolve(this.path(prefix))); dir.startsWith(root + sep); dir = dirname(dir)) {
      if (
        !(await rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        break;
    }
  }

  async close(): Promise<void> {}
}
