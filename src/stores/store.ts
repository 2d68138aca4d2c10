// A store of objects by key: S3 (and S3-compatible stores) and a local folder both answer it,
// so the object store target and backups run the same code path for both. An object written
// appears whole or not at all, and is written and read as a stream, in bounded memory.
import { createHash, type Hash } from 'node:crypto';
import type { LockHolder, LockOutcome } from '../core/contracts.js';

/** Keys are relative to the endpoint's root (bucket prefix or folder), "/"-separated. */
export interface ObjectStore {
  /** where the objects go, without credentials: s3://bucket/prefix or a folder path */
  readonly location: string;
  /** checks that the root is reachable and the credentials are accepted */
  check(): Promise<void>;
  /** writes a small object whole */
  put(key: string, body: Buffer | string): Promise<void>;
  /** a streamed upload; the object appears only when close() resolves */
  writer(key: string): ObjectWriter;
  /** a whole small object, or undefined when there is none */
  get(key: string): Promise<Buffer | undefined>;
  /** an object's size in bytes, or undefined when there is none */
  size(key: string): Promise<number | undefined>;
  /** byte ranges of an object of known size */
  open(key: string, size: number): RandomAccess;
  /** the bytes of an object, streamed */
  stream(key: string): AsyncIterable<Buffer>;
  /** every object whose key starts with `prefix`, in no particular order (a folder also lists the hidden temporary files of writes, .<name>.<random>.tmp) */
  list(prefix: string): AsyncIterable<ListedObject>;
  /** names of the folders directly under a folder prefix ("" for the root) */
  folders(prefix: string): Promise<string[]>;
  delete(keys: string[]): Promise<void>;
  /** deletes every object under a folder prefix ("table/"); a folder left without objects is gone too */
  deleteFolder(prefix: string): Promise<void>;
  /**
   * Takes the lock `name` without waiting (Target.lock): a folder keeps it as a hidden lock file
   * at its root (core/lock-file.ts). Without it (S3, for now), the store is not locked.
   */
  lock?(name: string, me: LockHolder): Promise<LockOutcome>;
  close(): Promise<void>;
}

export interface ListedObject {
  key: string;
  size: number;
  /** changes whenever the object is written again: the ETag on S3, a file's modification time */
  version: string;
}

/** Byte ranges of an object of known size (Parquet files are read from their footer). */
export interface RandomAccess {
  size: number;
  read(start: number, end: number): Promise<Buffer>;
}

export interface ObjectWriter {
  /** appends the chunks, in order (several at once need not be joined first) */
  write(...chunks: Buffer[]): Promise<void>;
  /** makes the object durable and visible; resolves with its size and SHA-256 */
  close(): Promise<{ bytes: number; sha256: string }>;
  /** drops what was written; the object does not appear */
  abort(): Promise<void>;
}

/** Counts and hashes the bytes of an upload as they pass. */
export class Tally {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  add(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }
  result(): { bytes: number; sha256: string } {
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}

/** Writes a stream of bytes to an object; when the stream or a write fails, the object does not appear. */
export async function writeStream(
  store: ObjectStore,
  key: string,
  chunks: AsyncIterable<Buffer>,
): Promise<{ bytes: number; sha256: string }> {
  const w = store.writer(key);
  try {
    for await (const chunk of chunks) await w.write(chunk);
    return await w.close();
  } catch (err) {
    await w.abort();
    throw err;
  }
}
