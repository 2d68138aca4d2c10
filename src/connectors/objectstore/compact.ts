// Compaction (`ferry compact`): a table's snapshot and its change files become one new snapshot
// of the table as it is now, written as the copy writes a chunk (Hive-readable files, partitioned
// as the plan says). The switch is one object: the new chunk record, which names the records it
// replaces and the change files it took in (by stream, up to a sequence), so ferry's reader sees
// the old table or the new one, never both; the manifest follows, listing only the new files;
// then the replaced records, their files and the folded change files are removed. Killed at any
// point, the next compaction finishes the removal (or, before the switch, starts again: the new
// files are named from what they fold in, so they are written over).
import { createHash } from 'node:crypto';
import type { CompactResult } from '../../core/contracts.js';
import type { Logger } from '../../core/log.js';
import { stateStringify } from '../../core/values.js';
import type { ObjectStore } from '../../stores/store.js';
import type { ChangeLog } from './change-log.js';
import { changesThrough, ChunkFiles, currentRecords, type ChunkRecord, type FileEntry } from './chunk-files.js';
import type { ChunkRecords } from './chunk-records.js';
import type { TableLayout } from './layout.js';

export interface CompactContext {
  store: ObjectStore;
  records: ChunkRecords;
  changeLog: ChangeLog;
  log: Logger;
  /** the table as it is now (its snapshot with its change files applied) */
  rows: (batchRows: number) => AsyncIterable<unknown[][]>;
  /** the metadata of a data file of the chunk */
  metadata: (chunk: string) => Record<string, string>;
  /** writes the manifest of these (current) records */
  manifest: (records: ChunkRecord[]) => Promise<void>;
}

const BATCH_ROWS = 10_000;

export async function compactTable(
  ctx: CompactContext,
  layout: TableLayout,
): Promise<{ summary: CompactResult; through: Record<string, number> }> {
  const { dir, table } = layout;
  const before = currentRecords(await ctx.records.of(dir));
  const folded = changesThrough(before);
  const changeFiles = await ctx.changeLog.committedFiles(dir, folded);
  if (changeFiles.length === 0) {
    await removeReplaced(ctx, layout, folded);
    return {
      summary: {
        table: table.name,
        rows: before.reduce((n, r) => n + r.rows, 0),
        changeFiles: 0,
        files: before.reduce((n, r) => n + r.files.length, 0),
      },
      through: folded,
    };
  }
  const through = { ...folded };
  for (const f of changeFiles) through[f.stream] = Math.max(through[f.stream] ?? 0, f.sequence);
  const id = createHash('sha256')
    .update(`compaction ${stateStringify(through)}`)
    .digest('hex')
    .slice(0, 16);
  const files = new ChunkFiles(ctx.store, layout, id, Number.MAX_SAFE_INTEGER, ctx.metadata(id));
  const unpartitioned = layout.partitions.length === 0;
  let rows = 0;
  let written: FileEntry[];
  try {
    for await (const batch of ctx.rows(BATCH_ROWS)) {
      for (const row of batch) {
        const f = files.fileOf(unpartitioned ? '' : layout.partitionOf(row));
        f.writer.add(row);
        rows++;
        if (f.writer.needsFlush) await files.flush(f);
      }
      if (!unpartitioned) await files.limitMemory();
    }
    written = await files.finish(unpartitioned);
  } catch (err) {
    await files.abort();
    throw err;
  }
  await ctx.records.write(dir, {
    chunk: id,
    range: {},
    rows,
    files: written,
    replaces: before.map((r) => r.chunk).filter((c) => c !== id),
    changesThrough: through,
  });
  await ctx.manifest(currentRecords(await ctx.records.of(dir)));
  await removeReplaced(ctx, layout, through);
  ctx.log.info({ table: table.name, rows, changeFiles: changeFiles.length, files: written.length }, 'table compacted');
  return { summary: { table: table.name, rows, changeFiles: changeFiles.length, files: written.length }, through };
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
