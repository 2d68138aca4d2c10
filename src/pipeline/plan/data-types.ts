// Types the data decides. A column may hold values its declared type does not describe: SQLite
// values of any storage class, a MySQL tinyint(1) holding other integers, a MySQL TIME holding
// durations. Measured before planning (Source.profile), such a column gets a target type that
// holds every value; assess lists it, and the plan writes that type.
import type { Capabilities, Connector } from '../../core/contracts.js';
import type { ProfileAsk, ProfileQuestions } from '../../core/profile.js';
import type { CanonicalType, Column, Finding, TableInfo } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import type { DataProfile } from './profile.js';

/** The questions the type decisions ask about a table's columns. */
export function typeAsks(t: TableInfo, source: Capabilities): ProfileAsk[] {
  return t.columns.flatMap((c): ProfileAsk[] => [
    ...(source.looseValues ? [{ kind: 'storageClasses' as const, column: c.name }] : []),
    ...(source.looseBooleans && c.type.kind === 'bool' ? [{ kind: 'notBoolean' as const, column: c.name }] : []),
    ...(source.durations && c.type.kind === 'time' ? [{ kind: 'durations' as const, column: c.name }] : []),
  ]);
}

/** A type the data decided for a column, and why. */
export interface DataTypeChoice {
  /** the canonical type the target column holds */
  type: CanonicalType;
  code: 'MIXED_STORAGE' | 'NOT_BOOLEAN' | 'TIME_DURATIONS';
  /** what the values are: "holds integer and text values" */
  why: string;
  /** values the type cannot hold, rejected by the run: text and blobs in one column */
  rejected?: string;
}

type StorageClasses = ProfileQuestions['storageClasses']['answer'];
type StorageClass = keyof StorageClasses;
const CLASSES: StorageClass[] = ['integer', 'real', 'text', 'blob'];
const only = (held: StorageClass[], ...allowed: StorageClass[]) => held.every((k) => allowed.includes(k));

/** Whether a column of canonical type `t` reads values of every class held (others are SQLite values its type does not describe). */
function readsAll(t: CanonicalType, held: StorageClass[]): boolean {
  switch (t.kind) {
    case 'int':
    case 'year':
    case 'bool':
      return only(held, 'integer');
    case 'decimal':
      // decimals stored as text (as ferry writes them into SQLite) are read as decimals
      return only(held, 'integer', 'real') || only(held, 'text');
    case 'float':
      return only(held, 'integer', 'real');
    case 'bytes':
      return only(held, 'blob');
    case 'string':
      return !held.includes('blob');
    default:
      // dates and times are read by their forms (source.numericDates); the other types are text
      return true;
  }
}

/** The type that holds every value of the classes held: text when any is text, bytes only when all are blobs. */
function widened(held: StorageClass[]): CanonicalType {
  if (only(held, 'blob')) return { kind: 'bytes' };
  if (only(held, 'integer')) return { kind: 'int', bits: 64, unsigned: false };
  if (only(held, 'real')) return { kind: 'float', bits: 64 };
  // integers and reals both exactly
  if (only(held, 'integer', 'real')) return { kind: 'decimal' };
  return { kind: 'string' };
}

function listed(words: string[]): string {
  return words.length === 1 ? words[0]! : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/** The smallest signed integer type holding min..max. */
function integerFor(min: number, max: number): CanonicalType {
  const bits = ([8, 16, 32] as const).find((b) => min >= -(2 ** (b - 1)) && max < 2 ** (b - 1)) ?? 64;
  return { kind: 'int', bits, unsigned: false };
}

/** The type the data decides for a column of a table, when its declared type does not hold the values; else undefined. */
export function dataType(
  table: string,
  c: Column,
  target: Connector,
  profile: DataProfile,
): DataTypeChoice | undefined {
  const classes = profile.get(table, { kind: 'storageClasses', column: c.name });
  if (classes) {
    const held = CLASSES.filter((k) => classes[k] > 0);
    if (held.length > 0 && !readsAll(c.type, held)) {
      const type = widened(held);
      return {
        type,
        code: 'MIXED_STORAGE',
        why: `holds ${listed(held)} values`,
        ...(type.kind === 'bytes' || classes.blob === 0
          ? {}
          : {
              rejected: `its ${classes.blob} blobs are rejected (a bytes type in the plan keeps them and rejects the rest)`,
            }),
      };
    }
  }
  const notBoolean = profile.get(table, { kind: 'notBoolean', column: c.name });
  if (notBoolean && notBoolean.rows > 0)
    return {
      type: integerFor(notBoolean.min, notBoolean.max),
      code: 'NOT_BOOLEAN',
      why: `holds ${notBoolean.rows} values other than 0 and 1 (from ${notBoolean.min} to ${notBoolean.max})`,
    };
  const durations = profile.get(table, { kind: 'durations', column: c.name });
  if (durations && durations.rows > 0 && !target.capabilities.durations)
    return {
      type: { kind: 'interval' },
      code: 'TIME_DURATIONS',
      why: `holds ${durations.rows} durations (negative, or 24 hours and more), which a ${target.kind} time of day cannot`,
    };
  return undefined;
}

/** Assess's finding for a type the data decided. */
export function dataTypeFinding(table: string, c: Column, choice: DataTypeChoice, target: Connector): Finding {
  const native = target.nativeType(choice.type).native;
  return {
    severity: choice.rejected ? 'warning' : 'info',
    code: choice.code,
    table,
    column: c.name,
    message: `${table}.${c.name} ${c.nativeType || 'without a declared type'} (${formatType(c.type)}) ${choice.why}: planned as ${native} (${formatType(choice.type)}) in ${target.kind}`,
    action: choice.rejected
      ? `${choice.rejected}; or leave out the column, or convert the values in the source`
      : 'no action needed; the plan gives the column a type that holds every value (change its type there to cast)',
  };
}
