// The change files of a table: the live changes one call to applyChanges made to it, in the
// source's commit order, in the table's format (Parquet, NDJSON or CSV), in the table folder's
// _changes/ folder:
//
//   <table>/_changes/<stream id>-<sequence>.changes
//
// Their names end in .changes, not in the data's extension, and the folder starts with "_"
// (which Hive, Spark, Athena and Trino leave out), so readers of the table's data (a glob of
// <table>/**/*.parquet included) never take a change file for data. A record is the change's
// operation, the stream's position after the call, the old key of an update (JSON of canonical
// values), the names of the columns the change does not carry (UNCHANGED: they keep what the
// table holds), and the table's columns, every one nullable (a delete carries its key only).
import { UNCHANGED, type TargetChange } from '../../core/changes.js';
import type { AppliedChange, TargetTable } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { parseType, type Column } from '../../core/types.js';
import { stateParse, stateStringify } from '../../core/values.js';
import type { ObjectStore } from '../../stores/store.js';
import { createWriter, readFile, type FormatSettings } from './formats.js';
import { nativeType } from './typemap.js';

export const CHANGES_DIR = '_changes/';
const SUFFIX = '.changes';
const NAME = /^([0-9a-f]{16})-(\d{12})\.changes$/;

/** The columns a change record has before the table's own. */
const META = ['_ferry_op', '_ferry_position', '_ferry_key', '_ferry_unchanged'] as const;

/** A change file of a table folder, by its name. */
export interface ChangeFileName {
  /** the key relative to the table folder */
  path: string;
  stream: string;
  sequence: number;
}

export function changeFilePath(stream: string, sequence: number): string {
  return `${CHANGES_DIR}${stream}-${String(sequence).padStart(12, '0')}${SUFFIX}`;
}

/** The name's stream and sequence, or undefined for an object that is not a change file (a write's temporary file). */
export function parseChangeFile(dir: string, key: string): ChangeFileName | undefined {
  if (!key.startsWith(dir + CHANGES_DIR)) return undefined;
  const m = NAME.exec(key.slice(dir.length + CHANGES_DIR.length));
  return m ? { path: key.slice(dir.length), stream: m[1]!, sequence: Number(m[2]) } : undefined;
}

/** The columns of a table's change records. */
export function changeColumns(table: TargetTable): Column[] {
  const text = parseType('text');
  const native = nativeType(text).native;
  return [
    ...META.map((name, i) => ({ name, type: text, nativeType: native, nullable: i >= 2 })),
    ...table.columns.map((c) => ({ ...c, nullable: true })),
  ];
}

/** A change as its record: UNCHANGED values are NULL, their columns named in _ferry_unchanged. */
function record(table: TargetTable, keyIndexes: number[], change: TargetChange, position: string): unknown[] {
  switch (change.op) {
    case 'upsert':
      return ['upsert', position, null, null, ...change.row];
    case 'delete': {
      const row = new Array<unknown>(table.columns.length).fill(null);
      keyIndexes.forEach((c, k) => (row[c] = change.key[k]));
      return ['delete', position, null, null, ...row];
    }
    case 'update': {
      const unchanged = table.columns.filter((_c, i) => change.row[i] === UNCHANGED).map((c) => c.name);
      return [
        'update',
        position,
        stateStringify(change.key),
        unchanged.length > 0 ? JSON.stringify(unchanged) : null,
        ...change.row.map((v) => (v === UNCHANGED ? null : v)),
      ];
    }
  }
}

/** The change of a record. */
function changeOf(table: TargetTable, keyIndexes: number[], rec: unknown[]): TargetChange {
  const row = rec.slice(META.length);
  switch (rec[0]) {
    case 'upsert':
      return { op: 'upsert', row };
    case 'delete':
      return { op: 'delete', key: keyIndexes.map((i) => row[i]) };
    case 'update': {
      const unchanged = new Set(rec[3] === null ? [] : (JSON.parse(rec[3] as string) as string[]));
      table.columns.forEach((c, i) => {
        if (unchanged.has(c.name)) row[i] = UNCHANGED;
      });
      return { op: 'update', key: stateParse<unknown[]>(rec[2] as string), row };
    }
    default:
      throw new FerryError(
        'READ_FAILED',
        `a change record of table ${table.name} has the operation ${String(rec[0])}`,
        'check that nothing else wrote to the _changes folder of the table',
      );
  }
}

/**
 * Why a change cannot be applied to the table: a column the plan says is not nullable is NULL
 * in what the change carries. (Values the format cannot hold are refused as the file is written.)
 */
export function changeMisfit(table: TargetTable, change: TargetChange): string | undefined {
  if (change.op === 'delete') return undefined;
  const i = table.columns.findIndex((c, i) => !c.nullable && (change.row[i] === null || change.row[i] === undefined));
  return i < 0 ? undefined : `column ${table.columns[i]!.name} is NULL, and the plan says it is not nullable`;
}

/** Writes one table's change file of a call; the object appears whole or not at all. */
export async function writeChangeFile(
  store: ObjectStore,
  key: string,
  settings: FormatSettings,
  table: TargetTable,
  keyIndexes: number[],
  changes: TargetChange[],
  position: string,
): Promise<void> {
  const upload = store.writer(key);
  const writer = createWriter(
    settings,
    changeColumns(table),
    { 'ferry.table': table.name, 'ferry.changes': 'true' },
    (...b) => upload.write(...b),
  );
  try {
    for (const change of changes) {
      writer.add(record(table, keyIndexes, change, position));
      if (writer.needsFlush) await writer.flushRowGroup();
    }
    await writer.finish();
    await upload.close();
  } catch (err) {
    writer.destroy();
    await upload.abort();
    throw err;
  }
}

/** The changes of a change file, in order, as the table's changes. */
export async function readChangeFile(
  store: ObjectStore,
  key: string,
  settings: Pick<FormatSettings, 'format' | 'gzip'>,
  table: TargetTable,
  keyIndexes: number[],
): Promise<AppliedChange[]> {
  const columns = changeColumns(table);
  const size = await store.size(key);
  const out: AppliedChange[] = [];
  for await (const rows of readFile(
    settings,
    () => store.open(key, size ?? 0),
    () => store.stream(key),
    columns,
    columns.map((_c, i) => i),
    10_000,
  ))
    for (const rec of rows) out.push({ table, change: changeOf(table, keyIndexes, rec) });
  return out;
}
