// Reading a backup: its manifest, checked to be of this key and unchanged, and the rows of each
// file, checked against the manifest (size, SHA-256, authentication, row count) as they are read.
import { pipeline, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { FerryError } from '../../../core/errors.js';
import { stateParse } from '../../../core/values.js';
import { Tally, type ObjectStore } from '../../../stores/store.js';
import { FORMAT, FORMAT_VERSION, MANIFEST, type BackupFile, type Manifest } from './format.js';
import { openBackupLocation } from './location.js';
import { loadKey, manifestMac, OpenStream, type BackupKey, type KeySource } from './sealed.js';

export interface OpenedBackup {
  /** the location it was opened at */
  location: string;
  /** its files; closed by whoever opened the backup */
  store: ObjectStore;
  manifest: Manifest;
  key: BackupKey;
}

/** Reads a backup's manifest and checks it was made with this key and not changed since. */
export async function openBackup(location: string, keySource: KeySource): Promise<OpenedBackup> {
  const key = loadKey(keySource);
  const store = await openBackupLocation(location);
  try {
    return { location, store, key, manifest: await readManifest(store, key) };
  } catch (e) {
    await store.close();
    throw e;
  }
}

async function readManifest(store: ObjectStore, key: BackupKey): Promise<Manifest> {
  const text = (await store.get(MANIFEST))?.toString('utf8');
  if (text === undefined)
    throw new FerryError(
      'BACKUP_INVALID',
      `${store.location} is not a complete ferry backup (${MANIFEST} is missing)`,
      'give the folder of one backup (…/<backup id>), and use another backup if this one did not finish',
    );
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch {
    throw new FerryError(
      'BACKUP_INVALID',
      `${store.location}${MANIFEST} is not valid JSON (it was changed or damaged)`,
      'use another backup',
    );
  }
  if (manifest.format !== FORMAT || manifest.version !== FORMAT_VERSION)
    throw new FerryError(
      'BACKUP_INVALID',
      `${store.location}${MANIFEST} is not a ferry backup manifest of version ${FORMAT_VERSION}`,
      'use the ferry version that made the backup',
    );
  if (manifest.keyId !== key.id)
    throw new FerryError(
      'SECRET_MISSING',
      `the key given is not the key of backup ${manifest.id} (it was made with key id ${manifest.keyId}; this key's id is ${key.id})`,
      'give the key the backup was made with (--key-env or --key-file)',
    );
  const { mac, ...body } = manifest;
  if (manifestMac(key, JSON.stringify(body)) !== mac)
    throw new FerryError(
      'BACKUP_INVALID',
      `${store.location}${MANIFEST} was changed after the backup was made (its authentication code does not match)`,
      'the backup cannot be trusted: use another backup',
    );
  return manifest;
}

/** The rows of one backed-up file, checked against its size, hash and row count on the way. */
export async function* backupRows(b: OpenedBackup, file: BackupFile, batchRows: number): AsyncIterable<unknown[][]> {
  const where = b.store.location + file.path;
  const size = await b.store.size(file.path);
  if (size === undefined)
    throw new FerryError('BACKUP_INVALID', `${where} is missing`, 'the backup is incomplete: use another backup');
  if (size !== file.bytes)
    throw new FerryError(
      'BACKUP_INVALID',
      `${where} is ${size} bytes, the manifest says ${file.bytes} (it was ${size < file.bytes ? 'cut off' : 'changed'})`,
      'the backup cannot be trusted: use another backup',
    );
  const tally = new Tally();
  const sealed = async function* (): AsyncIterable<Buffer> {
    for await (const chunk of b.store.stream(file.path)) {
      tally.add(chunk);
      yield chunk;
    }
  };
  // pipeline() passes an error of any stage (a frame that fails authentication) to the last one
  const plain = pipeline(Readable.from(sealed()), new OpenStream(b.key, where), createGunzip(), () => {});
  // a character may be split between two chunks
  const text = new StringDecoder('utf8');
  let rest = '';
  let rows = 0;
  let batch: unknown[][] = [];
  try {
    for await (const chunk of plain) {
      const lines = (rest + text.write(chunk as Buffer)).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        batch.push(stateParse<unknown[]>(line));
        if (batch.length >= batchRows) {
          rows += batch.length;
          yield batch;
          batch = [];
        }
      }
    }
  } catch (e) {
    if (e instanceof FerryError) throw e;
    throw new FerryError(
      'BACKUP_INVALID',
      `${where} cannot be read: ${(e as Error).message}`,
      'the backup cannot be trusted: use another backup',
      { cause: e },
    );
  }
  rest += text.end();
  if (rest !== '')
    throw new FerryError(
      'BACKUP_INVALID',
      `${where} ends inside a row`,
      'the backup cannot be trusted: use another backup',
    );
  if (batch.length > 0) {
    rows += batch.length;
    yield batch;
  }
  if (tally.result().sha256 !== file.sha256)
    throw new FerryError(
      'BACKUP_INVALID',
      `${where} was changed (its SHA-256 does not match the manifest)`,
      'the backup cannot be trusted: use another backup',
    );
  if (rows !== file.rows)
    throw new FerryError(
      'BACKUP_INVALID',
      `${where} holds ${rows} rows, the manifest says ${file.rows}`,
      'the backup cannot be trusted: use another backup',
    );
}
