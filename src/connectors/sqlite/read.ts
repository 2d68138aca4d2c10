// Reading a table: rows of a key range as canonical values, counts, and keyset quantiles.
// Shared by the source (through a read view) and the target's read-back.
import { FerryError } from '../../core/errors.js';
import { evenKeyRanges } from '../../core/split.js';
import type { KeyRange, RowBatch } from '../../core/types.js';
import { decoder } from './codec.js';
import { toFerryError, trackRead, untrackRead, type Db } from './db.js';
import { ident, identList, rangeFilter, type TableSpec } from './sql.js';

function decodersOf(spec: TableSpec, names: string[]) {
  return names.map((n) => {
    const column = spec.columns.find((c) => c.name === n);
    return column && decoder(column.type);
  });
}

/**
 * Streams the rows of a range in batches. An open better-sqlite3 iterator does not keep other
 * reads on the same connection from running, so readers can share one read view.
 */
export async function* readRows(db: Db, spec: TableSpec, range: KeyRange, batchRows: number): AsyncGenerator<RowBatch> {
  const context = `reading table ${spec.name}`;
  const decoders = decodersOf(
    spec,
    spec.columns.map((c) => c.name),
  );
  const decoded = decoders.flatMap((d, i) => (d ? [i] : []));
  const filter = rangeFilter(spec, range);
  let rows: IterableIterator<unknown[]>;
  try {
    const stmt = db
      .prepare(`SELECT ${identList(spec.columns.map((c) => c.name))} FROM ${ident(spec.name)}${filter.sql}`)
      .raw(true);
    rows = stmt.iterate(filter.params) as IterableIterator<unknown[]>;
  } catch (err) {
    throw toFerryError(err, 'READ_FAILED', context);
  }
  const open = trackRead(db, rows);
  try {
    let batch: unknown[][] = [];
    for (;;) {
      let next: IteratorResult<unknown[]>;
      try {
        next = rows.next();
      } catch (err) {
        throw toFerryError(err, 'READ_FAILED', context);
      }
      if (next.done) {
        if (open.ended)
          throw new FerryError(
            'INTERNAL',
            `${context}: the connection was closed before the read finished`,
            'release a read view only after its reads are done',
          );
        break;
      }
      const row = next.value;
      for (const i of decoded) {
        const v = row[i];
        if (v !== null) row[i] = decoders[i]!(v);
      }
      batch.push(row);
      if (batch.length >= batchRows) {
        yield { rows: batch };
        batch = [];
      }
    }
    if (batch.length > 0) yield { rows: batch };
  } finally {
    rows.return?.();
    untrackRead(db, open);
  }
}

export function countRows(db: Db, spec: TableSpec, range: KeyRange): number {
  const filter = rangeFilter(spec, range);
  try {
    return Number(
      db
        .prepare(`SELECT count(*) FROM ${ident(spec.name)}${filter.sql}`)
        .pluck()
        .get(filter.params),
    );
  } catch (err) {
    throw toFerryError(err, 'READ_FAILED', `counting table ${spec.name}`);
  }
}

function rangeOf(lower: unknown[] | undefined, upper: unknown[] | undefined): KeyRange {
  const range: KeyRange = {};
  if (lower) range.lower = lower;
  if (upper) range.upper = upper;
  return range;
}

/**
 * A whole table's ranges by key arithmetic from the key's minimum, maximum and row count
 * (core/split.ts), when the key is a dense integer: no pass over the key in order (the
 * quantiles' row_number() took about a twentieth of a run's CPU). Any stored value that is no
 * integer at either end (text sorts after every number) leaves the split to the quantiles.
 */
function evenSplit(db: Db, spec: TableSpec, rowsPerChunk: number): KeyRange[] | undefined {
  const type = spec.columns.find((c) => c.name === spec.key[0])?.type;
  if (type?.kind !== 'int' || (type.unsigned && type.bits === 64)) return undefined;
  const k = ident(spec.key[0]!);
  let stats: unknown[];
  try {
    stats = db
      .prepare(`SELECT min(${k}), max(${k}), count(*), typeof(min(${k})), typeof(max(${k})) FROM ${ident(spec.name)}`)
      .raw(true)
      .get() as unknown[];
  } catch (err) {
    throw toFerryError(err, 'READ_FAILED', `splitting table ${spec.name}`);
  }
  const [min, max, count, minType, maxType] = stats;
  if (minType !== 'integer' || maxType !== 'integer') return undefined;
  return evenKeyRanges(type, BigInt(min as bigint), BigInt(max as bigint), Number(count), rowsPerChunk);
}

/** Identity of a stored key, to drop repeated boundaries of a key with duplicates. */
const storedKey = (values: unknown[]) =>
  values
    .map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : `${typeof v}:${String(v)}`))
    .join('\u0001');

/**
 * Keyset quantiles: the key of every rowsPerChunk-th row in key order (one pass over the key
 * index with row_number()), so chunks hold about rowsPerChunk rows however sparse the keys are.
 */
export function splitRanges(db: Db, spec: TableSpec, rowsPerChunk: number, within: KeyRange = {}): KeyRange[] {
  if (spec.key.length === 0) return [{}];
  const even =
    spec.key.length === 1 && !within.lower && !within.upper && !spec.where && evenSplit(db, spec, rowsPerChunk);
  if (even) return even;
  const keys = identList(spec.key);
  const filter = rangeFilter(spec, within);
  let boundaries: unknown[][];
  try {
    boundaries = db
      .prepare(
        `SELECT ${keys} FROM (SELECT ${keys}, row_number() OVER (ORDER BY ${keys}) AS ferry_row FROM ${ident(spec.name)}${filter.sql}) WHERE ferry_row > 1 AND (ferry_row - 1) % ? = 0 ORDER BY ferry_row`,
      )
      .raw(true)
      .all([...filter.params, Math.max(1, Math.floor(rowsPerChunk))]) as unknown[][];
  } catch (err) {
    throw toFerryError(err, 'READ_FAILED', `splitting table ${spec.name}`);
  }
  const decoders = decodersOf(spec, spec.key);
  const ranges: KeyRange[] = [];
  let lower = within.lower;
  let previous = '';
  for (const stored of boundaries) {
    // a NULL key sorts first and compares with nothing: it cannot bound a range
    if (stored.some((v) => v === null)) continue;
    const id = storedKey(stored);
    if (id === previous) continue;
    previous = id;
    const bound = stored.map((v, i) => (decoders[i] ? decoders[i](v) : v));
    ranges.push(rangeOf(lower, bound));
    lower = bound;
  }
  ranges.push(rangeOf(lower, within.upper));
  return ranges;
}
