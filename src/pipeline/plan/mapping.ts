// Mapping: a table plan turned into what the connectors read and write, and the row
// function between them (zero-date policy, transforms, casts, fit checks).
import { createHmac } from 'node:crypto';
import type { Connector, Reject, SourceTable, TargetTable } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { transformKeys, type Plan, type TablePlan, type Transform, type TransformKeys } from '../../core/plan.js';
import type { CanonicalType, RowBatch, TableInfo } from '../../core/types.js';
import { formatType, parseType } from '../../core/types.js';
import { numericTimestamp } from '../../core/calendar.js';
import { sameColumnValues } from '../../core/columns.js';
import { alwaysFits, converter, misfit } from '../../core/values.js';
import { targetSide } from '../session/sides.js';
import { looseConverter } from './loose-values.js';
import { UNCHANGED } from '../../core/changes.js';
import { targetForeignKeys } from './foreign-keys.js';
import { keyKeepsOrder } from './key-types.js';
import { checkTargetNames } from './names.js';

export interface TableMapping {
  plan: TablePlan;
  source: SourceTable;
  target: TargetTable;
  /**
   * maps a batch of source rows to target rows; refused rows go to `rejects`, as read but with
   * the transformed columns transformed, so a masked value is never kept with its reason
   */
  mapBatch(batch: RowBatch, rejects: Reject[]): RowBatch;
  /**
   * mapBatch for rows that hold only the columns at `positions` (target order), in that order:
   * their steps only, no check of whole rows. A refused row goes to `rejects` partly mapped: for
   * counting only (verify reads columns apart with it).
   */
  mapSome(positions: number[]): (batch: RowBatch, rejects: Reject[]) => RowBatch;
  /**
   * maps one row of a live change in place, leaving UNCHANGED values as they are; the reason it
   * is refused for, or undefined (the refused row is then as mapBatch keeps it in rejects)
   */
  mapChangeRow(row: unknown[]): string | undefined;
  /**
   * Adds a check of whole source rows made before any value is mapped (a row whose foreign key
   * finds no parent, `orphans.ts`): mapBatch refuses a row it gives a reason for, and the table
   * goes as rows. Live changes are not checked (their parents may be newer than the check knows).
   */
  refuseRows(check: RowCheck): void;
  /** per target column: the plan transforms it (its values are never shown: verify samples, dry run differences) */
  transformed: boolean[];
  /** positions of the chunk key columns in the target row */
  keyIndexes: number[];
  /**
   * No value changes on the way (no transform, cast or zero-date policy): column batches may go
   * from source to target as they are, the target checking its own limits.
   */
  columnar: boolean;
  /**
   * Every column has the same canonical type on both sides and no step at all (no transform,
   * cast, check or row policy): the source engine's own bytes may go into a target that takes
   * them as they are (Source.readRaw), the target checking its own limits.
   */
  passthrough: boolean;
  /**
   * The chunk key is the source table's primary key and the target table's: chunks never share a
   * key, so a chunk's rows as the source holds them (raw) give each key of the target's once.
   */
  keyIsPrimary: boolean;
  /**
   * Per target column, what mapBatch does to its values: nothing (`as-read`); nothing but
   * refuse rows or act on odd values (`checked`: a check of the value against the target type or
   * engine, MySQL's zero dates by the plan's zeroDates policy, which a source's rangeDigest leaves
   * to ferry); or more (`mapped`: a transform, a cast). Every column is `mapped` once a check of
   * whole rows is added (refuseRows). Verify digests on the source what is not `mapped`.
   */
  valueSteps: ValueSteps[];
}

export type ValueSteps = 'as-read' | 'checked' | 'mapped';

type ValueStep = (v: unknown) => unknown;
/** Why a source row is refused, or undefined. */
export type RowCheck = (row: unknown[]) => string | undefined;

class RowRejected extends Error {}

function transformStep(t: Transform, keys: TransformKeys): { step: ValueStep; type?: CanonicalType } {
  if ('hash' in t) {
    const key = keys.get(t.hash.salt);
    if (!key) throw new FerryError('INTERNAL', `the hash salt ${t.hash.salt} was not resolved`);
    return {
      step: (v) =>
        v === null
          ? null
          : createHmac('sha256', key)
              .update(v instanceof Uint8Array ? v : String(v))
              .digest('hex'),
      type: { kind: 'string' },
    };
  }
  if ('mask' in t) {
    const { keepFirst, keepLast, char } = t.mask;
    return {
      step: (v) => {
        if (v === null) return null;
        const chars = [...String(v)];
        return chars.map((c, i) => (i < keepFirst || i >= chars.length - keepLast ? c : char)).join('');
      },
      type: { kind: 'string' },
    };
  }
  const fixed = t.value;
  return { step: () => fixed };
}

const ZERO_DATE = /^0000-|-00(?:[ T-]|$)/;

function zeroDateStep(policy: Plan['source']['zeroDates'], column: string, target: CanonicalType): ValueStep {
  return (v) => {
    if (typeof v !== 'string' || !ZERO_DATE.test(v)) return v;
    if (policy === 'null') return null;
    if (policy === 'text' && target.kind === 'string') return v;
    throw new RowRejected(
      policy === 'text'
        ? `column ${column}: zero date ${v} needs a text column (set this column's type to a text type)`
        : `column ${column}: zero date ${v} (the plan's source.zeroDates is "reject"; set it to null or text to keep the row)`,
    );
  };
}

/**
 * For a source whose columns may hold any value (SQLite): numbers in a date or timestamp column
 * read by the plan's source.numericDates, then every value checked against the column's type.
 */
function looseTemporalStep(policy: Plan['source']['numericDates'], column: string, type: CanonicalType): ValueStep {
  const numeric = (v: number | bigint): unknown => {
    const why = `${v} is a number, not a ${formatType(type)}`;
    if (type.kind === 'time' || policy === undefined || policy === 'reject')
      throw new RowRejected(
        type.kind === 'time'
          ? `column ${column}: ${why}`
          : `column ${column}: ${why} (set the plan's source.numericDates to unixepoch or julianday if the column holds such numbers)`,
      );
    const stamp = numericTimestamp(v, policy);
    if (stamp === undefined) throw new RowRejected(`column ${column}: ${why}`);
    if (type.kind === 'timestamp') return type.tz ? `${stamp}Z` : stamp;
    if (!stamp.endsWith(' 00:00:00'))
      throw new RowRejected(`column ${column}: ${v} read as ${policy} is ${stamp}, a time of day a date does not keep`);
    return stamp.slice(0, -' 00:00:00'.length);
  };
  return (v) => {
    const value = typeof v === 'number' || typeof v === 'bigint' ? numeric(v) : v;
    const why = misfit(value, type);
    if (why) throw new RowRejected(`column ${column}: ${why}`);
    return value;
  };
}

/** For a source whose times are durations, into a target whose times are not: a duration is refused with what to do. */
function timeOfDayStep(column: string): ValueStep {
  return (v) => {
    if (typeof v === 'string' && (v.startsWith('-') || Number(v.split(':')[0]) >= 24))
      throw new RowRejected(
        `column ${column}: time ${v} is a duration, not a time of day (change the column's type in the plan to interval)`,
      );
    return v;
  };
}

/** The same columns, in any order. */
function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((c) => b.includes(c));
}

/**
 * Builds the mapping of one planned table, checking the plan against the live source schema.
 * `keys` are the plan's resolved transform keys (loadPlan's).
 */
export function mapTable(
  plan: Plan,
  tp: TablePlan,
  info: TableInfo | undefined,
  sourceConn: Connector,
  targetConn: Connector,
  where: string,
  keys: TransformKeys = transformKeys(plan),
): TableMapping {
  if (!info)
    throw new FerryError(
      'TABLE_NOT_FOUND',
      `${where}: source table "${tp.source}" does not exist`,
      'check the table name in the plan, or re-run `ferry plan`',
    );
  checkTargetNames(tp, targetConn, where);
  const cols = tp.columns.filter((c) => !c.exclude);
  const sourceCols = cols.map((c) => {
    const col = info.columns.find((x) => x.name === c.source);
    if (!col)
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: column "${c.source}" does not exist in source table ${tp.source}`,
        'check the column name in the plan, or re-run `ferry plan`',
      );
    if (formatType(col.type) !== formatType(parseType(c.sourceType)))
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: source column ${tp.source}.${c.source} is ${formatType(col.type)}, the plan says ${c.sourceType}`,
        're-run `ferry plan` after a schema change',
      );
    return col;
  });
  const targetCols = cols.map((c) => {
    let type: CanonicalType;
    try {
      type = targetConn.canonicalType(c.type);
    } catch (e) {
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: column ${c.target}: ${(e as Error).message}`,
        `use a ${targetConn.kind} type the target understands`,
      );
    }
    return {
      name: c.target,
      type,
      nativeType: c.type,
      nullable: c.nullable,
      default: c.default,
      autoIncrement: c.autoIncrement,
    };
  });
  const keyTarget = tp.chunking.key.map((k) => {
    const i = cols.findIndex((c) => c.source === k);
    if (!keyKeepsOrder(sourceCols[i]!.type, targetCols[i]!.type, targetConn))
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: chunk key column ${k} is cast from ${formatType(sourceCols[i]!.type)} to ${targetCols[i]!.nativeType}`,
        'keep chunk key columns in a type that sorts as the source type does, or chunk by another key (an empty key: one chunk)',
      );
    return cols[i]!.target;
  });
  const source: SourceTable = { name: tp.source, columns: sourceCols, key: tp.chunking.key, where: tp.where };
  const target: TargetTable = {
    name: tp.target,
    columns: targetCols,
    primaryKey: tp.primaryKey,
    key: keyTarget,
    uniqueKeys: tp.uniqueKeys,
    indexes: tp.indexes.map((i) => ({ name: i.name, columns: i.columns, unique: i.unique })),
    foreignKeys: targetForeignKeys(tp, targetConn, where),
    options: tp.options,
  };

  const writer = targetSide(targetConn);
  const engineCheckFor = writer.valueCheck?.bind(writer);
  // whether every value goes as it is (no step but the target's own check)
  let columnar = true;
  let passthrough = true;
  // the transform of each transformed column: a refused row is kept with these applied
  const transforms: [number, ValueStep][] = [];
  const valueSteps: ValueSteps[] = [];
  const steps: (ValueStep | undefined)[] = cols.map((c, i) => {
    const parts: ValueStep[] = [];
    let type = sourceCols[i]!.type;
    const to = targetCols[i]!.type;
    // the steps that keep every value or refuse its row, or act on odd values only (see valueSteps)
    const keeps = new Set<ValueStep>();
    if (c.transform) {
      // a value to transform goes straight into its transform: no check before it quotes it in a reason
      const t = transformStep(c.transform, keys);
      parts.push(t.step);
      transforms.push([i, t.step]);
      if (t.type) type = t.type;
    } else {
      if (sourceConn.capabilities.zeroDates && (type.kind === 'date' || type.kind === 'timestamp')) {
        const zeroDates = zeroDateStep(plan.source.zeroDates, c.target, to);
        keeps.add(zeroDates);
        parts.push(zeroDates);
      }
      if (sourceConn.capabilities.looseValues && ['date', 'time', 'timestamp'].includes(type.kind))
        parts.push(looseTemporalStep(plan.source.numericDates, c.target, type));
      if (
        sourceConn.capabilities.durations &&
        type.kind === 'time' &&
        !targetConn.capabilities.durations &&
        to.kind === 'time'
      )
        parts.push(timeOfDayStep(c.target));
    }
    const fits = alwaysFits(type, to);
    // the values of a loosely typed column are of any class: by their own, when the column's type changes
    const loose =
      sourceConn.capabilities.looseValues &&
      !c.transform &&
      !['date', 'time', 'timestamp'].includes(type.kind) &&
      (formatType(type) !== formatType(to) || ['bytes', 'geometry', 'string'].includes(to.kind));
    const convert = loose ? looseConverter(type, to, converter(type, to)) : converter(type, to);
    // a bool never "always fits" because loose engines give other values in rows; a bool column holds 0 and 1 only
    const checked = !fits && !(type.kind === 'bool' && to.kind === 'bool');
    // the zero-date policy does not count: column readers give no zero dates (the chunk then goes as rows, where it acts)
    if (c.transform || checked || convert || !sameColumnValues(type, to)) columnar = false;
    // the policy steps do count here: a raw reader may give the values they act on
    if (c.transform || parts.length > 0 || checked || convert || formatType(type) !== formatType(to))
      passthrough = false;
    const check = (v: unknown) => {
      const why = misfit(v, to);
      if (why) throw new RowRejected(`column ${c.target}: ${why}`);
      return v;
    };
    // within one kind the source value is checked before it is converted (a bigint narrowed to a number would round first)
    if (!fits && type.kind === to.kind) {
      keeps.add(check);
      parts.push(check);
    }
    if (convert)
      parts.push((v) => {
        try {
          return v === null ? null : convert(v);
        } catch (e) {
          throw new RowRejected(`column ${c.target}: ${(e as Error).message}`);
        }
      });
    if (!fits && type.kind !== to.kind) parts.push(check);
    const engineCheck = engineCheckFor?.(targetCols[i]!);
    if (engineCheck) {
      const checkEngine = (v: unknown) => {
        const why = v === null ? undefined : engineCheck(v);
        if (why) throw new RowRejected(`column ${c.target}: ${why}`);
        return v;
      };
      keeps.add(checkEngine);
      parts.push(checkEngine);
    }
    valueSteps.push(parts.length === 0 ? 'as-read' : parts.every((p) => keeps.has(p)) ? 'checked' : 'mapped');
    if (parts.length === 0) return undefined;
    if (parts.length === 1) return parts[0];
    return (v) => parts.reduce((acc, p) => p(acc), v);
  });
  const active = steps
    .map((s, i) => [i, s] as const)
    .filter((x): x is readonly [number, ValueStep] => x[1] !== undefined);

  // rows are mapped in place (the batch is ours); a refused row gets its source values back,
  // its transformed columns transformed
  const original: unknown[] = new Array(active.length);
  const rowChecks: RowCheck[] = [];
  const mapRow = (row: unknown[], steps: typeof active, checks: RowCheck[] = []): string | undefined => {
    let j = 0;
    try {
      for (const check of checks) {
        const why = check(row);
        if (why !== undefined) throw new RowRejected(why);
      }
      for (; j < steps.length; j++) {
        const [i, step] = steps[j]!;
        original[j] = row[i];
        row[i] = step(row[i]);
      }
      return undefined;
    } catch (e) {
      if (!(e instanceof RowRejected)) throw e;
      for (let k = 0; k < j; k++) row[steps[k]![0]] = original[k];
      for (const [i, transform] of transforms) if (row[i] !== UNCHANGED) row[i] = transform(row[i]);
      return e.message;
    }
  };
  const mapBatch = (batch: RowBatch, rejects: Reject[]): RowBatch => {
    if (active.length === 0 && rowChecks.length === 0) return batch;
    let kept = 0;
    const rows = batch.rows;
    for (const row of rows) {
      const reason = mapRow(row, active, rowChecks);
      if (reason === undefined) rows[kept++] = row;
      else rejects.push({ row, reason });
    }
    rows.length = kept;
    return batch;
  };
  const mapSome = (positions: number[]) => {
    const at = new Map(positions.map((p, k) => [p, k]));
    const some = active.filter(([i]) => at.has(i)).map(([i, step]) => [at.get(i)!, step] as const);
    return (batch: RowBatch, rejects: Reject[]): RowBatch => {
      let kept = 0;
      const rows = batch.rows;
      for (const row of rows) {
        try {
          for (const [k, step] of some) row[k] = step(row[k]);
          rows[kept++] = row;
        } catch (e) {
          if (!(e instanceof RowRejected)) throw e;
          rejects.push({ row, reason: e.message });
        }
      }
      rows.length = kept;
      return batch;
    };
  };
  // a live change's row may hold values the change log did not carry: they stay as they are
  const changeSteps = active.map(([i, step]) => [i, (v: unknown) => (v === UNCHANGED ? v : step(v))] as const);
  const mapChangeRow = (row: unknown[]) => mapRow(row, changeSteps);
  const mapping: TableMapping = {
    plan: tp,
    source,
    target,
    mapBatch,
    mapSome,
    mapChangeRow,
    refuseRows(check) {
      rowChecks.push(check);
      mapping.columnar = false;
      mapping.passthrough = false;
      mapping.valueSteps = valueSteps.map(() => 'mapped');
    },
    transformed: cols.map((c) => c.transform !== undefined),
    keyIndexes: keyTarget.map((k) => targetCols.findIndex((c) => c.name === k)),
    columnar,
    passthrough,
    keyIsPrimary:
      keyTarget.length > 0 && sameColumns(tp.chunking.key, info.primaryKey) && sameColumns(keyTarget, tp.primaryKey),
    valueSteps,
  };
  return mapping;
}
