// What an S3 request that failed (after the SDK's own retries) tells the user: one line saying
// what was being done, why it failed and what to do; transient when a later attempt may pass.
import { FerryError, type ErrorCode } from '../core/errors.js';

/** The S3 permission an operation needs, for the message of an AccessDenied. */
export type S3Action = 's3:ListBucket' | 's3:PutObject' | 's3:GetObject' | 's3:DeleteObject';

/** Where the requests went, for the messages. */
export interface S3Place {
  bucket: string;
  /** key prefix inside the bucket, "" or ending with "/" */
  prefix: string;
  region?: string;
  endpoint?: string;
  expectedBucketOwner?: string;
}

const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'TimeoutError',
  'RequestTimeoutException',
  'NetworkingError',
]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

export interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  Code?: string;
}

/** A FerryError for an SDK error: what was being done, why it failed, what to do. */
export function s3Error(
  err: unknown,
  place: S3Place,
  what: string,
  action: S3Action,
  code: ErrorCode = 'WRITE_FAILED',
): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as SdkError;
  const name = e.name ?? e.Code ?? '';
  const status = e.$metadata?.httpStatusCode;
  const where = place.endpoint ? ` at ${place.endpoint}` : '';
  const first = (e.message ?? String(err)).split('\n')[0]!;
  const mk = (c: ErrorCode, message: string, act: string, transient = false) =>
    new FerryError(c, message, act, { transient, cause: err });
  switch (name) {
    case 'NoSuchBucket':
      return mk(
        'DATABASE_NOT_FOUND',
        `bucket ${place.bucket} does not exist${where}`,
        'create the bucket, or correct the bucket name in the URL (s3://bucket/prefix)',
      );
    case 'InvalidAccessKeyId':
      return mk(
        'AUTH_FAILED',
        `the S3 endpoint${where} does not know the access key id`,
        'check AWS_ACCESS_KEY_ID (or AWS_PROFILE, or the credentials in the URL)',
      );
    case 'SignatureDoesNotMatch':
      return mk(
        'AUTH_FAILED',
        `the S3 endpoint${where} refused the secret access key`,
        'check AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or the credentials in the URL)',
      );
    case 'ExpiredToken':
    case 'InvalidToken':
    case 'TokenRefreshRequired':
      return mk(
        'AUTH_FAILED',
        `the S3 session token is expired or invalid${where}`,
        'renew the credentials (AWS_SESSION_TOKEN, aws sso login, …)',
      );
    case 'CredentialsProviderError':
      return mk(
        'AUTH_FAILED',
        'no AWS credentials were found',
        'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an instance or task role applies',
      );
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return mk(
        'AUTH_FAILED',
        `access denied ${what}`,
        `grant the credentials ${action} on arn:aws:s3:::${place.bucket}${action === 's3:ListBucket' ? '' : `/${place.prefix}*`}${place.expectedBucketOwner ? `, and check that account ${place.expectedBucketOwner} owns the bucket` : ''}`,
      );
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return mk(
        'CONNECT_FAILED',
        `bucket ${place.bucket} is in another region than ${place.region ?? 'the default one'}`,
        'set region=<the bucket region> in the URL (an object store target also takes it in target.options)',
      );
    case 'InvalidBucketName':
      return mk(
        'URL_INVALID',
        `"${place.bucket}" is not a valid bucket name`,
        'correct the bucket name in the URL (s3://bucket/prefix)',
      );
    case 'KMS.NotFoundException':
    case 'KMS.DisabledException':
    case 'KMS.AccessDeniedException':
      return mk(
        'AUTH_FAILED',
        `the KMS key refused the encryption ${what}: ${first}`,
        'check kmsKeyId and the key policy',
      );
  }
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND')
    return mk(
      'CONNECT_FAILED',
      `cannot reach the S3 endpoint${where || ` of region ${place.region ?? 'us-east-1'}`} (${e.code})`,
      'check the endpoint and that the server is running',
      true,
    );
  if (TRANSIENT_NAMES.has(name) || TRANSIENT_CODES.has(e.code ?? '') || (status !== undefined && status >= 500))
    return mk(
      code,
      `${what}: ${name || e.code || 'error'}: ${first}`,
      'ferry retries this; if it persists, check the S3 endpoint',
      true,
    );
  if (status === 403)
    return mk(
      'AUTH_FAILED',
      `access denied ${what} (${name || 'HTTP 403'})`,
      `grant the credentials ${action} on arn:aws:s3:::${place.bucket}/${place.prefix}*`,
    );
  return mk(code, `${what}: ${name ? `${name}: ` : ''}${first}`, 'check the S3 endpoint and the bucket settings');
}
