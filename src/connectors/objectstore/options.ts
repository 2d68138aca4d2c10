// Options of the object store target. Every target option may be given as a URL parameter
// (s3://bucket/prefix?format=ndjson&region=eu-west-1) or in the plan's target.options (which
// wins); the S3 ones are the S3 store's (stores/options.ts). Table options come from the
// plan's table `options`.
import { z } from 'zod';
import { FerryError } from '../../core/errors.js';
import { MiB, optionIssue, sizeOption, wholeNumberOption } from '../../core/options.js';
import { S3OptionsSchema } from '../../stores/options.js';

export const TargetOptionsSchema = z.strictObject({
  format: z.enum(['parquet', 'ndjson', 'csv']).default('parquet').describe('file format'),
  compression: z
    .enum(['zstd', 'snappy', 'gzip', 'none'])
    .optional()
    .describe('parquet: zstd (default), snappy or none; ndjson/csv: gzip or none (default)'),
  compressionLevel: wholeNumberOption(-7, 22).optional().describe('zstd 1..22 (default 3), gzip 1..9 (default 6)'),
  timestampUnit: z
    .enum(['micros', 'millis'])
    .default('micros')
    .describe('unit of Parquet timestamps: millis for Athena and Glue'),
  rowGroupSize: sizeOption.default(64 * MiB).describe('uncompressed bytes per Parquet row group'),
  rowGroupRows: wholeNumberOption(1, 1e9).default(1_000_000).describe('most rows per Parquet row group'),
  fileSize: sizeOption.default(512 * MiB).describe('size at which a chunk starts a new file'),
  // a quarter of the usual 1 MiB: each open column holds a page, and chunks write in parallel (files grow about 3%)
  pageSize: sizeOption.default(256 * 1024).describe('uncompressed bytes per Parquet page'),
  maxPartitionsPerChunk: wholeNumberOption(1, 100_000)
    .default(1000)
    .describe('partitions one chunk may write before the run stops'),
  ...S3OptionsSchema.shape,
});

export type TargetOptions = z.output<typeof TargetOptionsSchema>;

export const PARTITION_GRANULARITIES = ['value', 'year', 'month', 'day', 'hour'] as const;
const PartitionSpecSchema = z.union([
  z.string().min(1),
  z.strictObject({ column: z.string().min(1), by: z.enum(PARTITION_GRANULARITIES).default('value') }),
]);

export const TableOptionsSchema = z.strictObject({
  partitionBy: z
    .union([PartitionSpecSchema, z.array(PartitionSpecSchema).min(1)])
    .optional()
    .describe('Hive-style folders: a column, or {column, by: year|month|day|hour}'),
  rowGroupSize: sizeOption.optional(),
  rowGroupRows: wholeNumberOption(1, 1e9).optional(),
  fileSize: sizeOption.optional(),
});

export type TableOptions = z.output<typeof TableOptionsSchema>;
export type PartitionSpec = { column: string; by: (typeof PARTITION_GRANULARITIES)[number] };

const ALLOWED = Object.keys(TargetOptionsSchema.shape).join(', ');

export function parseTargetOptions(
  fromUrl: Record<string, string>,
  fromPlan: Record<string, unknown> | undefined,
): TargetOptions {
  const merged = { ...fromUrl, ...(fromPlan ?? {}) };
  const r = TargetOptionsSchema.safeParse(merged);
  if (!r.success)
    throw new FerryError(
      'PLAN_INVALID',
      optionIssue(r.error, 'target option'),
      `target options (URL parameters or target.options) are ${ALLOWED}`,
    );
  const o = r.data;
  const parquet = ['zstd', 'snappy', 'none'];
  const text = ['gzip', 'none'];
  if (o.compression && !(o.format === 'parquet' ? parquet : text).includes(o.compression))
    throw new FerryError(
      'PLAN_INVALID',
      `target option compression: ${o.compression} does not apply to ${o.format} files`,
      `use ${(o.format === 'parquet' ? parquet : text).join(' or ')}`,
    );
  return o;
}

export function parseTableOptions(
  table: string,
  options: Record<string, unknown> | undefined,
): { options: TableOptions; partitions: PartitionSpec[] } {
  const r = TableOptionsSchema.safeParse(options ?? {});
  if (!r.success)
    throw new FerryError(
      'PLAN_INVALID',
      optionIssue(r.error, `options of table ${table}`),
      `table options are partitionBy (a column, or {column, by: ${PARTITION_GRANULARITIES.join('|')}}), rowGroupSize, rowGroupRows, fileSize`,
    );
  const p = r.data.partitionBy;
  const partitions = (p === undefined ? [] : Array.isArray(p) ? p : [p]).map((s) =>
    typeof s === 'string' ? { column: s, by: 'value' as const } : s,
  );
  return { options: r.data, partitions };
}
