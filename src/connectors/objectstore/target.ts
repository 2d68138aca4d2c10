// The object store target. A table is a folder:
//
//   <table>/_schema.json                         columns, keys and layout, written by prepare
//   <table>/[col=v/|year=YYYY/month=MM/]part-<chunk>-<n>.<ext>   the data
//   <table>/_chunks/<chunk>.json                 the files, rows and checksums of one chunk
//   <table>/_manifest.json                       every file, written last: the table is complete
//
// A chunk's files are named from a hash of its key range, so a replayed chunk overwrites its
// files; it then removes files of earlier attempts it did not write again, and its record
// says which files hold the chunk. Writes are not transactional (an object store has no
// transactions) but idempotent, and a chunk is reported written only when its files and its
// record are durable.
import { createHash } from 'node:crypto';
import { daysFromCivil } from '../../core/calendar.js';
import {
  columnLayout,
  sliceColumns,
  type ColumnBatch,
  type ColumnLayout,
  type ColumnVector,
} from '../../core/columns.js';
import type {
  ChunkWrite,
  IfExists,
  Reject,
  TableFingerprint,
  Target,
  TargetTable,
  WriteResult,
} from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { CanonicalType, Column, Finding, KeyRange, RowBatch, SchemaInfo, TableInfo } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import { stateParse, stateStringify } from '../../core/values.js';
import {
  createWriter,
  extension,
  readFile,
  rowChecker,
  type Format,
  type FormatSettings,
  type FormatWriter,
} from './formats.js';
import { compareFor, inRange, keyIdentity, ORDERED_KINDS, overlaps, sameRange, type Compare } from './keys.js';
import { parseTableOptions, type PartitionSpec } from './options.js';
import { columnAppender, type ColumnAppender } from './parquet/columns.js';
import { int64FromWords } from './parquet/codec.js';
import { NotFerryParquet } from './parquet/read.js';
import { partitioner, partitionValues } from './partition.js';
import { folderFingerprint, holdsObjects, scratchTable } from './removal.js';
import type { ListedObject, ObjectStore, ObjectWriter } from '../../stores/store.js';
import { RowRefused } from './temporal.js';
import { MAX_READABLE_DECIMAL_PRECISION, parseNative, type Leaf } from './typemap.js';

export const SCHEMA_FILE = '_schema.json';
export const MANIFEST_FILE = '_manifest.json';
const CHUNKS_DIR = '_chunks/';
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

interface ChunkRecord {
  chunk: string;
  range: KeyRange;
  rows: number;
  files: FileEntry[];
}

export interface TargetSettings {
  format: FormatSettings;
  /** compression as the plan names it, for the schema and manifest files */
  compression: string;
  maxPartitionsPerChunk: number;
}

/** The id of a chunk: its key range, hashed (the same range always names the same files). */
export function chunkId(range: KeyRange): string {
  return createHash('sha256').update(stateStringify(range)).digest('hex').slice(0, 16);
}

function formatOfPath(path: string): Pick<FormatSettings, 'format' | 'gzip'> {
  const gzip = path.endsWith('.gz');
  const base = gzip ? path.slice(0, -3) : path;
  const format = base.slice(base.lastIndexOf('.') + 1) as Format;
  return { format, gzip };
}

/** Everything about one table that does not change between its chunks. */
class TableLayout {
  readonly dir: string;
  readonly settings: FormatSettings;
  readonly partitions: PartitionSpec[];
  readonly partitionOf: (row: unknown[]) => string;
  readonly keyIndexes: number[];
  /** comparisons of the chunk key columns, when this target can order them all */
  readonly keyCompare?: Compare[];
  /** primary key positions, when every row with a given primary key falls in one chunk */
  readonly uniqueIndexes?: number[];
  /** how each column goes into its leaf from a column batch, when the table can be written from columns */
  readonly columnAppenders?: ColumnAppender[];

  constructor(
    readonly table: TargetTable,
    base: FormatSettings,
  ) {
    const { options, partitions } = parseTableOptions(table.name, table.options);
    this.dir = `${table.name}/`;
    this.settings = {
      ...base,
      rowGroupBytes: options.rowGroupSize ?? base.rowGroupBytes,
      rowGroupRows: options.rowGroupRows ?? base.rowGroupRows,
      fileBytes: options.fileSize ?? base.fileBytes,
    };
    this.partitions = partitions;
    this.partitionOf = partitioner(table, partitions);
    const position = (name: string) => table.columns.findIndex((c) => c.name === name);
    this.keyIndexes = table.key.map(position);
    const compares = this.keyIndexes.map((i) => compareFor(table.columns[i]!.type));
    if (compares.every((c) => c !== undefined)) this.keyCompare = compares as Compare[];
    if (table.primaryKey.length > 0 && table.key.length > 0 && table.key.every((k) => table.primaryKey.includes(k)))
      this.uniqueIndexes = table.primaryKey.map(position);
    this.columnAppenders = columnAppenders(this);
  }

  compare(): Compare[] {
    if (!this.keyCompare)
      throw new FerryError(
        'UNSUPPORTED',
        `table ${this.table.name} is chunked by (${this.table.key.join(', ')}), which the object store cannot order`,
        `chunk it by a key of ${ORDERED_KINDS.join(', ')} columns in the plan`,
      );
    return this.keyCompare;
  }
}

/**
 * How each column of the table goes into its leaf from a column batch (see parquet/columns.ts);
 * undefined unless the table is Parquet without partitions, every column has a layout its leaf
 * takes as it is, and repeated primary keys can be found in columns (one integer key column).
 */
function columnAppenders(layout: TableLayout): ColumnAppender[] | undefined {
  const { table } = layout;
  if (layout.settings.format !== 'parquet' || layout.partitions.length > 0) return undefined;
  const unique = layout.uniqueIndexes;
  if (unique && (unique.length !== 1 || !INTEGER_LAYOUTS.includes(columnLayout(table.columns[unique[0]!]!.type)!)))
    return undefined;
  const out: ColumnAppender[] = [];
  for (const c of table.columns) {
    const kind = columnLayout(c.type);
    const { shape } = parseNative(c.nativeType);
    if (!kind || !('leaf' in shape)) return undefined;
    const append = columnAppender(kind, shape.leaf);
    if (!append) return undefined;
    const native = c.nativeType.toUpperCase();
    out.push(native === 'DATE' || native.startsWith('TIMESTAMP(') ? withinYears(append, native, shape.leaf) : append);
  }
  return out;
}

/**
 * Finds repeated primary keys in a chunk. Sources usually give rows in key order, so keys are
 * only compared with the previous one until a row comes out of order; then a set takes over.
 */
class DuplicateKeys {
  private last: unknown;
  private keys: unknown[] = [];
  private seen?: Set<unknown>;
  private readonly keyOf: (row: unknown[]) => unknown;
  private readonly idOf: (key: unknown) => unknown;
  private readonly compare?: Compare;

  constructor(
    indexes: number[],
    private readonly names: string[],
    types: CanonicalType[],
    compare: Compare[] | undefined,
  ) {
    const identity = types.map(keyIdentity);
    if (indexes.length === 1) {
      // one key column: no tuple per row, and integers compared as they are
      const [i] = indexes as [number];
      this.keyOf = (row) => row[i];
      this.idOf = identity[0]!;
      this.compare =
        types[0]!.kind === 'int'
          ? (a, b) => ((a as number) > (b as number) ? 1 : (a as number) < (b as number) ? -1 : 0)
          : compare?.[0];
    } else {
      this.keyOf = (row) => indexes.map((i) => row[i]);
      this.idOf = (key) => (key as unknown[]).map((v, i) => String(identity[i]!(v))).join('\u0001');
      this.compare = compare && ((a, b) => compareKeys(a as unknown[], b as unknown[], compare));
    }
  }

  /** Why the row's key was seen before, or undefined (and the key is remembered). */
  add(row: unknown[]): string | undefined {
    const key = this.keyOf(row);
    if (!this.seen) {
      if (this.compare && (this.keys.length === 0 || this.compare(key, this.last) > 0)) {
        this.last = key;
        this.keys.push(key);
        return undefined;
      }
      this.seen = new Set(this.keys.map(this.idOf));
      this.keys = [];
    }
    const id = this.idOf(key);
    if (this.seen.has(id))
      return `duplicate primary key (${this.names.join(', ')}) = (${(Array.isArray(key) ? key : [key]).map((v) => String(v)).join(', ')})`;
    this.seen.add(id);
    return undefined;
  }
}

/** Parquet counts days in 32 bits and microseconds in 64: about 5.8 million and 292,000 years from 1970. */
function yearLimit(native: string): number {
  return native === 'DATE' ? 5_000_000 : 290_000;
}

/**
 * An appender that refuses dates and timestamps outside the years valueCheck() lets through
 * in rows (their column form fits the leaf, but rows and columns must agree), in the leaf's unit.
 */
function withinYears(append: ColumnAppender, native: string, leaf: Leaf): ColumnAppender {
  const limit = yearLimit(native);
  const perDay = leaf.logical?.type === 'TIMESTAMP' ? 86_400_000_000n : 1n;
  const low = BigInt(daysFromCivil(-limit, 1, 1)) * perDay;
  const high = BigInt(daysFromCivil(limit + 1, 1, 1)) * perDay;
  return (v, out) => {
    const range = append(v, out);
    if (range && (range.min < low || range.max >= high))
      throw new RowRefused(`a value is outside the years Parquet ${native} holds`);
    return range;
  };
}

const INTEGER_LAYOUTS: (ColumnLayout | undefined)[] = ['int32', 'int64'];

/** The 32-bit words of an int32 or int64 column's values (they start aligned to their width). */
const wordsOf = (v: ColumnVector): Int32Array =>
  new Int32Array(v.data.buffer, v.data.byteOffset, v.layout === 'int32' ? v.count : 2 * v.count);

/** Key k of an int32 or int64 column: int64 as a number while exact (as rows give them), else a bigint. */
function integerAt(words: Int32Array, layout: ColumnLayout, k: number): number | bigint {
  return layout === 'int32' ? words[k]! : int64FromWords(words[2 * k + 1]!, words[2 * k]! >>> 0);
}

/** Whether `key` is the integer after `prev` (either may be a number or a bigint, as integerAt gives them). */
const follows = (prev: number | bigint, key: number | bigint): boolean =>
  typeof prev === 'number' && typeof key === 'number' ? key === prev + 1 : BigInt(key) === BigInt(prev) + 1n;

/** A key as integerAt gives it: a number within ±2^53, else a bigint. */
const asKey = (b: bigint): number | bigint => (b >= -(2n ** 53n) && b < 2n ** 53n ? Number(b) : b);

/**
 * Repeated keys of a chunk's one-column integer primary key, batch by batch. While keys
 * increase only the last one is compared, and the keys seen are kept as runs of consecutive
 * values (batches are recycled; an identity column is one run); the first key out of order
 * turns every key seen into a set, which then takes over.
 */
class IntegerKeys {
  private last: number | bigint = -Infinity;
  /** the keys so far, ascending: [first, last] of each run of consecutive values */
  private readonly runs: (number | bigint)[][] = [];
  private seen?: Set<number | bigint>;

  /** A key of the column seen before, or undefined. */
  repeated(v: ColumnVector): number | bigint | undefined {
    const words = wordsOf(v);
    let k = 0;
    if (!this.seen) {
      let last = this.last;
      let run = this.runs.at(-1);
      for (; k < v.count; k++) {
        const key = integerAt(words, v.layout, k);
        if (key <= last) break;
        if (run && follows(run[1]!, key)) run[1] = key;
        else this.runs.push((run = [key, key]));
        last = key;
      }
      this.last = last;
      if (k === v.count) return undefined;
      this.seen = new Set();
      for (const [first, end] of this.runs)
        if (typeof first === 'number' && typeof end === 'number')
          for (let key = first; key <= end; key++) this.seen.add(key);
        else for (let key = BigInt(first!); key <= BigInt(end!); key++) this.seen.add(asKey(key));
      this.runs.length = 0;
    }
    for (; k < v.count; k++) {
      const key = integerAt(words, v.layout, k);
      if (this.seen.has(key)) return key;
      this.seen.add(key);
    }
    return undefined;
  }
}

function compareKeys(a: unknown[], b: unknown[], cmp: Compare[]): number {
  for (let i = 0; i < cmp.length; i++) {
    const c = cmp[i]!(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

interface OpenFile {
  path: string;
  partition: string;
  writer: FormatWriter;
  upload: ObjectWriter;
}

/** The files one attempt of a chunk writes: one open file per partition, rolled over at the file size. */
class ChunkFiles {
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
    const path = `${partition}part-${this.id}-${String(n).padStart(4, '0')}.${extension(this.layout.settings)}`;
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

function schemaDocument(table: TargetTable, layout: TableLayout, s: TargetSettings): Record<string, unknown> {
  return {
    table: table.name,
    format: layout.settings.format,
    compression: s.compression,
    columns: table.columns.map((c) => ({
      name: c.name,
      type: c.nativeType,
      canonical: formatType(c.type),
      nullable: c.nullable,
      ...(c.default !== undefined ? { default: c.default } : {}),
      ...(c.autoIncrement ? { autoIncrement: true } : {}),
    })),
    primaryKey: table.primaryKey,
    uniqueKeys: table.uniqueKeys,
    indexes: table.indexes,
    foreignKeys: table.foreignKeys,
    chunkKey: table.key,
    partitionBy: layout.partitions,
  };
}

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

export class ObjectStoreTarget implements Target {
  private readonly layouts = new WeakMap<TargetTable, TableLayout>();
  private readonly records = new Map<string, Promise<ChunkRecord[]>>();
  /** the chunk records this target wrote, by key: a table's manifest need not read them back */
  private readonly written = new Map<string, ChunkRecord>();

  constructor(
    private readonly store: ObjectStore,
    private readonly settings: TargetSettings,
    private readonly log: Logger,
  ) {}

  private layout(table: TargetTable): TableLayout {
    let l = this.layouts.get(table);
    if (!l) this.layouts.set(table, (l = new TableLayout(table, this.settings.format)));
    return l;
  }

  async check(tables: TargetTable[]): Promise<Finding[]> {
    const findings: Finding[] = [];
    const add = (f: Finding) => findings.push(f);
    const format = this.settings.format.format;
    for (const t of tables) {
      const layout = this.layout(t);
      if (/[/\\]/.test(t.name) || t.name === '.' || t.name === '..')
        add({
          severity: 'error',
          code: 'TABLE_NAME',
          table: t.name,
          message: `table name ${t.name} cannot be a folder name`,
          action: 'rename the target table in the plan',
        });
      else if (/^[_.]/.test(t.name))
        add({
          severity: 'warning',
          code: 'HIDDEN_TABLE',
          table: t.name,
          message: `folder ${t.name}/ starts with "${t.name[0]}", which Hive, Spark and Athena treat as hidden`,
          action: 'rename the target table in the plan',
        });
      if (!layout.keyCompare)
        add({
          severity: 'error',
          code: 'KEY_ORDER',
          table: t.name,
          message: `${t.name} is chunked by (${t.key.join(', ')}), and the object store orders only ${ORDERED_KINDS.join(', ')} keys`,
          action: 'chunk the table by another key, or by none (chunking.key: [])',
        });
      for (const spec of layout.partitions) {
        const col = t.columns.find((c) => c.name === spec.column)!;
        if (spec.by === 'value') {
          if (
            (t.primaryKey.length === 1 && t.primaryKey[0] === col.name) ||
            t.uniqueKeys.some((u) => u.length === 1 && u[0] === col.name)
          )
            add({
              severity: 'error',
              code: 'PARTITION_PER_ROW',
              table: t.name,
              column: col.name,
              message: `${t.name} is partitioned by ${col.name}, a unique column: one folder and one file per row`,
              action: 'partition by a column with few values, or by year/month/day of a timestamp',
            });
          else if (
            ['float', 'bytes', 'json', 'timestamp', 'time', 'array', 'set', 'uuid'].includes(col.type.kind) ||
            (col.type.kind === 'decimal' && (col.type.scale ?? 0) > 0)
          )
            add({
              severity: 'warning',
              code: 'PARTITION_CARDINALITY',
              table: t.name,
              column: col.name,
              message: `${t.name} is partitioned by the ${col.type.kind} values of ${col.name}, which are usually all different: many small files`,
              action:
                col.type.kind === 'timestamp'
                  ? `partition by {column: ${col.name}, by: day} (or month, year)`
                  : 'partition by a column with few values',
            });
        } else if (spec.by === 'day' || spec.by === 'hour')
          add({
            severity: t.key[0] === col.name ? 'info' : 'warning',
            code: 'PARTITION_CARDINALITY',
            table: t.name,
            column: col.name,
            message: `${t.name} is partitioned by the ${spec.by} of ${col.name}: each chunk writes a file in every ${spec.by} its rows fall in`,
            action:
              t.key[0] === col.name
                ? 'no action needed'
                : `check that rows of one chunk span few ${spec.by}s, or partition by month, or raise rowsPerChunk`,
          });
      }
      this.formatFindings(t, format).forEach(add);
      const variable = t.columns.filter((c) => {
        const { shape } = parseNative(c.nativeType);
        return !('leaf' in shape) || shape.leaf.physical === 'BYTE_ARRAY';
      });
      const fixed = t.columns.reduce((n, c) => {
        const { shape } = parseNative(c.nativeType);
        return (
          n +
          ('leaf' in shape
            ? shape.leaf.physical === 'BOOLEAN'
              ? 1
              : shape.leaf.physical === 'INT32' || shape.leaf.physical === 'FLOAT'
                ? 4
                : (shape.leaf.typeLength ?? 8)
            : 0)
        );
      }, 0);
      if (fixed > layout.settings.rowGroupBytes)
        add({
          severity: 'error',
          code: 'ROW_GROUP_SIZE',
          table: t.name,
          message: `a row of ${t.name} takes ${fixed} bytes, more than the row group size ${layout.settings.rowGroupBytes}`,
          action: 'raise rowGroupSize in target.options or the table options',
        });
      else if (format === 'parquet' && variable.length > 0 && layout.settings.rowGroupBytes < 16 * 1024 * 1024)
        add({
          severity: 'info',
          code: 'ROW_GROUP_SIZE',
          table: t.name,
          message: `${t.name} has text or binary columns (${variable.map((c) => c.name).join(', ')}) and row groups of ${layout.settings.rowGroupBytes} bytes: a row larger than that makes a row group of its own`,
          action: 'no action needed unless rows are that large; then raise rowGroupSize',
        });
    }
    return findings;
  }

  /** Types the chosen format keeps only in part, or that common readers take only in part. */
  private formatFindings(t: TargetTable, format: Format): Finding[] {
    const out: Finding[] = [];
    const cols = (pred: (c: Column) => boolean) => t.columns.filter(pred).map((c) => c.name);
    const note = (
      code: string,
      names: string[],
      message: string,
      action: string,
      severity: Finding['severity'] = 'info',
    ) => {
      if (names.length > 0)
        out.push({ severity, code, table: t.name, message: `${t.name} (${names.join(', ')}): ${message}`, action });
    };
    if (format === 'parquet') {
      note(
        'TYPE_FORMAT',
        cols((c) => c.type.kind === 'decimal' && (c.type.precision ?? 0) > MAX_READABLE_DECIMAL_PRECISION),
        `Parquet decimals of more than ${MAX_READABLE_DECIMAL_PRECISION} digits are not read by DuckDB, Spark or Athena`,
        'set the column type to STRING in the plan to keep the digits as text',
        'warning',
      );
      note(
        'TYPE_FORMAT',
        cols((c) => c.nativeType.toUpperCase() === 'UINT64'),
        'unsigned 64-bit integers are read as signed by Hive, Spark and Athena',
        'set the column type to DECIMAL(20,0) in the plan if values pass 9223372036854775807',
      );
      note(
        'TYPE_FORMAT',
        cols((c) => /^TIME\(/i.test(c.nativeType)),
        'Athena and Hive have no TIME type',
        'set the column type to STRING in the plan if Athena or Hive read the files',
      );
      note(
        'TYPE_FORMAT',
        cols((c) => /^TIMESTAMP\(MICROS/i.test(c.nativeType)),
        'Athena and Glue read Parquet timestamps in milliseconds only',
        'set target.options.timestampUnit to millis (before `ferry plan`, or edit the column types) if they read the files',
      );
    } else if (format === 'ndjson') {
      note(
        'TYPE_FORMAT',
        cols((c) => (c.type.kind === 'int' && c.type.bits === 64) || c.type.kind === 'decimal'),
        'large integers are JSON numbers with every digit (JavaScript and jq round them past 2^53) and decimals are strings, to stay exact',
        'read them as strings or 64-bit integers in the consumer',
      );
      note(
        'TYPE_FORMAT',
        cols((c) => c.type.kind === 'bytes'),
        'binary values are base64 strings',
        'decode them with from_base64 (DuckDB) or the like',
      );
    } else {
      note(
        'TYPE_FORMAT',
        cols(() => true),
        'CSV has no column types: values are text (binary as base64, lists and JSON as JSON text, NULL as an empty unquoted field); _schema.json says what each column is',
        'give the types to the reader (DuckDB: read_csv(..., columns = {...}))',
      );
    }
    return out;
  }

  async prepare(table: TargetTable, ifExists: IfExists): Promise<void> {
    const layout = this.layout(table);
    this.records.delete(table.name);
    const exists = await holdsObjects(this.store, layout.dir);
    if (exists && ifExists === 'fail')
      throw new FerryError(
        'TABLE_EXISTS',
        `table ${table.name} already exists: ${this.store.location}${layout.dir} holds objects`,
        'set target.ifExists to drop or truncate in the plan',
      );
    if (exists) await this.store.deleteFolder(layout.dir);
    this.forgetWritten(layout);
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
    const { table, range, replace, isolate } = chunk;
    const layout = this.layout(table);
    const id = chunkId(range);
    this.records.delete(table.name);
    if (replace) await this.deleteRecord(layout, id);
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
    const key = this.recordKey(layout, record.chunk);
    await this.store.put(key, stateStringify(record));
    this.written.set(key, record);
    if (chunk.replace) await this.removeStale(layout, record.chunk, record.files);
    this.records.delete(layout.table.name);
    this.log.debug(
      { table: layout.table.name, chunk: record.chunk, rows: record.rows, files: record.files.length },
      'object store chunk written',
    );
  }

  private recordKey(layout: TableLayout, id: string): string {
    return `${layout.dir}${CHUNKS_DIR}${id}.json`;
  }

  private async deleteRecord(layout: TableLayout, id: string): Promise<void> {
    const key = this.recordKey(layout, id);
    this.written.delete(key);
    await this.store.delete([key]);
  }

  private forgetWritten(layout: TableLayout): void {
    for (const key of this.written.keys()) if (key.startsWith(layout.dir + CHUNKS_DIR)) this.written.delete(key);
  }

  /** Whether the table can be written from column batches (see columnAppenders). */
  takesColumns(table: TargetTable): boolean {
    return this.layout(table).columnAppenders !== undefined;
  }

  async writeColumns(chunk: ChunkWrite, batches: AsyncIterable<ColumnBatch>): Promise<WriteResult> {
    const { table, range } = chunk;
    const layout = this.layout(table);
    const appenders = layout.columnAppenders;
    if (!appenders)
      throw new FerryError('INTERNAL', `table ${table.name} cannot be written from columns`, 'report this');
    const id = chunkId(range);
    this.records.delete(table.name);
    if (chunk.replace) await this.deleteRecord(layout, id);
    const files = new ChunkFiles(this.store, layout, id, 1, this.chunkMetadata(table, id));
    const keyIndex = layout.uniqueIndexes?.[0];
    const keys = keyIndex === undefined ? undefined : new IntegerKeys();
    let rows = 0;
    let written: FileEntry[];
    try {
      for await (const batch of batches) {
        const repeated = keys?.repeated(batch.columns[keyIndex!]!);
        if (repeated !== undefined)
          throw new FerryError(
            'WRITE_FAILED',
            `${table.name}: duplicate primary key (${table.primaryKey.join(', ')}) = (${String(repeated)})`,
            'remove the duplicate rows in the source, or the primary key from the plan',
          );
        let from = 0;
        while (from < batch.rows) {
          const f = files.fileOf('');
          // a row group holds at most rowGroupRows rows: a batch that crosses the limit is split
          const to = Math.min(batch.rows, from + f.writer.roomInRowGroup!());
          f.writer.addColumns!(from === 0 && to === batch.rows ? batch : sliceColumns(batch, from, to), appenders);
          if (f.writer.needsFlush) await files.flush(f);
          from = to;
        }
        rows += batch.rows;
        // its values are in the pages now
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

  /** Files of earlier attempts of a chunk that this attempt did not write again. */
  private async removeStale(layout: TableLayout, id: string, kept: FileEntry[]): Promise<void> {
    const keep = new Set(kept.map((f) => layout.dir + f.path));
    const marker = `part-${id}-`;
    const stale: string[] = [];
    for await (const o of this.store.list(layout.dir)) {
      const base = o.key.slice(o.key.lastIndexOf('/') + 1);
      if (base.includes(marker) && !keep.has(o.key)) stale.push(o.key);
    }
    if (stale.length > 0) {
      this.log.info(
        { table: layout.table.name, chunk: id, files: stale.length },
        'removing files of an earlier attempt of the chunk',
      );
      await this.store.delete(stale);
    }
  }

  /** The table's chunk records: those listed in its folder. */
  private recordsOf(table: TargetTable): Promise<ChunkRecord[]> {
    let r = this.records.get(table.name);
    if (!r) {
      r = (async () => {
        const keys: string[] = [];
        const dir = this.layout(table).dir;
        for await (const o of this.store.list(dir + CHUNKS_DIR)) keys.push(o.key);
        return this.recordsAt(dir, keys);
      })();
      r.catch(() => this.records.delete(table.name));
      this.records.set(table.name, r);
    }
    return r;
  }

  /** The chunk records of the table folder `dir` among `keys`: those this target wrote as it wrote them, the others read back. */
  private async recordsAt(dir: string, keys: string[]): Promise<ChunkRecord[]> {
    const out: ChunkRecord[] = [];
    const unknown: string[] = [];
    const records = dir + CHUNKS_DIR;
    for (const key of keys) {
      if (!key.startsWith(records) || !key.endsWith('.json') || key.includes('/', records.length)) continue;
      const known = this.written.get(key);
      if (known) out.push(known);
      else unknown.push(key);
    }
    for (let i = 0; i < unknown.length; i += 16) {
      const docs = await Promise.all(unknown.slice(i, i + 16).map((k) => this.store.get(k)));
      for (const d of docs) if (d) out.push(stateParse<ChunkRecord>(d.toString('utf8')));
    }
    return out;
  }

  async finishTable(table: TargetTable): Promise<void> {
    const layout = this.layout(table);
    this.records.delete(table.name);
    const records = await this.recordsOf(table);
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
      files,
      schema: schemaDocument(table, layout, this.settings),
    };
    await this.store.put(layout.dir + MANIFEST_FILE, JSON.stringify(manifest, null, 2) + '\n');
  }

  /** Foreign keys are declared in _schema.json already; files have nothing to enforce them. */
  async addForeignKeys(): Promise<void> {}

  private async *rowsOf(
    table: TargetTable,
    range: KeyRange,
    wanted: number[],
    batchRows: number,
  ): AsyncIterable<unknown[][]> {
    const layout = this.layout(table);
    const bounded = range.lower !== undefined || range.upper !== undefined;
    const cmp = bounded ? layout.compare() : [];
    const records = (await this.recordsOf(table)).filter((r) => !bounded || overlaps(r.range, range, cmp));
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
    const records = await this.recordsOf(table);
    if (range.lower === undefined && range.upper === undefined) return records.reduce((n, r) => n + r.rows, 0);
    const exact = records.find((r) => sameRange(r.range, range, layout.compare()));
    if (exact) return exact.rows;
    let n = 0;
    for await (const rows of this.rowsOf(table, range, layout.keyIndexes, 10_000)) n += rows.length;
    return n;
  }

  exists(table: TargetTable): Promise<boolean> {
    return holdsObjects(this.store, this.layout(table).dir);
  }

  /** Removes every object of the table's folder: its files, chunk records, schema and manifest. */
  async drop(table: TargetTable): Promise<void> {
    this.records.delete(table.name);
    this.forgetWritten(this.layout(table));
    await this.store.deleteFolder(this.layout(table).dir);
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
      await this.recordsAt(
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
