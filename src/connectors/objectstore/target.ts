// The object store target. A table is a folder:
//
//   <table>/_schema.json                         columns, keys and layout, written by prepare
//   <table>/[col=v/|year=YYYY/month=MM/]part-<chunk>-<n>.<ext>   the data
//   <table>/_chunks/<chunk>.json                 the files, rows and checksums of one chunk
//   <table>/_manifest.json                       every file, written last: the table is complete
//   <table>/_changes/<stream>-<sequence>.changes live changes, applied on read (change-files.ts)
//   _ferry_positions/<stream>/<sequence>.json    each call's position, after its change files (change-log.ts)
//
// A chunk's files are named from a hash of its key range, so a replayed chunk overwrites its
// files; it then removes files of earlier attempts it did not write again, and its record
// says which files hold the chunk. Writes are not transactional (an object store has no
// transactions) but idempotent, and a chunk is reported written only when its files and its
// record are durable.
import type { ColumnBatch } from '../../core/columns.js';
import { keyColumnIndexes } from '../../core/apply.js';
import type { RowStates } from '../../core/apply-state.js';
import type {
  AppliedChange,
  ChunkWrite,
  CompactResult,
  IfExists,
  LockHolder,
  LockOutcome,
  Reject,
  TableFingerprint,
  Target,
  TargetTable,
  WriteResult,
} from '../../core/contracts.js';
import type { TargetChange } from '../../core/changes.js';
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import {
  formatType,
  type CanonicalType,
  type Column,
  type Finding,
  type KeyRange,
  type RowBatch,
  type SchemaInfo,
  type TableInfo,
} from '../../core/types.js';
import type { ListedObject, ObjectStore } from '../../stores/store.js';
import { changeFilePath, changeMisfit, readChangeFile, writeChangeFile } from './change-files.js';
import { changeFileError, ChangeLog, streamId } from './change-log.js';
import {
  changesThrough,
  ChunkFiles,
  chunkId,
  currentRecords,
  formatOfPath,
  staleFiles,
  type ChunkRecord,
  type FileEntry,
  type OpenFile,
} from './chunk-files.js';
import { ChunkRecords } from './chunk-records.js';
import { compactTable, pruneFolded } from './compact.js';
import { ColumnChunkFiles } from './column-files.js';
import { DuplicateKeys, IntegerKeys } from './duplicate-keys.js';
import { encodeColumns } from './parquet/encode-thread.js';
import { tableFindings } from './findings.js';
import { ColumnRows, readFile, rowChecker } from './formats.js';
import { inRange, overlaps, sameRange } from './keys.js';
import { schemaDocument, TableLayout, type TargetSettings } from './layout.js';
import { yearLimit } from './parquet/columns.js';
import { changedRows, currentRows } from './merge.js';
import { NotFerryParquet } from './parquet/read.js';
import { folderFingerprint, holdsObjects, scratchTable } from './removal.js';
import { RowRefused } from './temporal.js';
import { parseNative } from './typemap.js';

const SCHEMA_FILE = '_schema.json';
const MANIFEST_FILE = '_manifest.json';

function writeError(err: unknown, table: string): FerryError {
  if (err instanceof FerryError) return err;
  if (err instanceof RowRefused)
    return new FerryError(
      'WRITE_FAILED',
      `${table}: ${err.message}`,
      'fix the value in the source or the column type in the plan',
    );
  return new FerryError(
    'WRITE_FAILED',
    `writing table ${table}: ${(err as Error).message ?? String(err)}`,
    'report this as a bug if it persists',
    { cause: err },
  );
}

/**
 * A Parquet list has the depth of its type, where a PostgreSQL array of that type may have more
 * dimensions (int[] holds {{1,2},{3,4}}): such a value is refused, not flattened.
 */
function listDepthCheck(t: CanonicalType & { kind: 'array' }, native: string): (v: unknown) => string | undefined {
  let depth = 0;
  for (let e: CanonicalType = t; e.kind === 'array'; e = e.element) depth++;
  const deeper = (v: unknown, level: number): boolean =>
    Array.isArray(v) && (level > depth || v.some((e) => deeper(e, level + 1)));
  return (v) =>
    deeper(v, 1)
      ? `an array of more dimensions than Parquet ${native} holds (give the column one LIST<…> per dimension in the plan)`
      : undefined;
}

export class ObjectStoreTarget implements Target {
  private readonly layouts = new WeakMap<TargetTable, TableLayout>();
  private readonly records: ChunkRecords;
  private readonly changeLog: ChangeLog;
  /** what each table folder's change files leave of its rows, for the change files it was worked out of */
  private readonly changedRows = new Map<string, { signature: string; states: Promise<RowStates> }>();
  /** the store's lock, where it has one (a folder) */
  readonly lock?: (name: string, me: LockHolder) => Promise<LockOutcome>;

  constructor(
    private readonly store: ObjectStore,
    private readonly settings: TargetSettings,
    private readonly log: Logger,
  ) {
    this.records = new ChunkRecords(store);
    this.changeLog = new ChangeLog(store);
    if (store.lock) this.lock = (name, me) => store.lock!(name, me);
  }

  private layout(table: TargetTable): TableLayout {
    let l = this.layouts.get(table);
    if (!l) this.layouts.set(table, (l = new TableLayout(table, this.settings.format)));
    return l;
  }

  async check(tables: TargetTable[]): Promise<Finding[]> {
    return tables.flatMap((t) => tableFindings(t, this.layout(t)));
  }

  async prepare(table: TargetTable, ifExists: IfExists): Promise<void> {
    const layout = this.layout(table);
    this.changed(layout.dir);
    const exists = await holdsObjects(this.store, layout.dir);
    if (exists && ifExists === 'fail')
      throw new FerryError(
        'TABLE_EXISTS',
        `table ${table.name} already exists: ${this.store.location}${layout.dir} holds objects`,
        'set target.ifExists to drop or truncate in the plan',
      );
    if (exists) await this.store.deleteFolder(layout.dir);
    this.records.forget(layout.dir);
    this.changedRows.delete(layout.dir);
    await this.store.put(
      layout.dir + SCHEMA_FILE,
      JSON.stringify(schemaDocument(table, layout, this.settings), null, 2) + '\n',
    );
  }

  private chunkMetadata(table: TargetTable, id: string): Record<string, string> {
    return {
      'ferry.table': table.name,
      'ferry.chunk': id,
      'ferry.columns': JSON.stringify(
        table.columns.map((c) => ({ name: c.name, type: c.nativeType, canonical: formatType(c.type) })),
      ),
    };
  }

  async writeChunk(chunk: ChunkWrite, batches: AsyncIterable<RowBatch>): Promise<WriteResult> {
    const { table, range, isolate } = chunk;
    const layout = this.layout(table);
    const id = await this.startChunk(layout, chunk);
    const files = new ChunkFiles(
      this.store,
      layout,
      id,
      this.settings.maxPartitionsPerChunk,
      this.chunkMetadata(table, id),
    );
    const check = isolate ? rowChecker(layout.settings, table.columns) : undefined;
    const unique =
      layout.uniqueIndexes &&
      new DuplicateKeys(
        layout.uniqueIndexes,
        table.primaryKey,
        layout.uniqueIndexes.map((i) => table.columns[i]!.type),
        layout.keyCompare,
      );
    const rejects: Reject[] = [];
    const unpartitioned = layout.partitions.length === 0;
    let single: OpenFile | undefined;
    let rows = 0;
    let written: FileEntry[];
    try {
      for await (const batch of batches) {
        for (const row of batch.rows) {
          if (check) {
            const why = check(row) ?? unique?.add(row);
            if (why) {
              rejects.push({ row, reason: why });
              continue;
            }
          } else if (unique) {
            const why = unique.add(row);
            if (why)
              throw new FerryError(
                'WRITE_FAILED',
                `${table.name}: ${why}`,
                'remove the duplicate rows in the source, or the primary key from the plan',
              );
          }
          const f = unpartitioned ? (single ??= files.fileOf('')) : files.fileOf(layout.partitionOf(row));
          f.writer.add(row);
          rows++;
          if (f.writer.needsFlush && (await files.flush(f))) single = undefined;
        }
        // one file's memory is bounded by its row group; several partitions' files share a budget
        if (!unpartitioned) await files.limitMemory();
      }
      written = await files.finish(layout.partitions.length === 0);
    } catch (err) {
      await files.abort();
      throw writeError(err, table.name);
    }
    await this.commitChunk(layout, chunk, { chunk: id, range, rows, files: written });
    return { rows, rejects };
  }

  /** Records the chunk's files (it is then written) and removes what earlier attempts left. */
  private async commitChunk(layout: TableLayout, chunk: ChunkWrite, record: ChunkRecord): Promise<void> {
    await this.records.write(layout.dir, record);
    if (chunk.replace) {
      const stale = await staleFiles(this.store, layout.dir, record.chunk, record.files);
      if (stale.length > 0) {
        this.log.info(
          { table: layout.table.name, chunk: record.chunk, files: stale.length },
          'removing files of an earlier attempt of the chunk',
        );
        await this.store.delete(stale);
      }
    }
    this.log.debug(
      { table: layout.table.name, chunk: record.chunk, rows: record.rows, files: record.files.length },
      'object store chunk written',
    );
  }

  /** Whether the table can be written from column batches (see TableLayout.columnar). */
  takesColumns(table: TargetTable): boolean {
    return this.layout(table).columnar;
  }

  async writeColumns(chunk: ChunkWrite, batches: AsyncIterable<ColumnBatch>): Promise<WriteResult> {
    const layout = this.layout(chunk.table);
    if (!layout.columnar)
      throw new FerryError('INTERNAL', `table ${chunk.table.name} cannot be written from columns`, 'report this');
    return layout.settings.format === 'parquet'
      ? this.parquetColumns(layout, chunk, batches)
      : this.textColumns(layout, chunk, batches);
  }

  /** A chunk's write begins: its folder marked changed, and what an earlier attempt left of the chunk removed when it replaces. */
  private async startChunk(layout: TableLayout, chunk: ChunkWrite): Promise<string> {
    const id = chunkId(chunk.range);
    this.changed(layout.dir);
    if (chunk.replace) await this.records.remove(layout.dir, id);
    return id;
  }

  /** NDJSON and CSV from column batches, rolled over into files as writeChunk rolls rows. */
  private async textColumns(
    layout: TableLayout,
    chunk: ChunkWrite,
    batches: AsyncIterable<ColumnBatch>,
  ): Promise<WriteResult> {
    const { table, range } = chunk;
    const id = await this.startChunk(layout, chunk);
    const files = new ChunkFiles(this.store, layout, id, 1, this.chunkMetadata(table, id));
    const repeatedKey = repeatedKeyCheck(layout);
    let rows = 0;
    let written: FileEntry[];
    try {
      let f = files.fileOf('');
      for await (const batch of batches) {
        repeatedKey?.(batch);
        for (const at = new ColumnRows(batch); !at.done;) {
          f.writer.addColumnRow!(at);
          rows++;
          if (f.writer.needsFlush && (await files.flush(f))) f = files.fileOf('');
        }
        // the lines hold copies of what they took from the batch
        batch.recycle?.();
      }
      written = await files.finish(true);
    } catch (err) {
      await files.abort();
      throw writeError(err, table.name);
    }
    await this.commitChunk(layout, chunk, { chunk: id, range, rows, files: written });
    return { rows, rejects: [] };
  }

  /** Column batches go to the encoding thread (parquet/encode-thread.ts); this thread reads on. */
  private async parquetColumns(
    layout: TableLayout,
    chunk: ChunkWrite,
    batches: AsyncIterable<ColumnBatch>,
  ): Promise<WriteResult> {
    const { table, range } = chunk;
    const id = await this.startChunk(layout, chunk);
    const files = new ColumnChunkFiles(this.store, layout, id);
    const s = layout.settings;
    const stream = encodeColumns(
      table.columns,
      {
        codec: s.codec.name,
        level: s.codec.level,
        pageBytes: s.pageBytes,
        rowGroupBytes: s.rowGroupBytes,
        rowGroupRows: s.rowGroupRows,
        fileBytes: s.fileBytes,
        metadata: this.chunkMetadata(table, id),
        createdBy: s.createdBy,
      },
      files,
    );
    const repeatedKey = repeatedKeyCheck(layout);
    let rows = 0;
    let written: FileEntry[];
    try {
      for await (const batch of batches) {
        repeatedKey?.(batch);
        await stream.send(batch);
        rows += batch.rows;
        // the thread has a copy of its values
        batch.recycle?.();
        await files.drain();
      }
      await stream.finish();
      written = await files.finish();
    } catch (err) {
      stream.abort();
      await files.abort();
      throw writeError(err, table.name);
    }
    await this.commitChunk(layout, chunk, { chunk: id, range, rows, files: written });
    return { rows, rejects: [] };
  }

  async finishTable(table: TargetTable): Promise<void> {
    const layout = this.layout(table);
    this.changed(layout.dir);
    const records = currentRecords(await this.records.of(layout.dir));
    await this.writeManifest(layout, records);
  }

  /** The table's manifest: every file of its current records (a reader of the manifest sees the table whole). */
  private async writeManifest(layout: TableLayout, records: ChunkRecord[]): Promise<void> {
    const { table } = layout;
    const through = changesThrough(records);
    const files = records
      .flatMap((r) => r.files.map((f) => ({ ...f, chunk: r.chunk })))
      .sort((a, b) => (a.path < b.path ? -1 : 1));
    const manifest = {
      ferry: 1,
      table: table.name,
      complete: true,
      written: new Date().toISOString(),
      format: layout.settings.format,
      compression: this.settings.compression,
      rows: files.reduce((n, f) => n + f.rows, 0),
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      chunks: records.length,
      ...(Object.keys(through).length > 0 ? { changesThrough: through } : {}),
      files,
      schema: schemaDocument(table, layout, this.settings),
    };
    await this.store.put(layout.dir + MANIFEST_FILE, JSON.stringify(manifest, null, 2) + '\n');
  }

  /** Foreign keys are declared in _schema.json already; files have nothing to enforce them. */
  async addForeignKeys(): Promise<void> {}

  /**
   * The final state of every row the table's counted change files touch (after what its snapshot
   * holds already), worked out once for a set of change files; undefined when it has none.
   */
  private async changedRowsOf(table: TargetTable): Promise<RowStates | undefined> {
    const layout = this.layout(table);
    const files = await this.changeLog.committedFiles(
      layout.dir,
      changesThrough(currentRecords(await this.records.of(layout.dir))),
    );
    if (files.length === 0) return undefined;
    // the columns too: a column added while following widens the table the same files are read as
    const signature = [...files.map((f) => f.path), ...table.columns.map((c) => c.name)].join('\n');
    const cached = this.changedRows.get(layout.dir);
    if (cached?.signature === signature) return cached.states;
    const states = (async () => {
      const keys = keyColumnIndexes(table);
      const changes: AppliedChange[] = [];
      for (const f of files) {
        const key = layout.dir + f.path;
        try {
          changes.push(...(await readChangeFile(this.store, key, layout.settings, table, keys)));
        } catch (err) {
          throw changeFileError(this.store.location, key, err);
        }
      }
      const all = table.columns.map((_c, i) => i);
      return changedRows(table, changes, () => this.snapshotRows(table, {}, all, 10_000));
    })();
    states.catch(() => this.changedRows.delete(layout.dir));
    this.changedRows.set(layout.dir, { signature, states });
    return states;
  }

  /** The table's snapshot or change files are changing: what was worked out of them is forgotten. */
  private changed(dir: string): void {
    this.records.changed(dir);
    this.changedRows.delete(dir);
  }

  /** The rows of the table in a key range, as they are now: its snapshot with its live changes applied. */
  private async *rowsOf(
    table: TargetTable,
    range: KeyRange,
    wanted: number[],
    batchRows: number,
  ): AsyncIterable<unknown[][]> {
    const states = await this.changedRowsOf(table);
    if (!states) {
      yield* this.snapshotRows(table, range, wanted, batchRows);
      return;
    }
    const layout = this.layout(table);
    const bounded = range.lower !== undefined || range.upper !== undefined;
    const cmp = bounded ? layout.compare() : [];
    yield* currentRows(
      table,
      states,
      this.snapshotRows(
        table,
        range,
        table.columns.map((_c, i) => i),
        batchRows,
      ),
      (row) =>
        !bounded ||
        inRange(
          layout.keyIndexes.map((i) => row[i]),
          range,
          cmp,
        ),
      batchRows,
    );
  }

  /** The rows of the table's snapshot in a key range: the files of its current chunk records. */
  private async *snapshotRows(
    table: TargetTable,
    range: KeyRange,
    wanted: number[],
    batchRows: number,
  ): AsyncIterable<unknown[][]> {
    const layout = this.layout(table);
    const bounded = range.lower !== undefined || range.upper !== undefined;
    const cmp = bounded ? layout.compare() : [];
    const records = currentRecords(await this.records.of(layout.dir)).filter(
      (r) => !bounded || overlaps(r.range, range, cmp),
    );
    const keyIdx = layout.keyIndexes;
    let out: unknown[][] = [];
    for (const record of records)
      for (const file of record.files) {
        const key = layout.dir + file.path;
        try {
          for await (const rows of readFile(
            formatOfPath(file.path),
            () => this.store.open(key, file.bytes),
            () => this.store.stream(key),
            table.columns,
            wanted,
            batchRows,
          )) {
            for (const row of rows)
              if (
                !bounded ||
                inRange(
                  keyIdx.map((i) => row[i]),
                  range,
                  cmp,
                )
              )
                out.push(row);
            if (out.length >= batchRows) {
              yield out;
              out = [];
            }
          }
        } catch (err) {
          if (err instanceof FerryError) throw err;
          const what =
            err instanceof NotFerryParquet
              ? `it has ${err.message}, which ferry does not write`
              : (err as Error).message;
          throw new FerryError(
            'READ_FAILED',
            `cannot read ${this.store.location}${key}: ${what}`,
            'run the chunk again (ferry run) or check that nothing else wrote to the table folder',
            { cause: err },
          );
        }
      }
    if (out.length > 0) yield out;
  }

  async *readBack(table: TargetTable, range: KeyRange, batchRows: number): AsyncIterable<RowBatch> {
    const all = table.columns.map((_c, i) => i);
    for await (const rows of this.rowsOf(table, range, all, batchRows)) yield { rows };
  }

  async count(table: TargetTable, range: KeyRange): Promise<number> {
    const layout = this.layout(table);
    const records = currentRecords(await this.records.of(layout.dir));
    const changed = (await this.changedRowsOf(table)) !== undefined;
    if (!changed && range.lower === undefined && range.upper === undefined)
      return records.reduce((n, r) => n + r.rows, 0);
    const exact = changed ? undefined : records.find((r) => sameRange(r.range, range, layout.compare()));
    if (exact) return exact.rows;
    let n = 0;
    for await (const rows of this.rowsOf(table, range, layout.keyIndexes, 10_000)) n += rows.length;
    return n;
  }

  /**
   * Writes each table's changes of the call as a change file, then the call's position record:
   * the files count from then on. A change that cannot be applied fails the call before any
   * file is written; a call cut short leaves files that never count.
   */
  async applyChanges(changes: AppliedChange[], stream: string, position: string): Promise<void> {
    const byTable = new Map<TargetTable, TargetChange[]>();
    for (const { table, change } of changes) {
      let list = byTable.get(table);
      if (!list) {
        keyColumnIndexes(table);
        byTable.set(table, (list = []));
      }
      list.push(change);
    }
    for (const [table, list] of byTable)
      for (const change of list) {
        const why = changeMisfit(table, change);
        if (why)
          throw new FerryError(
            'WRITE_FAILED',
            `${table.name}: a change was refused: ${why}`,
            'fix the row in the source or the column in the plan, then run again: the changes are applied again from the last position',
          );
      }
    const sequence = ((await this.changeLog.lastRecord(stream))?.sequence ?? 0) + 1;
    const id = streamId(stream);
    const dirs: string[] = [];
    await Promise.all(
      [...byTable].map(async ([table, list]) => {
        const layout = this.layout(table);
        dirs.push(layout.dir);
        try {
          await writeChangeFile(
            this.store,
            layout.dir + changeFilePath(id, sequence),
            layout.settings,
            table,
            keyColumnIndexes(table),
            list,
            position,
          );
        } catch (err) {
          throw writeError(err, table.name);
        }
      }),
    );
    await this.changeLog.commit({
      stream,
      sequence,
      position,
      appliedAt: new Date().toISOString(),
      tables: dirs.sort(),
    });
  }

  async appliedPosition(stream: string): Promise<string | undefined> {
    return (await this.changeLog.lastRecord(stream, true))?.position;
  }

  /**
   * The table's schema gains the column. Its files written before (data and change files) lack
   * it and read it as NULL, until a compaction writes the table anew with it; a default would
   * have to be given to rows those files hold, which they cannot take: it is refused.
   */
  async addColumn(table: TargetTable, column: Column): Promise<void> {
    if (column.default !== undefined)
      throw new FerryError(
        'UNSUPPORTED',
        `column ${column.name} of ${table.name} has a default (${column.default}): the rows the files of an object storage target hold cannot be given it`,
        'add the column without a default on the source, then set its values with an UPDATE (ferry follows it)',
      );
    const layout = this.layout(table);
    this.changed(layout.dir);
    await this.store.put(
      layout.dir + SCHEMA_FILE,
      JSON.stringify(schemaDocument(table, layout, this.settings), null, 2) + '\n',
    );
  }

  /**
   * Folds each table's change files into a new snapshot of it (see compact.ts), then removes the
   * position records whose every change file is folded (the last one stays: the position).
   */
  async compact(tables: TargetTable[]): Promise<CompactResult[]> {
    const results: CompactResult[] = [];
    const folded = new Map<string, Record<string, number>>();
    for (const table of tables) {
      const layout = this.layout(table);
      this.changed(layout.dir);
      const result = await compactTable(
        {
          store: this.store,
          records: this.records,
          changeLog: this.changeLog,
          log: this.log,
          rows: (range, batchRows) =>
            this.rowsOf(
              table,
              range,
              table.columns.map((_c, i) => i),
              batchRows,
            ),
          maxPartitionsPerChunk: this.settings.maxPartitionsPerChunk,
          metadata: (id) => this.chunkMetadata(table, id),
          manifest: (records) => this.writeManifest(layout, records),
        },
        layout,
      );
      folded.set(layout.dir, result.through);
      results.push(result.summary);
    }
    await pruneFolded(this.changeLog, folded);
    return results;
  }

  exists(table: TargetTable): Promise<boolean> {
    return holdsObjects(this.store, this.layout(table).dir);
  }

  /** Removes every object of the table's folder: its files, chunk records, schema and manifest. */
  async drop(table: TargetTable): Promise<void> {
    const { dir } = this.layout(table);
    this.records.forget(dir);
    this.changedRows.delete(dir);
    await this.store.deleteFolder(dir);
  }

  async fingerprint(table: TargetTable): Promise<TableFingerprint | undefined> {
    // one listing gives both the objects and the chunk records. Records this target wrote are
    // taken as written: had another writer replaced one since, the fingerprint a later rollback
    // takes (reading every record) differs, and rollback refuses, as it should
    const dir = this.layout(table).dir;
    const listed: ListedObject[] = [];
    for await (const o of this.store.list(dir)) listed.push(o);
    return folderFingerprint(
      listed,
      await this.records.among(
        dir,
        listed.map((o) => o.key),
      ),
    );
  }

  scratch(table: TargetTable, suffix: string): TargetTable {
    return scratchTable(table, suffix);
  }

  valueCheck(column: Column): ((v: unknown) => string | undefined) | undefined {
    if (this.settings.format.format !== 'parquet') return undefined;
    if (column.type.kind === 'array') return listDepthCheck(column.type, column.nativeType);
    const native = column.nativeType.toUpperCase();
    if (native.startsWith('TIME('))
      return (v) => {
        const s = v as string;
        return s.charCodeAt(0) === 45 || s.charCodeAt(2) !== 58 || s > '24:00:00'
          ? `time ${s} is not a time of day (00:00:00 to 24:00:00), which Parquet TIME holds`
          : undefined;
      };
    if (native === 'DATE' || native.startsWith('TIMESTAMP(')) {
      const limit = yearLimit(native);
      return (v) => {
        const s = v as string;
        if (s.charCodeAt(4) === 45 && s.charCodeAt(0) !== 45) return undefined;
        const year = Number(/^-?\d+/.exec(s)?.[0]);
        return Math.abs(year) > limit ? `${s} is outside the years Parquet ${native} holds` : undefined;
      };
    }
    return undefined;
  }

  async introspect(filter?: { tables?: string[] }): Promise<SchemaInfo['tables']> {
    const names = filter?.tables ?? (await this.store.folders(''));
    const tables: TableInfo[] = [];
    for (const name of names) {
      const doc = await this.store.get(`${name}/${SCHEMA_FILE}`);
      if (!doc) continue;
      const schema = JSON.parse(doc.toString('utf8')) as {
        columns: { name: string; type: string; nullable: boolean; default?: string; autoIncrement?: boolean }[];
        primaryKey: string[];
        uniqueKeys: string[][];
        indexes: TableInfo['indexes'];
        foreignKeys: TableInfo['foreignKeys'];
      };
      const manifest = await this.store.get(`${name}/${MANIFEST_FILE}`);
      const totals = manifest
        ? (JSON.parse(manifest.toString('utf8')) as { rows: number; bytes: number })
        : { rows: 0, bytes: 0 };
      tables.push({
        name,
        columns: schema.columns.map((c) => ({
          name: c.name,
          type: parseNative(c.type).canonical,
          nativeType: c.type,
          nullable: c.nullable,
          default: c.default,
          autoIncrement: c.autoIncrement,
        })),
        primaryKey: schema.primaryKey,
        uniqueKeys: schema.uniqueKeys,
        indexes: schema.indexes,
        foreignKeys: schema.foreignKeys,
        rowEstimate: totals.rows,
        bytesEstimate: totals.bytes,
      });
    }
    return tables;
  }
}

/** For a table whose primary key the chunk's column batches must hold once: throws at a key seen before. */
function repeatedKeyCheck(layout: TableLayout): ((batch: ColumnBatch) => void) | undefined {
  const keyIndex = layout.uniqueIndexes?.[0];
  if (keyIndex === undefined) return undefined;
  const keys = new IntegerKeys();
  const { table } = layout;
  return (batch) => {
    const repeated = keys.repeated(batch.columns[keyIndex]!);
    if (repeated !== undefined)
      throw new FerryError(
        'WRITE_FAILED',
        `${table.name}: duplicate primary key (${table.primaryKey.join(', ')}) = (${String(repeated)})`,
        'remove the duplicate rows in the source, or the primary key from the plan',
      );
  };
}
