// Hive-style partition folders ("country=de/", "year=2024/month=05/") for a table's rows.
import type { TargetTable } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { normalizeDecimal } from '../../core/values.js';
import type { PartitionSpec } from './options.js';
import { dateFields } from './temporal.js';

/** Hive's name for the folder of NULL values. */
export const NULL_PARTITION = '__HIVE_DEFAULT_PARTITION__';

// the characters Hive escapes in partition values (FileUtils.escapePathName), and "%" itself
const ESCAPE = /[\x00-\x1f"#%'*/:=?\\\x7f{[\]^]/g;

export function escapePartitionValue(s: string): string {
  return s.replace(ESCAPE, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

const TWO = (n: number) => String(n).padStart(2, '0');

function valueText(v: unknown, kind: string): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
  return kind === 'decimal' ? normalizeDecimal(String(v)) : String(v);
}

const TIME_PARTS = { year: 1, month: 2, day: 3, hour: 4 } as const;
// partition paths remembered per column; a column with more values than this is forgotten and refilled
const CACHE_LIMIT = 10_000;

/** Checks the specs against the table; returns the folder of a row ("" when not partitioned). */
export function partitioner(table: TargetTable, specs: PartitionSpec[]): (row: unknown[]) => string {
  if (specs.length === 0) return () => '';
  const timeSpecs = specs.filter((s) => s.by !== 'value');
  if (timeSpecs.length > 1)
    throw new FerryError(
      'PLAN_INVALID',
      `options of table ${table.name}: partitionBy has ${timeSpecs.length} year/month/day/hour partitions`,
      'partition by the date or time of one column only',
    );
  const parts = specs.map((spec) => {
    const i = table.columns.findIndex((c) => c.name === spec.column);
    if (i < 0)
      throw new FerryError(
        'PLAN_INVALID',
        `options of table ${table.name}: partitionBy names column ${spec.column}, which the table does not have`,
        `use one of ${table.columns.map((c) => c.name).join(', ')}`,
      );
    const kind = table.columns[i]!.type.kind;
    if (spec.by === 'value') {
      const cache = new Map<unknown, string>();
      const prefix = `${escapePartitionValue(spec.column)}=`;
      return (row: unknown[]) => {
        const v = row[i];
        let path = cache.get(v);
        if (path === undefined) {
          path = `${prefix}${v === null || v === undefined ? NULL_PARTITION : escapePartitionValue(valueText(v, kind))}/`;
          if (cache.size >= CACHE_LIMIT) cache.clear();
          if (typeof v !== 'object') cache.set(v, path);
        }
        return path;
      };
    }
    if (kind !== 'date' && kind !== 'timestamp')
      throw new FerryError(
        'PLAN_INVALID',
        `options of table ${table.name}: partitionBy ${spec.column} by ${spec.by} needs a date or timestamp column, and ${spec.column} is ${kind}`,
        'partition this column by value, or choose a date or timestamp column',
      );
    const depth = TIME_PARTS[spec.by as keyof typeof TIME_PARTS];
    const names = ['year', 'month', 'day', 'hour'].slice(0, depth);
    const nullPath = names.map((n) => `${n}=${NULL_PARTITION}/`).join('');
    // the prefix of a standard "YYYY-MM-DD HH" text that decides the folder
    const prefixLength = [4, 7, 10, 13][depth - 1]!;
    const cache = new Map<string, string>();
    return (row: unknown[]) => {
      const v = row[i];
      if (v === null || v === undefined) return nullPath;
      const s = v as string;
      const key = s.length >= prefixLength && s.charCodeAt(4) === 45 ? s.slice(0, prefixLength) : s;
      let path = cache.get(key);
      if (path === undefined) {
        const f = dateFields(s);
        const values = [String(f.year), TWO(f.month), TWO(f.day), TWO(f.hour)];
        path = names.map((n, k) => `${n}=${values[k]}/`).join('');
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(key, path);
      }
      return path;
    };
  });
  if (parts.length === 1) return parts[0]!;
  return (row) => {
    let path = '';
    for (const p of parts) path += p(row);
    return path;
  };
}

/** The partition values of a folder path, for the manifest. */
export function partitionValues(path: string): Record<string, string> | undefined {
  const segments = path.split('/').slice(0, -1);
  if (segments.length === 0) return undefined;
  return Object.fromEntries(segments.map((s) => s.split('=') as [string, string]));
}
