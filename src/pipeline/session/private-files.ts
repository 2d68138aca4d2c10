// The state folder is its owner's alone: it holds rejected rows, verification samples, audit
// logs and reports. Folders are 0700 and files 0600 whatever the umask (which only takes bits
// away) and whatever an earlier version left: the mode is set after the file is opened.
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, writeFileSync } from 'node:fs';

const PRIVATE_FOLDER = 0o700;
export const PRIVATE_FILE = 0o600;

/** Makes a folder (and its missing parents) readable by its owner only; returns it. */
export function privateFolder(path: string): string {
  mkdirSync(path, { recursive: true, mode: PRIVATE_FOLDER });
  chmodSync(path, PRIVATE_FOLDER);
  return path;
}

/** Opens a file readable by its owner only (`flags` as fs.openSync's); returns its descriptor. */
export function openPrivateFile(path: string, flags: string): number {
  const fd = openSync(path, flags, PRIVATE_FILE);
  try {
    fchmodSync(fd, PRIVATE_FILE);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/** Writes a whole file readable by its owner only. */
export function writePrivateFile(path: string, text: string): void {
  const fd = openPrivateFile(path, 'w');
  try {
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
