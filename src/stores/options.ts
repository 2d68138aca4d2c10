// The options of an S3 store, given as URL parameters (s3://bucket/prefix?region=eu-west-1) or,
// for an object store target, in the plan's target.options too.
import { z } from 'zod';
import { flagOption, MiB, sizeOption, wholeNumberOption } from '../core/options.js';

export const S3OptionsSchema = z.strictObject({
  region: z.string().min(1).optional(),
  endpoint: z.string().url().optional().describe('S3-compatible endpoint, e.g. http://127.0.0.1:9000'),
  forcePathStyle: flagOption
    .default(false)
    .describe('bucket in the path, not the host name (MinIO and most local servers)'),
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
  partSize: sizeOption
    .pipe(z.number().min(5 * MiB, 'at least 5MiB (the S3 minimum)'))
    .default(8 * MiB)
    .describe('multipart upload part size'),
  uploadConcurrency: wholeNumberOption(1, 64).default(4).describe('parts of one file uploaded at once'),
  maxAttempts: wholeNumberOption(1, 20).default(5).describe('attempts of each S3 request (retries with backoff)'),
});

export type S3Options = z.output<typeof S3OptionsSchema>;
