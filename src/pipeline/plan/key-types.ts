// Keys whose type changes between engines. Text and bytes without a length in a primary or unique
// key go into a target whose keys take only bounded values (MySQL: 3072 bytes a key, 4 a
// character) as varchar(n)/varbinary(n), n from the longest value the profile measured; and a
// chunk key column is kept only where its target type sorts as its source type does.
import type { Connector } from '../../core/contracts.js';
import type { ProfileAsk } from '../../core/profile.js';
import type { CanonicalType, Finding, TableInfo } from '../../core/types.js';
import type { DataProfile } from './profile.js';

type Sizable = Extract<CanonicalType, { kind: 'string' | 'bytes' }>;
const sizable = (t: CanonicalType): t is Sizable => (t.kind === 'string' || t.kind === 'bytes') && !t.fixed;

/** Primary and unique keys (unique indexes included): the keys a target must index whole. */
function wholeKeys(t: TableInfo): string[][] {
  return [
    t.primaryKey,
    ...t.uniqueKeys,
    ...t.indexes.filter((i) => i.unique && !i.expression).map((i) => i.columns),
  ].filter((k) => k.length > 0);
}

/** The questions the key sizes ask: the longest value of each text or bytes column of a whole key. */
export function keyAsks(t: TableInfo): ProfileAsk[] {
  const columns = new Set(wholeKeys(t).flat());
  return t.columns
    .filter((c) => columns.has(c.name) && sizable(c.type))
    .map((c) => ({ kind: 'maxLength' as const, column: c.name }));
}

/**
 * The questions a target whose keys cannot be empty asks: how many values of each text or bytes
 * column of a whole key are empty.
 */
export function emptyKeyAsks(t: TableInfo): ProfileAsk<'emptyValues'>[] {
  const columns = new Set(wholeKeys(t).flat());
  return t.columns
    .filter((c) => columns.has(c.name) && (c.type.kind === 'string' || c.type.kind === 'bytes'))
    .map((c) => ({ kind: 'emptyValues' as const, column: c.name }));
}

/** Assess's findings for the key columns that hold empty values, into a target whose keys cannot be empty. */
export function emptyKeyFindings(t: TableInfo, target: Connector, profile: DataProfile): Finding[] {
  if (!target.capabilities.nonEmptyKeys) return [];
  return emptyKeyAsks(t).flatMap((ask): Finding[] => {
    const rows = profile.get(t.name, ask)?.rows ?? 0;
    return rows === 0
      ? []
      : [
          {
            severity: 'info',
            code: 'EMPTY_KEY_VALUES',
            table: t.name,
            column: ask.column,
            message: `${t.name}.${ask.column} is in a key and holds ${rows} empty value${rows === 1 ? '' : 's'}, which a ${target.kind} key cannot be: the plan makes the key of a literal and the value`,
            action: 'no action needed; the comment beside the key in the plan says how it is made',
          },
        ];
  });
}

const lengthOf = (type: CanonicalType) => ('length' in type && type.length !== undefined ? type.length : Infinity);

/** A key column given a length, and why. */
export interface SizedColumn {
  type: CanonicalType;
  /** the longest value measured (characters of text, bytes of bytes); undefined when not measured */
  longest: number | undefined;
  /** table.column of the key column a foreign key column takes its type from */
  refersTo?: string;
}

export interface KeySizes {
  sized: Map<string, SizedColumn>;
  /** keys whose longest values together take more than the target's key allows */
  unfit: { key: string[]; bytes: number }[];
}

/**
 * Lengths for the text and bytes columns of a table's whole keys, in a target with a key limit:
 * each key whose columns are unbounded, or bounded beyond the limit, gets lengths that hold the
 * longest values measured plus an equal share of what the limit leaves (never more than a
 * declared length); a column in several keys takes the least. `types` are the columns' types as
 * planned so far.
 */
export function keySizes(
  t: TableInfo,
  types: Map<string, CanonicalType>,
  target: Connector,
  profile: DataProfile,
): KeySizes {
  const limit = target.capabilities.keyLimit;
  const out: KeySizes = { sized: new Map(), unfit: [] };
  if (!limit) return out;
  const unit = (type: Sizable) => (type.kind === 'string' ? limit.bytesPerChar : 1);
  // a column of another type (or a fixed length) takes what the target's type for it takes
  const fixedBytes = (type: CanonicalType) => limit.columnBytes(target.nativeType(type).native);
  const longest = (column: string) => profile.get(t.name, { kind: 'maxLength', column })?.length;
  for (const key of wholeKeys(t)) {
    const columns = key.map((name) => ({ name, type: types.get(name)! }));
    const open = columns.filter((c): c is { name: string; type: Sizable } => sizable(c.type));
    const fixed = columns.filter((c) => !sizable(c.type)).reduce((n, c) => n + fixedBytes(c.type), 0);
    const declared = open.reduce(
      (n, c) => (c.type.length === undefined ? Infinity : n + c.type.length * unit(c.type)),
      0,
    );
    if (open.length === 0 || fixed + declared <= limit.bytes) continue;
    const needed = open.reduce((n, c) => n + (longest(c.name) ?? 0) * unit(c.type), fixed);
    if (needed > limit.bytes) {
      out.unfit.push({ key, bytes: needed });
      continue;
    }
    const share = Math.floor((limit.bytes - needed) / open.length);
    for (const c of open) {
      const measured = longest(c.name);
      const fits = Math.max(1, (measured ?? 0) + Math.floor(share / unit(c.type)));
      const earlier = out.sized.get(c.name);
      const length = Math.min(fits, lengthOf(c.type), earlier ? lengthOf(earlier.type) : Infinity);
      out.sized.set(c.name, { type: { ...c.type, length }, longest: measured });
    }
  }
  return out;
}

/**
 * The key sizes of every table of a schema. A text or bytes column without a length in a foreign
 * key to a sized column takes that column's type: the target indexes a foreign key's columns too.
 */
export function schemaKeySizes(
  tables: TableInfo[],
  typesOf: (t: TableInfo) => Map<string, CanonicalType>,
  target: Connector,
  profile: DataProfile,
): Map<string, KeySizes> {
  const types = new Map(tables.map((t) => [t.name, typesOf(t)]));
  const sizes = new Map(tables.map((t) => [t.name, keySizes(t, types.get(t.name)!, target, profile)]));
  for (const t of tables)
    for (const fk of t.foreignKeys)
      fk.columns.forEach((column, i) => {
        const ref = sizes.get(fk.refTable)?.sized.get(fk.refColumns[i]!);
        const type = types.get(t.name)!.get(column)!;
        const own = sizes.get(t.name)!.sized;
        if (!ref || own.has(column) || !sizable(type) || type.length !== undefined) return;
        own.set(column, {
          type: { ...type, length: lengthOf(ref.type) },
          longest: undefined,
          refersTo: `${fk.refTable}.${fk.refColumns[i]}`,
        });
      });
  return sizes;
}

/** The plan writer's comment beside a key column given a length from the data. */
export function keySizeNote({ type, longest, refersTo }: SizedColumn, target: Connector): string {
  const unit = type.kind === 'string' ? 'characters' : 'bytes';
  const why = refersTo
    ? `the length of ${refersTo}, which it refers to`
    : `from the data: a key column${longest === undefined ? '' : ` whose longest value has ${longest} ${unit}`}, and ${target.kind} keys take at most ${target.capabilities.keyLimit!.bytes} bytes`;
  return `${target.nativeType(type).native}: ${why}`;
}

/** Assess's findings for the key columns given a length and the keys that cannot have one. */
export function keySizeFindings(t: TableInfo, sizes: KeySizes, target: Connector): Finding[] {
  const limit = target.capabilities.keyLimit;
  const sized = [...sizes.sized].map(([column, { type, longest, refersTo }]): Finding => {
    const c = t.columns.find((x) => x.name === column)!;
    const unit = type.kind === 'string' ? 'characters' : 'bytes';
    const where = refersTo ? `refers to ${refersTo} by a foreign key` : 'is in a key';
    return {
      severity: 'info',
      code: 'KEY_TYPE_SIZED',
      table: t.name,
      column,
      message: `${t.name}.${column} ${c.nativeType} ${where}, which ${target.kind} indexes only for bounded values: planned as ${target.nativeType(type).native}${longest === undefined ? '' : ` (its longest value has ${longest} ${unit})`}`,
      action:
        'no action needed; longer values written later are refused by the target (change the length in the plan, within the key limit)',
    };
  });
  const unfit = sizes.unfit.map(({ key, bytes }): Finding => ({
    severity: 'error',
    code: 'KEY_TOO_LONG',
    table: t.name,
    message: `the key (${key.join(', ')}) of ${t.name} holds values of up to ${bytes} bytes, more than the ${limit!.bytes} a ${target.kind} key takes`,
    action: `key the table by other columns in the plan (primaryKey, uniqueKeys, indexes), or shorten the longest values in the source`,
  }));
  return [...sized, ...unfit];
}

/**
 * Whether a chunk key column keeps its order in the target type: the same kind, or integers into
 * a decimal the target sorts as numbers (an unsigned 64-bit key as PostgreSQL's numeric(20,0)).
 * The chunks are cut by the source's type either way.
 */
export function keyKeepsOrder(from: CanonicalType, to: CanonicalType, target: Connector): boolean {
  if (from.kind === to.kind) return true;
  return (
    from.kind === 'int' &&
    to.kind === 'decimal' &&
    (to.scale ?? 0) === 0 &&
    target.capabilities.portableKeyKinds.includes('decimal')
  );
}
