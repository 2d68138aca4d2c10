// What rollback and the dry run need of a table folder: whether it holds anything, what it
// holds (a fingerprint), and where a dry run puts its scratch copy of a table.
import { createHash } from 'node:crypto';
import type { TableFingerprint, TargetTable } from '../../core/contracts.js';
import type { ListedObject, ObjectStore } from '../../stores/store.js';

/** Whether any object is under the folder prefix. */
export async function holdsObjects(store: ObjectStore, dir: string): Promise<boolean> {
  for await (const _ of store.list(dir)) return true;
  return false;
}

/** What a chunk record says of its files (target.ts writes them). */
interface RecordedChunk {
  rows: number;
  files: { path: string; sha256: string }[];
}

/**
 * A table folder's fingerprint: the rows its chunk records count, and a hash over every object
 * under the folder (key, size, version) and the checksums the records give of the data files,
 * so an object added, removed or written again changes it. Undefined when the folder is empty.
 */
export function folderFingerprint(listed: ListedObject[], records: RecordedChunk[]): TableFingerprint | undefined {
  if (listed.length === 0) return undefined;
  const objects = listed.map((o) => `${o.key}\t${o.size}\t${o.version}`);
  const checksums = records.flatMap((r) => r.files.map((f) => `${f.path}\t${f.sha256}`));
  const hash = createHash('sha256');
  for (const line of [...objects.sort(), '', ...checksums.sort()]) hash.update(`${line}\n`);
  return { rows: records.reduce((n, r) => n + r.rows, 0), hash: `objects:${hash.digest('hex')}` };
}

/**
 * A dry run's copy of a table: the table's folder inside a scratch folder named by the suffix
 * (__ferrytest_3fa9c1/orders/), not a suffixed folder beside the real ones (orders__ferrytest_…/),
 * which a reader of the lake listing its table folders would take for a table. Hive, Spark and
 * Athena skip folders whose name starts with "_"; the layout code takes the nested name as it is.
 */
export function scratchTable(table: TargetTable, suffix: string): TargetTable {
  const folder = suffix.startsWith('_') ? suffix : `_${suffix}`;
  return { ...table, name: `${folder}/${table.name}` };
}
