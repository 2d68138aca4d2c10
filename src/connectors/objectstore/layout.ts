// Everything about one table of the object store target that does not change between its
// chunks (its folder, its file settings with the table's options applied, its partitions, how
// its chunk key is ordered, whether it can be written from column batches), and the
// _schema.json document that describes it.
import { daysFromCivil } from '../../core/calendar.js';
import { columnLayout, type ColumnLayout } from '../../core/columns.js';
import type { TargetTable } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { formatType } from '../../core/types.js';
import type { FormatSettings } from './formats.js';
import { compareFor, ORDERED_KINDS, type Compare } from './keys.js';
import { parseTableOptions, type PartitionSpec } from './options.js';
import { columnAppender, type ColumnAppender } from './parquet/columns.js';
import { partitioner } from './partition.js';
import { RowRefused } from './temporal.js';
import { parseNative, type Leaf } from './typemap.js';

/** The target's settings, from its options: the same for every table. */
export interface TargetSettings {
  format: FormatSettings;
  /** compression as the plan names it, for the schema and manifest files */
  compression: string;
  maxPartitionsPerChunk: number;
}

/** Everything about one table that does not change between its chunks. */
export class TableLayout {
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

const INTEGER_LAYOUTS: (ColumnLayout | undefined)[] = ['int32', 'int64'];

/** Parquet counts days in 32 bits and microseconds in 64: about 5.8 million and 292,000 years from 1970. */
export function yearLimit(native: string): number {
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

export function schemaDocument(table: TargetTable, layout: TableLayout, s: TargetSettings): Record<string, unknown> {
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
