// `ferry backup verify LOCATION`: every check a restore makes as it reads, without loading
// anything: each problem is one line naming the file.
import { FerryError } from '../../../core/errors.js';
import { backupRows, openBackup, type OpenedBackup } from './reader.js';
import type { KeySource } from './sealed.js';

export interface BackupCheck {
  id: string;
  location: string;
  ok: boolean;
  tables: number;
  files: number;
  rows: number;
  /** one line per problem, naming the file */
  problems: string[];
}

/** `ferry backup verify LOCATION`: the manifest, then every file: present, same size and hash, decrypts, row count. */
export async function verifyBackup(location: string, keySource: KeySource = {}): Promise<BackupCheck> {
  let b: OpenedBackup;
  try {
    b = await openBackup(location, keySource);
  } catch (e) {
    if (e instanceof FerryError && e.code === 'BACKUP_INVALID')
      return { id: '?', location, ok: false, tables: 0, files: 0, rows: 0, problems: [e.message] };
    throw e;
  }
  try {
    return await verifyFiles(b);
  } finally {
    await b.store.close();
  }
}

async function verifyFiles(b: OpenedBackup): Promise<BackupCheck> {
  const problems: string[] = [];
  let files = 0;
  let rows = 0;
  const tables = b.manifest.parts.flatMap((p) => p.tables);
  for (const t of tables)
    for (const f of t.files) {
      files++;
      try {
        for await (const batch of backupRows(b, f, 10_000)) rows += batch.length;
      } catch (e) {
        if (!(e instanceof FerryError) || e.code !== 'BACKUP_INVALID') throw e;
        problems.push(e.message);
      }
    }
  return {
    id: b.manifest.id,
    location: b.location,
    ok: problems.length === 0,
    tables: tables.length,
    files,
    rows,
    problems,
  };
}
