// Least privilege for a database file: a source is opened read-only whatever the file allows;
// a target needs to write the file and its folder (SQLite keeps its journal or WAL beside it).
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PrivilegeNeeds } from '../../core/contracts.js';
import type { Finding } from '../../core/types.js';

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The folder a missing file will be created in, or its nearest existing ancestor (created on the way). */
function existingFolder(path: string): string {
  let dir = dirname(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export function privileges(path: string, memory: boolean, needs: PrivilegeNeeds): Finding[] {
  if (memory) return [];
  if (needs.role === 'source')
    return existsSync(path) && writable(path)
      ? [
          {
            severity: 'info',
            code: 'SOURCE_READ_ONLY',
            message: `ferry opens the source ${path} read-only, although this account may write it`,
            action: 'no action needed',
          },
        ]
      : [];
  const folder = existsSync(path) ? dirname(path) : existingFolder(path);
  const blocked = [
    existsSync(path) && !writable(path) ? `the file ${path}` : undefined,
    writable(folder) ? undefined : `the folder ${folder}`,
  ].filter((x): x is string => x !== undefined);
  if (blocked.length === 0) return [];
  return [
    {
      severity: 'error',
      code: 'TARGET_PRIVILEGE',
      message: `this account cannot write ${blocked.join(' or ')}, which the SQLite target needs (its journal lives beside the file)`,
      action: `give the account running ferry write access to ${blocked.join(' and ')} (chmod/chown), or choose another path in the sqlite: URL`,
    },
  ];
}
