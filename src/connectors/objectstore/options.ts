// Endpoint URLs and options of the object store target. Every target option may be given as
// a URL parameter (s3://bucket/prefix?format=ndjson&region=eu-west-1) or in the plan's
// target.options (which wins); table options come from the plan's table `options`.
import { z } from 'zod';
import { FerryError } from '../../core/errors.js';
import { redactUrl, urlParams } from '../../core/url.js';

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "64MiB", "128 MB", "1048576" or a number of bytes. */
function parseSize(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(v.trim())!;
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
}

const size = z
  .union([
    z.number().int().positive(),
    z.string().regex(/^\d+(\.\d+)?\s*([kmgKMG]i?[bB]|[bB])?$/, 'a size such as 64MiB, 128MB or a number of bytes'),
  ])
  .transform(parseSize);
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const integer = (min: number, max: number) => {
  const error = `a whole number from ${min} to ${max}`;
  return z
    .union(
      [
        z.number(),
        z
          .string()
          .regex(/^-?\d+$/)
          .transform(Number),
      ],
      { error },
    )
    .pipe(z.number().int({ error }).min(min, { error }).max(max, { error }));
};

const MiB = 1024 * 1024;

export const TargetOptionsSchema = z.strictObject({
  format: z.enum(['parquet', 'ndjson', 'csv']).default('parquet').describe('file format'),
  compression: z
    .enum(['zstd', 'snappy', 'gzip', 'none'])
    .optional()
    .describe('parquet: zstd (default), snappy or none; ndjson/csv: gzip or none (default)'),
  compressionLevel: integer(-7, 22).optional().describe('zstd 1..22 (default 3), gzip 1..9 (default 6)'),
  timestampUnit: z
    .enum(['micros', 'millis'])
    .default('micros')
    .describe('unit of Parquet timestamps: millis for Athena and Glue'),
  rowGroupSize: size.default(64 * MiB).describe('uncompressed bytes per Parquet row group'),
  rowGroupRows: integer(1, 1e9).default(1_000_000).describe('most rows per Parquet row group'),
  fileSize: size.default(512 * MiB).describe('size at which a chunk starts a new file'),
  // a quarter of the usual 1 MiB: each open column holds a page, and chunks write in parallel (files grow about 3%)
  pageSize: size.default(256 * 1024).describe('uncompressed bytes per Parquet page'),
  maxPartitionsPerChunk: integer(1, 100_000)
    .default(1000)
    .describe('partitions one chunk may write before the run stops'),
  region: z.string().min(1).optional(),
  endpoint: z.string().url().optional().describe('S3-compatible endpoint, e.g. http://127.0.0.1:9000'),
  forcePathStyle: flag.default(false).describe('bucket in the path, not the host name (MinIO and most local servers)'),
  sse: z
    .enum(['AES256', 'aws:kms', 'SSE-S3', 'SSE-KMS'])
    .transform((v) => (v === 'SSE-S3' ? 'AES256' : v === 'SSE-KMS' ? 'aws:kms' : v))
    .optional()
    .describe('server-side encryption: AES256 (SSE-S3) or aws:kms (SSE-KMS)'),
  kmsKeyId: z.string().min(1).optional().describe('KMS key id or ARN for SSE-KMS'),
  expectedBucketOwner: z
    .string()
    .regex(/^\d{12}$/, 'a 12-digit AWS account id')
    .optional(),
  partSize: size
    .pipe(z.number().min(5 * MiB, 'at least 5MiB (the S3 minimum)'))
    .default(8 * MiB)
    .describe('multipart upload part size'),
  uploadConcurrency: integer(1, 64).default(4).describe('parts of one file uploaded at once'),
  maxAttempts: integer(1, 20).default(5).describe('attempts of each S3 request (retries with backoff)'),
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
  rowGroupSize: size.optional(),
  rowGroupRows: integer(1, 1e9).optional(),
  fileSize: size.optional(),
});

export type TableOptions = z.output<typeof TableOptionsSchema>;
export type PartitionSpec = { column: string; by: (typeof PARTITION_GRANULARITIES)[number] };

function issueText(error: z.ZodError, where: string): string {
  const i = error.issues[0]!;
  const path = i.path.join('.');
  if (i.code === 'unrecognized_keys') return `${where}: unknown option ${i.keys.join(', ')}`;
  return `${where}${path ? ` ${path}` : ''}: ${i.message}`;
}

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
      issueText(r.error, 'target option'),
      `target options (URL parameters or target.options) are ${ALLOWED}`,
    );
  const o = r.data;
  if (o.kmsKeyId && !o.sse) o.sse = 'aws:kms';
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
      issueText(r.error, `options of table ${table}`),
      `table options are partitionBy (a column, or {column, by: ${PARTITION_GRANULARITIES.join('|')}}), rowGroupSize, rowGroupRows, fileSize`,
    );
  const p = r.data.partitionBy;
  const partitions = (p === undefined ? [] : Array.isArray(p) ? p : [p]).map((s) =>
    typeof s === 'string' ? { column: s, by: 'value' as const } : s,
  );
  return { options: r.data, partitions };
}

export type Endpoint =
  | {
      kind: 's3';
      bucket: string;
      prefix: string;
      credentials?: { accessKeyId: string; secretAccessKey: string };
      params: Record<string, string>;
    }
  | { kind: 'folder'; path: string; params: Record<string, string> };

/** s3://[key:secret@]bucket[/prefix][?params] or file:path[?params]. */
export function parseEndpoint(url: string): Endpoint {
  const params = Object.fromEntries(urlParams(url));
  const q = url.indexOf('?');
  const bare = q >= 0 ? url.slice(0, q) : url;
  if (/^file:/i.test(bare)) {
    let path = decodeURIComponent(bare.slice('file:'.length));
    if (path.startsWith('//')) path = path.slice(2);
    if (path.trim() === '')
      throw new FerryError(
        'URL_INVALID',
        'the file: URL names no folder',
        'use file:./relative/folder or file:///absolute/folder',
      );
    return { kind: 'folder', path, params };
  }
  const m = /^s3:\/\/(?:([^:@/]*):([^@/]*)@)?([^/?]+)\/?(.*)$/i.exec(bare);
  if (!m)
    throw new FerryError(
      'URL_INVALID',
      `"${redactUrl(url)}" is not an S3 URL`,
      'use s3://bucket/prefix (credentials come from the AWS credential chain)',
    );
  const prefix = m[4]!.replace(/\/+$/, '');
  return {
    kind: 's3',
    bucket: m[3]!,
    prefix: prefix === '' ? '' : `${prefix}/`,
    credentials: m[1]
      ? { accessKeyId: decodeURIComponent(m[1]), secretAccessKey: decodeURIComponent(m[2]!) }
      : undefined,
    params,
  };
}
