// The files of one chunk written from column batches: the encoding thread (parquet/encode-thread.ts)
// makes their bytes, this uploads them in order and records each file when it is complete.
import { FerryError } from '../../core/errors.js';
import type { ObjectStore, ObjectWriter } from '../../stores/store.js';
import { partPath, type FileEntry } from './chunk-files.js';
import type { TableLayout } from './layout.js';
import type { EncodedFiles } from './parquet/encode-thread.js';

/** bytes waiting for the store before the reader waits for them (an S3 upload takes a part in before it waits) */
const UPLOAD_BACKLOG = 4 * 1024 * 1024;

export class ColumnChunkFiles implements EncodedFiles {
  private readonly open = new Map<number, { path: string; upload: ObjectWriter }>();
  /** the uploads' writes and closes, one after another */
  private writing: Promise<void> = Promise.resolve();
  private backlog = 0;
  readonly done: FileEntry[] = [];

  constructor(
    private readonly store: ObjectStore,
    private readonly layout: TableLayout,
    private readonly id: string,
  ) {}

  private then(step: () => Promise<void>): void {
    this.writing = this.writing.then(step);
    // a failure is seen where the writes are awaited (drain, finish)
    this.writing.catch(() => {});
  }

  bytes(file: number, data: Buffer): void {
    let f = this.open.get(file);
    if (!f) {
      const path = partPath('', this.id, file, this.layout.settings);
      this.open.set(file, (f = { path, upload: this.store.writer(this.layout.dir + path) }));
    }
    const { upload } = f;
    this.backlog += data.length;
    this.then(async () => {
      await upload.write(data);
      this.backlog -= data.length;
    });
  }

  file(file: number, rows: number, bytes: number): void {
    const f = this.open.get(file)!;
    this.open.delete(file);
    this.then(async () => {
      const closed = await f.upload.close();
      if (closed.bytes !== bytes)
        throw new FerryError(
          'INTERNAL',
          `${f.path}: ${closed.bytes} bytes stored of the ${bytes} written`,
          'report this as a bug',
        );
      this.done.push({ path: f.path, rows, bytes, sha256: closed.sha256 });
    });
  }

  /** Waits while the store is far behind. */
  async drain(): Promise<void> {
    if (this.backlog > UPLOAD_BACKLOG) await this.writing;
  }

  /** The chunk's files, once every byte is stored. */
  async finish(): Promise<FileEntry[]> {
    await this.writing;
    return this.done.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  async abort(): Promise<void> {
    await this.writing.catch(() => {});
    for (const f of this.open.values()) await f.upload.abort();
    this.open.clear();
    await this.store.delete(this.done.map((d) => this.layout.dir + d.path)).catch(() => {});
  }
}
