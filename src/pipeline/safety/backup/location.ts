// Where backups are kept: a folder path, file:path, or s3://bucket/prefix?region=…&endpoint=…
// (any option of the S3 store), opened as a store of src/stores/. A location is recorded in the
// state and the audit log, so it never holds credentials: S3 credentials come from the AWS chain.
// Its parameters may be ${env:…}/${file:…} references, resolved when it is opened.
import { isAbsolute, join, relative, resolve } from 'node:path';
import { FerryError } from '../../../core/errors.js';
import { optionIssue } from '../../../core/options.js';
import { hasLiteralPassword, redact, resolveSecretsIn } from '../../../core/secrets.js';
import { openStore, parseLocation, type StoreLocation } from '../../../stores/location.js';
import { S3OptionsSchema, type S3Options } from '../../../stores/options.js';
import type { ObjectStore } from '../../../stores/store.js';
import type { KeySource } from './sealed.js';

const S3_PARAMETERS = Object.keys(S3OptionsSchema.shape).join(', ');

/** A backup location, checked: no credentials, and only the S3 store's options as parameters of an s3:// one. */
function parseBackupLocation(location: string): { where: StoreLocation; options: S3Options } {
  if (hasLiteralPassword(location) || /^s3:\/\/[^/?]*@/i.test(location))
    throw new FerryError(
      'URL_INVALID',
      `the backup location ${redact(location)} holds credentials`,
      'leave them out: ferry takes S3 credentials from the AWS credential chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, a role)',
    );
  const where = parseLocation(location);
  if (where.kind === 'folder') {
    if (Object.keys(where.params).length > 0)
      throw new FerryError(
        'URL_INVALID',
        `the backup location ${redact(location)} is a folder, which takes no parameters`,
        'leave out the parameters (?…): they are options of s3:// locations',
      );
    return { where: { ...where, path: resolve(where.path) }, options: S3OptionsSchema.parse({}) };
  }
  const options = S3OptionsSchema.safeParse(resolveSecretsIn(where.params));
  if (!options.success)
    throw new FerryError(
      'URL_INVALID',
      optionIssue(options.error, `backup location ${redact(location)}`),
      `the parameters of an s3:// backup location are ${S3_PARAMETERS}`,
    );
  return { where, options: options.data };
}

/** The store of a backup location: the folder (its owner's alone) or S3 prefix that holds backups, or one backup. */
export async function openBackupLocation(location: string): Promise<ObjectStore> {
  const { where, options } = parseBackupLocation(location);
  return openStore(where, options, true);
}

/** The location of backup `id` in the backups location `root`, with root's parameters. */
export function backupLocation(root: string, id: string): string {
  const { where } = parseBackupLocation(root);
  if (where.kind === 'folder') return join(where.path, id);
  const q = root.indexOf('?');
  return `${(q >= 0 ? root.slice(0, q) : root).replace(/\/+$/, '')}/${id}${q >= 0 ? root.slice(q) : ''}`;
}

/** Refuses a key file kept inside a backup folder: a backup and its key never travel together. */
export function checkKeyPlace(key: KeySource, root: string): void {
  const { where } = parseBackupLocation(root);
  if (!key.file || where.kind !== 'folder') return;
  const rel = relative(where.path, resolve(key.file));
  if (!rel.startsWith('..') && !isAbsolute(rel))
    throw new FerryError(
      'PLAN_INVALID',
      `the backup key file ${key.file} is inside the backup folder ${where.path}`,
      'keep the key away from the backups (another disk, a secret manager): move it and point keyFile at the new place',
    );
}
