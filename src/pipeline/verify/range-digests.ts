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
import { RangeDigestBuilder, type DigestColumn, type DigestHash, type RowHash } from '../../core/range-digest.js';
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
  /** a range's two groups are digested at once, on two connections a side (else one after the other) */
  together?: boolean;
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
  /** the rows of a range, all columns, as verify compares them */
  rows: (range: KeyRange) => AsyncIterable<RowBatch>;
  /**
   * the rows of a range with only the columns at these positions, and how many rows of them the
   * mapping refused once read (then the range is digested from whole rows, which count them)
   */
  columns?: (range: KeyRange, positions: number[]) => { rows: AsyncIterable<RowBatch>; refused: () => number };
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
      /** the groups digested in ferry, or undefined when the mapping refused a row read apart */
      const rest = async (): Promise<Digest[] | undefined> => {
        if (inFerry.length === 0) return [];
        const positions = [...new Set(inFerry.flat())].sort((a, b) => a - b);
        const some = positions.length < types.length ? access.columns?.(range, positions) : undefined;
        if (!some) return digestRows(access.rows(range), inFerry, restHashes, types);
        const digests = await digestRows(some.rows, inFerry, restHashes, types, (i) => positions.indexOf(i));
        return some.refused() === 0 ? digests : undefined;
      };
      if (!pushed) return whole(range);
      const [first, others] = g.together
        ? await Promise.all([access.inDatabase!(range, columns!, g.hash), rest()])
        : [await access.inDatabase!(range, columns!, g.hash), await rest()];
      return first && others ? [first, ...others] : whole(range);
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
      columns: pushes
        ? (range, positions) => {
            const map = mapping.mapSome(positions);
            const refused: Reject[] = [];
            const table = { ...mapping.source, columns: positions.map((i) => mapping.source.columns[i]!) };
            return {
              rows: mapped(source.read(table, range, view, o.batchRows), (b) => map(b, refused)),
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
      rows: (range) => target.readBack(t, range, batchRows),
      // a target that digests in its database is a SQL engine: it reads back any columns
      columns: target.rangeDigest
        ? (range, positions) => ({
            rows: target.readBack({ ...t, columns: positions.map((i) => t.columns[i]!) }, range, batchRows),
            refused: () => 0,
          })
        : undefined,
      names: t.columns.map((c) => c.name),
    },
    g,
    types,
  );
}
