// The digests verify compares per key range (core/range-digest.ts), taken on each side in the
// database where it can (Source/Target.rangeDigest) and in ferry from the rows otherwise.
//
// A table's columns fall in at most two groups. The first holds the columns every side that
// digests in its database renders canonically (digestsColumn); each such side digests it in
// SQL, so only digests cross the wire. The second holds the rest (floats, time zones, JSON, …)
// with the key, read and digested in ferry: only those columns are read. Each group carries
// the key, so a value moved between rows still changes a digest; a table without a key is
// digested as one group. Two databases of one engine hash the first group with the engine's own
// hash (core/range-digest.ts) where they give its columns the same forms; that group may then
// hold columns whose canonical text no SQL renders (JSON, floats, time zones).
import type { ReadView, Reject, Source, Target } from '../../core/contracts.js';
import type { Digest } from '../../core/digest.js';
import {
  RangeDigestBuilder,
  type DigestColumn,
  type DigestHash,
  type DigestRead,
  type RowHash,
} from '../../core/range-digest.js';
import type { CanonicalType, KeyRange, RowBatch } from '../../core/types.js';
import type { TableMapping } from '../plan/mapping.js';

/** Digests a side's ranges: one digest per group, the same groups on both sides. */
export interface DigestSide {
  digests(range: KeyRange): Promise<Digest[]>;
  /**
   * The same digests, from every row read whole (the source's mapped, its refused rows counted):
   * verify takes them for a range whose digests differ, so that a difference is always one that
   * rows show (not a row the mapping refuses, nor a value a database renders otherwise).
   */
  inFerry(range: KeyRange): Promise<Digest[]>;
}

/** Column positions (in the target's order) per group; `pushed`: the first group is digested in the databases that can. */
export interface DigestGroups {
  groups: number[][];
  pushed: boolean;
  /** how the databases hash the first group */
  hash: DigestHash;
  /** under the hash `engine`: each column's form (by position), which both sides gave it */
  forms?: (string | undefined)[];
}

/** Whether a side digests a column in its database; undefined when it digests nothing there. */
export type Pushes = ((column: number) => boolean) | undefined;

/**
 * The groups; `forms` (engineForms) lets both databases hash the first group with the engine's
 * own hash when they can so every column they could digest canonically, and no fewer.
 */
export function digestGroups(
  m: TableMapping,
  source: Pushes,
  target: Pushes,
  forms?: (string | undefined)[],
): DigestGroups {
  const all = m.target.columns.map((_, i) => i);
  const canonical = all.filter((i) => (source?.(i) ?? true) && (target?.(i) ?? true));
  const engine = forms ? all.filter((i) => forms[i] !== undefined) : [];
  const hash: DigestHash = engine.length > 0 && canonical.every((i) => engine.includes(i)) ? 'engine' : 'canonical';
  const inDatabase = hash === 'engine' ? engine : canonical;
  const common = hash === 'engine' ? { hash, forms } : { hash };
  if (!source && !target) return { groups: [all], pushed: false, hash };
  const rest = all.filter((i) => !inDatabase.includes(i));
  const keys = m.keyIndexes;
  const keyed = keys.length > 0 && keys.every((k) => inDatabase.includes(k));
  if (rest.length === 0) return { groups: [all], pushed: true, ...common };
  if (inDatabase.length === 0 || !keyed) return { groups: [all], pushed: false, hash: 'canonical' };
  return { groups: [inDatabase, [...keys, ...rest]], pushed: true, ...common };
}

/**
 * Per column (by position), the form under which both databases hash it with the engine hash
 * (digestForms), or undefined; undefined for all when a side has none or the run recorded rows
 * the target refused. A `mapped` column has none (a transform, a cast: the mapping changes its
 * values); a `checked` one has, as under the canonical hash: a row the check refuses, or an odd
 * value it acts on, makes the range's digests differ, and verify compares its rows.
 */
export async function engineForms(
  source: Source,
  target: Target,
  m: TableMapping,
  view: ReadView,
  refusedRows: boolean,
): Promise<(string | undefined)[] | undefined> {
  if (!source.digestForms || !target.digestForms || !source.rangeDigest || !target.rangeDigest || refusedRows)
    return undefined;
  const [a, b] = await Promise.all([source.digestForms(m.source, view), target.digestForms(m.target)]);
  return m.target.columns.map((_, i) =>
    m.valueSteps[i] !== 'mapped' && a[i] !== undefined && a[i] === b[i] ? a[i] : undefined,
  );
}

/** Digests of rows given in batches, per group; `at` maps a target column position to its place in the rows. */
async function digestRows(
  batches: AsyncIterable<RowBatch>,
  groups: number[][],
  hashes: RowHash[],
  types: CanonicalType[],
  at: (column: number) => number = (i) => i,
): Promise<Digest[]> {
  const builders = groups.map(
    (g, n) =>
      new RangeDigestBuilder(
        g.map(at),
        g.map((i) => types[i]!),
        hashes[n],
      ),
  );
  for await (const b of batches) for (const r of b.rows) for (const d of builders) d.add(r);
  return builders.map((d) => d.result());
}

/** What a side reads and digests. */
interface SideAccess {
  /** the group's digest in the database, or undefined (a value it does not render: ferry digests the range) */
  inDatabase?: (range: KeyRange, columns: DigestColumn[], hash: DigestHash) => Promise<Digest | undefined>;
  /**
   * the range read once: the first group's digest in the database with the rows of the columns
   * at these positions (Source/Target.digestRead), and how many of those rows the mapping refused
   * once read (then the range is digested from whole rows, which count them)
   */
  inDatabaseWith?: (
    range: KeyRange,
    columns: DigestColumn[],
    hash: DigestHash,
    positions: number[],
  ) => { read: DigestRead; refused: () => number };
  /** the rows of a range, all columns, as verify compares them */
  rows: (range: KeyRange) => AsyncIterable<RowBatch>;
  /** the side's column names, in the target's order */
  names: string[];
}

function digestSide(access: SideAccess, g: DigestGroups, types: CanonicalType[]): DigestSide {
  const pushed = g.pushed && access.inDatabase ? g.groups[0]! : undefined;
  const columns = pushed?.map((i) => ({ name: access.names[i]!, type: types[i]!, form: g.forms?.[i] }));
  // MD5 for a group whose digest a database's is compared with; ferry's hash where ferry digests it on both sides
  const hashes = g.groups.map((_, n): RowHash => (g.pushed && n === 0 ? 'canonical' : 'ferry'));
  const inFerry = pushed ? g.groups.slice(1) : g.groups;
  const restHashes = pushed ? hashes.slice(1) : hashes;
  const whole = (range: KeyRange) => digestRows(access.rows(range), g.groups, hashes, types);
  return {
    inFerry: whole,
    async digests(range) {
      if (!pushed) return whole(range);
      if (inFerry.length === 0) {
        const first = await access.inDatabase!(range, columns!, g.hash);
        return first ? [first] : whole(range);
      }
      // one scan: the database hashes the first group's columns of each row it sends ferry the others of
      const positions = [...new Set(inFerry.flat())].sort((a, b) => a - b);
      const { read, refused } = access.inDatabaseWith!(range, columns!, g.hash, positions);
      const others = await digestRows(read.rows, inFerry, restHashes, types, (i) => positions.indexOf(i));
      const first = read.digest();
      return first && refused() === 0 ? [first, ...others] : whole(range);
    },
  };
}

async function* mapped(batches: AsyncIterable<RowBatch>, map: (b: RowBatch) => RowBatch): AsyncIterable<RowBatch> {
  for await (const b of batches) yield map(b);
}

export interface SourceSideOptions {
  source: Source;
  view: ReadView;
  mapping: TableMapping;
  /** the source rows as verify compares them: mapped, without the rejected ones */
  rows: (range: KeyRange) => AsyncIterable<RowBatch>;
  /** rows the run's target refused are left out of the source side: digests must then see every row */
  refusedRows: boolean;
  batchRows: number;
}

/** Whether the source digests a column in its database, or undefined: the mapping changes what it reads (then ferry digests the mapped rows). */
export function sourcePushes(source: Source, mapping: TableMapping, refusedRows: boolean): Pushes {
  if (!source.rangeDigest || !source.digestsColumn || refusedRows) return undefined;
  const types = mapping.target.columns.map((c) => c.type);
  // a mapped column's values are not the source's: ferry maps and digests them
  return (i) => mapping.valueSteps[i] !== 'mapped' && source.digestsColumn!(mapping.source.columns[i]!, types[i]!);
}

export function targetPushes(target: Target, mapping: TableMapping): Pushes {
  if (!target.rangeDigest || !target.digestsColumn) return undefined;
  return (i) => target.digestsColumn!(mapping.target.columns[i]!, mapping.target.columns[i]!.type);
}

export function sourceSide(o: SourceSideOptions, g: DigestGroups): DigestSide {
  const { source, view, mapping } = o;
  const types = mapping.target.columns.map((c) => c.type);
  const pushes = sourcePushes(source, mapping, o.refusedRows) !== undefined;
  return digestSide(
    {
      inDatabase: pushes
        ? (range, columns, hash) => source.rangeDigest!(mapping.source, range, view, columns, hash)
        : undefined,
      rows: o.rows,
      inDatabaseWith: pushes
        ? (range, columns, hash, positions) => {
            const map = mapping.mapSome(positions);
            const refused: Reject[] = [];
            const rest = positions.map((i) => mapping.source.columns[i]!);
            const read = source.digestRead!(mapping.source, range, view, columns, hash, rest, o.batchRows);
            return {
              read: { rows: mapped(read.rows, (b) => map(b, refused)), digest: read.digest },
              refused: () => refused.length,
            };
          }
        : undefined,
      names: mapping.source.columns.map((c) => c.name),
    },
    g,
    types,
  );
}

export function targetSide(target: Target, mapping: TableMapping, g: DigestGroups, batchRows: number): DigestSide {
  const types = mapping.target.columns.map((c) => c.type);
  const t = mapping.target;
  return digestSide(
    {
      inDatabase: target.rangeDigest
        ? (range, columns, hash) => target.rangeDigest!(t, range, columns, hash)
        : undefined,
      inDatabaseWith: target.rangeDigest
        ? (range, columns, hash, positions) => ({
            read: target.digestRead!(
              t,
              range,
              columns,
              hash,
              positions.map((i) => t.columns[i]!),
              batchRows,
            ),
            refused: () => 0,
          })
        : undefined,
      rows: (range) => target.readBack(t, range, batchRows),
      names: t.columns.map((c) => c.name),
    },
    g,
    types,
  );
}
