// The files of one chunk: named from a hash of the chunk's key range, so a replayed chunk
// overwrites its files (and finds those of earlier attempts it did not write again), written
// one open file per partition and rolled over at the file size.
import { createHash } from 'node:crypto';
import { FerryError } from '../../core/errors.js';
import type { KeyRange } from '../../core/types.js';
import { stateStringify } from '../../core/values.js';
import type { ObjectStore, ObjectWriter } from '../../stores/store.js';
import { createWriter, extension, type FormatSettings, type FormatWriter, type Format } from './formats.js';
import type { TableLayout } from './layout.js';
import { partitionValues } from './partition.js';

/** bytes all open files of one chunk may hold before the largest writes out a row group */
const CHUNK_MEMORY = 64 * 1024 * 1024;

export interface FileEntry {
  /** relative to the table folder */
  path: string;
  rows: number;
  bytes: number;
  sha256: string;
  partition?: Record<string, string>;
}

/** What <table>/_chunks/<chunk>.json says: the files that hold the chunk (see chunk-records.ts). */
export interface ChunkRecord {
  chunk: string;
  range: KeyRange;
  rows: number;
  files: FileEntry[];
  /** a record a compaction wrote: it counts only once a switch record activates it */
  pending?: boolean;
  /** a compaction's switch record (no files of its own): the records it replaces (readers leave them out) */
  replaces?: string[];
  /** a compaction's switch record: the pending records that hold the table from now on */
  activates?: string[];
  /** a compaction's switch record: the last sequence of each stream (by id) whose change files it took in */
  changesThrough?: Record<string, number>;
}

/** The records that hold the table: those no switch record replaces, and of a compaction's, those one activates. */
export function currentRecords(records: ChunkRecord[]): ChunkRecord[] {
  const replaced = new Set(records.flatMap((r) => r.replaces ?? []));
  const live = records.filter((r) => !replaced.has(r.chunk));
  const activated = new Set(live.flatMap((r) => r.activates ?? []));
  return live.filter((r) => !r.pending || activated.has(r.chunk));
}

/** The change files the table's snapshot holds already: up to these sequences, by stream id. */
export function changesThrough(records: ChunkRecord[]): Record<string, number> {
  const through: Record<string, number> = {};
  for (const r of records)
    for (const [id, n] of Object.entries(r.changesThrough ?? {})) through[id] = Math.max(through[id] ?? 0, n);
  return through;
}

/** The id of a chunk: its key range, hashed (the same range always names the same files). */
export function chunkId(range: KeyRange): string {
  return createHash('sha256').update(stateStringify(range)).digest('hex').slice(0, 16);
}

/** The format of a data file, from its name. */
export function formatOfPath(path: string): Pick<FormatSettings, 'format' | 'gzip'> {
  const gzip = path.endsWith('.gz');
  const base = gzip ? path.slice(0, -3) : path;
  const format = base.slice(base.lastIndexOf('.') + 1) as Format;
  return { format, gzip };
}

export interface OpenFile {
  path: string;
  partition: string;
  writer: FormatWriter;
  upload: ObjectWriter;
}

/** The path of file number `n` of a chunk's partition, relative to the table folder. */
export function partPath(partition: string, id: string, n: number, s: FormatSettings): string {
  return `${partition}part-${id}-${String(n).padStart(4, '0')}.${extension(s)}`;
}

/** The files one attempt of a chunk writes: one open file per partition, rolled over at the file size. */
export class ChunkFiles {
  private readonly open = new Map<string, OpenFile>();
  private readonly sequence = new Map<string, number>();
  readonly done: FileEntry[] = [];

  constructor(
    private readonly store: ObjectStore,
    private readonly layout: TableLayout,
    private readonly id: string,
    private readonly maxPartitions: number,
    private readonly metadata: Record<string, string>,
  ) {}

  fileOf(partition: string): OpenFile {
    let f = this.open.get(partition);
    if (f) return f;
    if (this.open.size >= this.maxPartitions)
      throw new FerryError(
        'WRITE_FAILED',
        `a chunk of table ${this.layout.table.name} writes more than ${this.maxPartitions} partitions at once`,
        'partition by a coarser value (month instead of day, …), raise target.options.maxPartitionsPerChunk, or chunk the table by the partition column',
      );
    const n = this.sequence.get(partition) ?? 0;
    this.sequence.set(partition, n + 1);
    const path = partPath(partition, this.id, n, this.layout.settings);
    const upload = this.store.writer(this.layout.dir + path);
    const writer = createWriter(this.layout.settings, this.layout.table.columns, this.metadata, (...b) =>
      upload.write(...b),
    );
    f = { path, partition, writer, upload };
    this.open.set(partition, f);
    return f;
  }

  /** Writes out a file's row group, and closes the file when it has reached its size (then says so). */
  async flush(f: OpenFile): Promise<boolean> {
    await f.writer.flushRowGroup();
    if (f.writer.written < this.layout.settings.fileBytes) return false;
    await this.close(f);
    return true;
  }

  /** Keeps the memory of all open files of the chunk bounded. */
  async limitMemory(): Promise<void> {
    for (;;) {
      let total = 0;
      let largest: OpenFile | undefined;
      for (const f of this.open.values()) {
        const held = f.writer.heldBytes();
        total += held;
        if (!largest || held > largest.writer.heldBytes()) largest = f;
      }
      if (total <= CHUNK_MEMORY || !largest) return;
      await this.flush(largest);
    }
  }

  private async close(f: OpenFile): Promise<void> {
    this.open.delete(f.partition);
    const written = await f.writer.finish();
    const { bytes, sha256 } = await f.upload.close();
    this.done.push({ path: f.path, rows: written.rows, bytes, sha256, partition: partitionValues(f.partition) });
  }

  async finish(writeEmpty: boolean): Promise<FileEntry[]> {
    // a chunk without rows leaves one empty file, so readers see the table and its columns
    if (writeEmpty && this.open.size === 0 && this.done.length === 0) this.fileOf('');
    for (const f of [...this.open.values()]) await this.close(f);
    return this.done.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  async abort(): Promise<void> {
    for (const f of this.open.values()) {
      f.writer.destroy();
      await f.upload.abort();
    }
    this.open.clear();
    await this.store.delete(this.done.map((d) => this.layout.dir + d.path)).catch(() => {});
  }
}

/** Files of earlier attempts of chunk `id` in table folder `dir` that this attempt did not write again. */
export async function staleFiles(store: ObjectStore, dir: string, id: string, kept: FileEntry[]): Promise<string[]> {
  const keep = new Set(kept.map((f) => dir + f.path));
  const marker = `part-${id}-`;
  const stale: string[] = [];
  for await (const o of store.list(dir)) {
    const base = o.key.slice(o.key.lastIndexOf('/') + 1);
    if (base.includes(marker) && !keep.has(o.key)) stale.push(o.key);
  }
  return stale;
}
