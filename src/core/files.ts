// Failures of the file system as one line that names the path: what is wrong with it and what
// to do. A path that cannot be (a folder missing, a file where a folder should be) is bad input;
// a file system that refuses (permissions, read-only, full) is a failure.
import { FerryError } from './errors.js';

interface Cause {
  reason: string;
  /** what the user does about it; `elsewhere` (the caller's alternative) follows */
  remedy: string;
  invalidPath?: boolean;
}

const CAUSES: Record<string, Cause> = {
  EACCES: { reason: 'permission denied', remedy: 'give this user access to it' },
  EPERM: { reason: 'permission denied', remedy: 'give this user access to it' },
  EROFS: { reason: 'the file system is read-only', remedy: 'mount it writable' },
  ENOSPC: { reason: 'no space left on the device', remedy: 'free space on it' },
  EDQUOT: { reason: 'the disk quota is used up', remedy: 'free space on it' },
  EFBIG: { reason: 'the file grew past the size limit (ulimit -f)', remedy: 'raise the limit' },
  ENOENT: { reason: 'a folder of the path does not exist', remedy: 'create the folder', invalidPath: true },
  ENOTDIR: { reason: 'a part of the path is a file, not a folder', remedy: 'fix the path', invalidPath: true },
  EEXIST: { reason: 'a file is in the way of a folder', remedy: 'fix the path', invalidPath: true },
  EISDIR: { reason: 'it is a folder', remedy: 'name a file', invalidPath: true },
  // SQLite's codes for the same causes (extended codes, SQLITE_IOERR_WRITE, by their first part)
  SQLITE_FULL: { reason: 'no space left on the device', remedy: 'free space on it' },
  SQLITE_READONLY: { reason: 'it is read-only to this user', remedy: 'give this user write access to it' },
  SQLITE_CANTOPEN: { reason: 'it cannot be opened', remedy: 'give this user access to it' },
  SQLITE_IOERR: {
    reason: 'an input/output error (a full or failing disk, or a file-size limit)',
    remedy: 'free space on it or fix the disk',
  },
};

/**
 * A file-system error (Node's, or SQLite's about its file) as a FerryError:
 * `what` names the path ("cannot write the plan /x/p.yaml"), `elsewhere` is the other way out
 * ("choose another file with -o"). An error that is a FerryError already is returned as it is.
 */
export function fileError(err: unknown, what: string, elsewhere: string): FerryError {
  if (err instanceof FerryError) return err;
  const errno = (err as NodeJS.ErrnoException)?.code ?? '';
  const cause = CAUSES[errno] ?? CAUSES[errno.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1')];
  const reason = cause?.reason ?? String((err as Error)?.message ?? err).split('\n')[0];
  return new FerryError(
    cause?.invalidPath ? 'PATH_INVALID' : 'FILE_UNWRITABLE',
    `${what}: ${reason}`,
    `${cause?.remedy ?? 'fix the cause named'}, or ${elsewhere}`,
    { cause: err },
  );
}
