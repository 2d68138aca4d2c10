// The format of a backup: a folder (or an S3 prefix) named by the backup's id, one sealed file
// per chunk of the plan, and a manifest written last (see docs/safety.md):
//
//   <id>/manifest.json                               tables, row counts, files, SHA-256, key id
//   <id>/source/001-customer/000001.ndjson.gz.sealed
//   <id>/target/001-customer/000001.ndjson.gz.sealed
//
// Rows are canonical values as JSON lines, gzip-compressed, then sealed (sealed.ts).
import { randomBytes } from 'node:crypto';
import type { Connector, TargetTable } from '../../../core/contracts.js';
import { formatType, parseType, type KeyRange, type TableInfo } from '../../../core/types.js';
import { stateParse } from '../../../core/values.js';

export const MANIFEST = 'manifest.json';
export const FORMAT = 'ferry-backup';
export const FORMAT_VERSION = 1;

export interface ColumnDefinition {
  name: string;
  /** canonical type text */
  type: string;
  nativeType: string;
  nullable: boolean;
  default?: string;
  autoIncrement?: boolean;
}

export interface TableDefinition {
  columns: ColumnDefinition[];
  primaryKey: string[];
  uniqueKeys: string[][];
  indexes: TableInfo['indexes'];
  foreignKeys: TableInfo['foreignKeys'];
}

export interface BackupFile {
  path: string;
  rows: number;
  /** size and SHA-256 of the sealed file as stored */
  bytes: number;
  sha256: string;
  /** the key range the file holds (stateStringify of a KeyRange) */
  range: string;
}

export interface BackupTable {
  name: string;
  definition: TableDefinition;
  /** the columns the file ranges are over */
  key: string[];
  rows: number;
  files: BackupFile[];
}

export interface BackupPart {
  side: 'source' | 'target';
  /** connector kind: postgres, mysql, sqlite */
  engine: string;
  version: string;
  /** the endpoint as the plan writes it, secrets as references */
  url: string;
  tables: BackupTable[];
}

export interface Manifest {
  format: typeof FORMAT;
  version: typeof FORMAT_VERSION;
  id: string;
  created: string;
  plan: { file: string; hash: string };
  runId: string;
  /** names the key the backup was made with, never the key */
  keyId: string;
  cipher: 'aes-256-gcm';
  compression: 'gzip';
  rows: 'ndjson';
  parts: BackupPart[];
  /** HMAC-SHA256 of the manifest without this field, with a key derived from the backup key */
  mac: string;
}

/** The folder of a backup's `n`th table (from 1) of one side. */
export function tableFolder(side: BackupPart['side'], n: number, name: string): string {
  return `${side}/${String(n).padStart(3, '0')}-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** The `n`th file (from 1) of a table folder. */
export function dataFile(folder: string, n: number): string {
  return `${folder}/${String(n).padStart(6, '0')}.ndjson.gz.sealed`;
}

/** A backup's id: when it was made, and random. */
export function newBackupId(): string {
  return `${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

export function definitionOf(
  t: Pick<TableInfo, 'columns' | 'primaryKey' | 'uniqueKeys' | 'indexes' | 'foreignKeys'>,
): TableDefinition {
  return {
    columns: t.columns.map((c) => ({
      name: c.name,
      type: formatType(c.type),
      nativeType: c.nativeType,
      nullable: c.nullable,
      ...(c.default !== undefined ? { default: c.default } : {}),
      ...(c.autoIncrement ? { autoIncrement: true } : {}),
    })),
    primaryKey: t.primaryKey,
    uniqueKeys: t.uniqueKeys,
    indexes: t.indexes.filter((i) => !i.expression),
    foreignKeys: t.foreignKeys,
  };
}

/** A target table for a backed-up definition, in the native types of the connector it goes to. */
export function targetTableOf(
  def: TableDefinition,
  name: string,
  key: string[],
  conn: Connector,
  fromEngine: string,
): TargetTable {
  const same = conn.kind === fromEngine;
  return {
    name,
    columns: def.columns.map((c) => {
      const nativeType = same ? c.nativeType : conn.nativeType(parseType(c.type)).native;
      return {
        name: c.name,
        type: conn.canonicalType(nativeType),
        nativeType,
        nullable: c.nullable,
        // defaults are expressions of the engine they came from
        ...(same && c.default !== undefined ? { default: c.default } : {}),
        ...(c.autoIncrement ? { autoIncrement: true } : {}),
      };
    }),
    primaryKey: def.primaryKey,
    key,
    uniqueKeys: def.uniqueKeys,
    indexes: def.indexes,
    foreignKeys: def.foreignKeys,
  };
}

/** A ranged file entry's key range. */
export function fileRange(f: BackupFile): KeyRange {
  return stateParse<KeyRange>(f.range);
}
