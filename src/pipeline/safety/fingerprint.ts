// Table fingerprints: what a table held when a run left it, so that rollback can tell whether
// anything changed it since. Pushed down into the engine where the connector can; otherwise
// a digest of every row read back.
import type { Connector, TableFingerprint, TargetTable } from '../../core/contracts.js';
import { DigestBuilder, digestFingerprint } from '../../core/digest.js';
import { FerryError } from '../../core/errors.js';
import { targetSide } from '../session/sides.js';

/**
 * Whether a table exists in a target. Connectors leave a missing table out of introspect or
 * name it; an embedded database that was not created yet (SQLite) has no tables at all.
 */
export async function tableExists(conn: Connector, name: string): Promise<boolean> {
  try {
    return (await conn.introspect({ tables: [name] })).tables.length > 0;
  } catch (e) {
    if (e instanceof FerryError && (e.code === 'TABLE_NOT_FOUND' || e.code === 'DATABASE_NOT_FOUND')) return false;
    throw e;
  }
}

/** Whether the target holds a table already (as its prepare sees it), by name where the target cannot say. */
export async function tableHeld(conn: Connector, table: TargetTable): Promise<boolean> {
  const target = targetSide(conn);
  return target.exists ? target.exists(table) : tableExists(conn, table.name);
}

export async function fingerprintOf(
  conn: Connector,
  table: TargetTable,
  batchRows: number,
): Promise<TableFingerprint | undefined> {
  const target = targetSide(conn);
  if (target.fingerprint) return target.fingerprint(table);
  if (!(await tableHeld(conn, table))) return undefined;
  const digest = new DigestBuilder(table.columns.map((c) => c.type));
  for await (const batch of target.readBack({ ...table, key: [] }, {}, batchRows))
    for (const row of batch.rows) digest.add(row);
  return digestFingerprint(digest.result());
}

export function sameFingerprint(a: TableFingerprint, b: TableFingerprint): boolean {
  return a.rows === b.rows && a.hash === b.hash;
}
