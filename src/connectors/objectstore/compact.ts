// Compaction (`ferry compact`): a table's snapshot and its change files become a new snapshot of
// the table as it is now, written as the copy writes chunks (Hive-readable files, partitioned as
// the plan says), one new chunk for each key range the table's chunks had, so that reading a
// range (verify) still reads only its files. The new chunks' records are pending until the
// switch: one record that names the records it replaces, the pending ones it activates and the
// change files it took in (by stream, up to a sequence), so ferry's reader sees the old table or
// the new one, never both. The manifest follows, listing only the new files; then the replaced
// records, their files and the folded change files are removed. Killed at any point, the next
// compaction finishes the removal (or, before the switch, starts again: the new files are named
// from what they fold in, so they are written over).
import { createHash } from 'node:crypto';
import type { CompactResult } from '../../core/contracts.js';
import type { Logger } from '../../core/log.js';
import type { KeyRange } from '../../core/types.js';
import { stateStringify } from '../../core/values.js';
import type { ObjectStore } from '../../stores/store.js';
import type { ChangeLog } from './change-log.js';
import { changesThrough, ChunkFiles, currentRecords, type ChunkRecord } from './chunk-files.js';
import type { ChunkRecords } from './chunk-records.js';
import type { TableLayout } from './layout.js';

export interface CompactContext {
  store: ObjectStore;
  records: ChunkRecords;
  changeLog: ChangeLog;
  log: Logger;
  /** the rows of a key range as they are now (the snapshot with the change files applied) */
  rows: (range: KeyRange, batchRows: number) => AsyncIterable<unknown[][]>;
  /** the metadata of a data file of the chunk */
  metadata: (chunk: string) => Record<string, string>;
  /** writes the manifest of these (current) records */
  manifest: (records: ChunkRecord[]) => Promise<void>;
  maxPartitionsPerChunk: number;
}

const BATCH_ROWS = 10_000;

const idOf = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

export async function compactTable(
  ctx: CompactContext,
  layout: TableLayout,
): Promise<{ summary: CompactResult; through: Record<string, number> }> {
  const { dir, table } = layout;
  const all = await ctx.records.of(dir);
  const before = currentRecords(all);
  const folded = changesThrough(before);
  const changeFiles = await ctx.changeLog.committedFiles(dir, folded);
  const chunks = before.filter((r) => !r.activates);
  if (changeFiles.length === 0) {
    await removeReplaced(ctx, layout, folded);
    return {
      summary: {
        table: table.name,
        rows: chunks.reduce((n, r) => n + r.rows, 0),
        changeFiles: 0,
        files: chunks.reduce((n, r) => n + r.files.length, 0),
      },
      through: folded,
    };
  }
  const through = { ...folded };
  for (const f of changeFiles) through[f.stream] = Math.max(through[f.stream] ?? 0, f.sequence);
  const generation = `compaction ${stateStringify(through)}`;
  // the key ranges of the table's chunks (a table without chunks, or never split, is one)
  const ranges: KeyRange[] = chunks.length > 0 ? chunks.map((r) => r.range) : [{}];
  const written: ChunkRecord[] = [];
  for (const range of ranges) {
    const id = idOf(`${generation} ${stateStringify(range)}`);
    const record = await writeRange(ctx, layout, id, range);
    await ctx.records.write(dir, { ...record, pending: true });
    written.push(record);
  }
  // the switch: from here on, the new chunks are the table (a compaction killed before its switch
  // left records of the same names, now written over: they are not replaced)
  const ids = new Set([idOf(generation), ...written.map((r) => r.chunk)]);
  await ctx.records.write(dir, {
    chunk: idOf(generation),
    range: {},
    rows: 0,
    files: [],
    replaces: all.map((r) => r.chunk).filter((id) => !ids.has(id)),
    activates: written.map((r) => r.chunk),
    changesThrough: through,
  });
  await ctx.manifest(currentRecords(await ctx.records.of(dir)));
  await removeReplaced(ctx, layout, through);
  const rows = written.reduce((n, r) => n + r.rows, 0);
  const files = written.reduce((n, r) => n + r.files.length, 0);
  ctx.log.info({ table: table.name, rows, changeFiles: changeFiles.length, files }, 'table compacted');
  return { summary: { table: table.name, rows, changeFiles: changeFiles.length, files }, through };
}

/** Writes one key range of the table as it is now as the files of a new chunk. */
async function writeRange(ctx: CompactContext, layout: TableLayout, id: string, range: KeyRange): Promise<ChunkRecord> {
  const files = new ChunkFiles(ctx.store, layout, id, ctx.maxPartitionsPerChunk, ctx.metadata(id));
  const unpartitioned = layout.partitions.length === 0;
  let rows = 0;
  try {
    for await (const batch of ctx.rows(range, BATCH_ROWS)) {
      for (const row of batch) {
        const f = files.fileOf(unpartitioned ? '' : layout.partitionOf(row));
        f.writer.add(row);
        rows++;
        if (f.writer.needsFlush) await files.flush(f);
      }
      if (!unpartitioned) await files.limitMemory();
    }
    return { chunk: id, range, rows, files: await files.finish(unpartitioned) };
  } catch (err) {
    await files.abort();
    throw err;
  }
}

/** Removes what a compaction replaced: old chunk records, data files no current record names, folded change files. */
async function removeReplaced(
  ctx: CompactContext,
  layout: TableLayout,
  through: Record<string, number>,
): Promise<void> {
  const { dir } = layout;
  const all = await ctx.records.of(dir);
  const current = currentRecords(all);
  const kept = new Set(current.flatMap((r) => r.files.map((f) => dir + f.path)));
  const stale: string[] = [];
  for await (const o of ctx.store.list(dir)) {
    const base = o.key.slice(o.key.lastIndexOf('/') + 1);
    if (base.startsWith('part-') && !kept.has(o.key) && !o.key.slice(dir.length).startsWith('_')) stale.push(o.key);
  }
  stale.push(...(await ctx.changeLog.obsoleteFiles(dir, through)));
  await ctx.store.delete(stale);
  // the records last: a compaction killed before this finds what is left by them
  for (const r of all) if (!current.includes(r)) await ctx.records.remove(dir, r.chunk);
  ctx.records.changed(dir);
}

/**
 * Removes the position records whose every table's change files a compaction took in (`folded`:
 * the sequence each table folder's snapshot holds, by stream id), but each stream's last.
 */
export async function pruneFolded(changeLog: ChangeLog, folded: Map<string, Record<string, number>>): Promise<void> {
  const streams = new Set([...folded.values()].flatMap((t) => Object.keys(t)));
  for (const id of streams) await changeLog.prune(id, (dir, sequence) => (folded.get(dir)?.[id] ?? 0) >= sequence);
}
