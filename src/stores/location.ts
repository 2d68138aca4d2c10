// Where a store is: s3://[key:secret@]bucket[/prefix][?params], file:path[?params], or a folder
// path as it is; and the store a location opens.
import { FerryError } from '../core/errors.js';
import { redactUrl, urlParams } from '../core/url.js';
import { FolderStore } from './folder.js';
import type { S3Options } from './options.js';
import { S3Store } from './s3.js';
import type { ObjectStore } from './store.js';

export type StoreLocation =
  | {
      kind: 's3';
      bucket: string;
      /** key prefix inside the bucket, "" or ending with "/" */
      prefix: string;
      credentials?: { accessKeyId: string; secretAccessKey: string };
      params: Record<string, string>;
    }
  | { kind: 'folder'; path: string; params: Record<string, string> };

/** Where a URL puts a store; parameters are left to the caller to check (they are options of different things). */
export function parseLocation(url: string): StoreLocation {
  if (/^s3:/i.test(url)) return parseS3(url);
  if (!/^file:/i.test(url)) return { kind: 'folder', path: url, params: {} };
  const params = Object.fromEntries(urlParams(url));
  const q = url.indexOf('?');
  let path = decodeURIComponent((q >= 0 ? url.slice(0, q) : url).slice('file:'.length));
  if (path.startsWith('//')) path = path.slice(2);
  if (path.trim() === '')
    throw new FerryError(
      'URL_INVALID',
      'the file: URL names no folder',
      'use file:./relative/folder or file:///absolute/folder',
    );
  return { kind: 'folder', path, params };
}

function parseS3(url: string): StoreLocation {
  const q = url.indexOf('?');
  const m = /^s3:\/\/(?:([^:@/]*):([^@/]*)@)?([^/?@]+)\/?(.*)$/i.exec(q >= 0 ? url.slice(0, q) : url);
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
    params: Object.fromEntries(urlParams(url)),
  };
}

/**
 * The store a location names; S3 options apply to an s3:// location only. `ownerOnly`: a folder's
 * files and folders are made readable by their owner only.
 */
export async function openStore(location: StoreLocation, options: S3Options, ownerOnly = false): Promise<ObjectStore> {
  if (location.kind === 'folder') return new FolderStore(location.path, ownerOnly);
  const { bucket, prefix, credentials } = location;
  return S3Store.create({ ...options, bucket, prefix, credentials });
}
