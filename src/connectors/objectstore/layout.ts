// Everything about one table of the object store target that does not change between its
// chunks (its folder, its file settings with the table's options applied, its partitions, how
// its chunk key is ordered, whether it can be written from column batches), and the
// _schema.json document that describes it.
import { columnLayout, type ColumnLayout } from '../../core/columns.js';
import type { TargetTable } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { formatType } from '../../core/types.js';
import type { FormatSettings } from './formats.js';
import { compareFor, ORDERED_KINDS, type Compare } from './keys.js';
import { parseTableOptions, type PartitionSpec } from './options.js';
import { flatColumnAppenders } from './parquet/columns.js';
import { partitioner } from './partition.js';

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
  /** whether the table can be written from column batches */
  readonly columnar: boolean;

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
    this.columnar = takesColumns(this);
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
 * Whether the table can be written from column batches: no partitions, repeated primary keys
 * found in columns (one integer key column), and for Parquet every column with a layout its
 * leaf takes as it is (parquet/columns.ts); NDJSON and CSV take every layout (formats.ts).
 */
function takesColumns(layout: TableLayout): boolean {
  const { table } = layout;
  if (layout.partitions.length > 0) return false;
  const unique = layout.uniqueIndexes;
  if (unique && (unique.length !== 1 || !INTEGER_LAYOUTS.includes(columnLayout(table.columns[unique[0]!]!.type)!)))
    return false;
  if (layout.settings.format !== 'parquet') return table.columns.every((c) => columnLayout(c.type) !== undefined);
  return flatColumnAppenders(table.columns) !== undefined;
}

const INTEGER_LAYOUTS: (ColumnLayout | undefined)[] = ['int32', 'int64'];

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
