// The state folder is its owner's alone: it holds rejected rows, verification samples, audit
// logs and reports. Folders are 0700 and files 0600 whatever the umask (which only takes bits
// away) and whatever an earlier version left: the mode is set after the file is opened. A
// folder or file that cannot be made or written is one line naming it (a full disk, a folder
// of another user, a file in the way).
import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { fileError } from '../../core/files.js';

const PRIVATE_FOLDER = 0o700;
export const PRIVATE_FILE = 0o600;

/** The other way out of a state folder that cannot be written. */
export const OTHER_STATE_FOLDER = 'choose another state folder with --state-dir (or settings.stateDir in the plan)';

/** Runs `fn` on a file of the state folder; its failure names the file. */
export function inStateFolder<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fileError(e, `cannot write ${path}`, OTHER_STATE_FOLDER);
  }
}

/** Makes a folder (and its missing parents) readable by its owner only; returns it. */
export function privateFolder(path: string): string {
  return inStateFolder(path, () => {
    mkdirSync(path, { recursive: true, mode: PRIVATE_FOLDER });
    chmodSync(path, PRIVATE_FOLDER);
    return path;
  });
}

/** Opens a file readable by its owner only (`flags` as fs.openSync's); returns its descriptor. */
export function openPrivateFile(path: string, flags: string): number {
  return inStateFolder(path, () => {
    const fd = openSync(path, flags, PRIVATE_FILE);
    try {
      fchmodSync(fd, PRIVATE_FILE);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return fd;
  });
}

/** Writes a whole file readable by its owner only. */
export function writePrivateFile(path: string, text: string | Uint8Array): void {
  const fd = openPrivateFile(path, 'w');
  try {
    inStateFolder(path, () => writeFileSync(fd, text));
  } finally {
    closeSync(fd);
  }
}

/** Appends to a file opened by openPrivateFile and makes it durable. */
export function appendDurably(fd: number, path: string, text: string): void {
  inStateFolder(path, () => {
    writeSync(fd, text);
    fsyncSync(fd);
  });
}
