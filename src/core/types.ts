// Canonical types: ferry's own type system, the pivot between every pair of engines.
// Each has a compact text form ("int64", "decimal(10,2)", "timestamptz(6)") used in plans.
import { FerryError } from './errors.js';

export type CanonicalType =
  | { kind: 'int'; bits: 8 | 16 | 24 | 32 | 64; unsigned: boolean }
  | { kind: 'decimal'; precision?: number; scale?: number }
  | { kind: 'float'; bits: 32 | 64 }
  | { kind: 'bool' }
  | { kind: 'string'; length?: number; fixed?: boolean }
  | { kind: 'bytes'; length?: number; fixed?: boolean }
  | { kind: 'date' }
  | { kind: 'time'; precision: number; tz: boolean }
  | { kind: 'timestamp'; precision: number; tz: boolean }
  | { kind: 'year' }
  | { kind: 'enum'; values: string[] }
  | { kind: 'set'; values: string[] }
  | { kind: 'json'; binary: boolean }
  | { kind: 'uuid' }
  | { kind: 'array'; element: CanonicalType }
  | { kind: 'bit'; length: number; varying: boolean }
  | { kind: 'interval' }
  /** a geometry of any shape, with its spatial reference (SRID) */
  | { kind: 'geometry' };

export type TypeKind = CanonicalType['kind'];

function quoteList(values: string[]): string {
  return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
}

export function formatType(t: CanonicalType): string {
  switch (t.kind) {
    case 'int':
      return `${t.unsigned ? 'uint' : 'int'}${t.bits}`;
    case 'decimal':
      return t.precision === undefined ? 'decimal' : `decimal(${t.precision},${t.scale ?? 0})`;
    case 'float':
      return `float${t.bits}`;
    case 'bool':
      return 'bool';
    case 'string':
      return t.length === undefined ? 'text' : `${t.fixed ? 'char' : 'varchar'}(${t.length})`;
    case 'bytes':
      return t.length === undefined ? 'bytes' : `${t.fixed ? 'binary' : 'varbinary'}(${t.length})`;
    case 'date':
    case 'year':
    case 'uuid':
    case 'interval':
    case 'geometry':
      return t.kind;
    case 'time':
      return `${t.tz ? 'timetz' : 'time'}(${t.precision})`;
    case 'timestamp':
      return `${t.tz ? 'timestamptz' : 'timestamp'}(${t.precision})`;
    case 'enum':
    case 'set':
      return `${t.kind}(${quoteList(t.values)})`;
    case 'json':
      return t.binary ? 'jsonb' : 'json';
    case 'array':
      return `array<${formatType(t.element)}>`;
    case 'bit':
      return `${t.varying ? 'varbit' : 'bit'}(${t.length})`;
  }
}

function parseQuotedList(body: string, text: string): string[] {
  const values: string[] = [];
  const re = /\s*'((?:[^']|'')*)'\s*(,|$)/y;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m)
      throw new FerryError(
        'PLAN_INVALID',
        `cannot read the value list of type "${text}"`,
        "write values as quoted strings: enum('a','b')",
      );
    values.push(m[1]!.replace(/''/g, "'"));
    pos = re.lastIndex;
  }
  return values;
}

/** Parses the text form written by formatType. */
export function parseType(text: string): CanonicalType {
  const s = text.trim();
  const bad = () =>
    new FerryError(
      'PLAN_INVALID',
      `unknown canonical type "${text}"`,
      'use one of int8..int64, uint8..uint64, decimal(p,s), float32, float64, bool, text, varchar(n), char(n), bytes, binary(n), varbinary(n), date, time(p), timetz(p), timestamp(p), timestamptz(p), year, enum(...), set(...), json, jsonb, uuid, array<T>, bit(n), varbit(n), interval, geometry',
    );
  let m = /^(u?)int(8|16|24|32|64)$/.exec(s);
  if (m) return { kind: 'int', bits: Number(m[2]) as 8 | 16 | 24 | 32 | 64, unsigned: m[1] === 'u' };
  if (s === 'decimal') return { kind: 'decimal' };
  m = /^decimal\((\d+),(\d+)\)$/.exec(s);
  if (m) return { kind: 'decimal', precision: Number(m[1]), scale: Number(m[2]) };
  m = /^float(32|64)$/.exec(s);
  if (m) return { kind: 'float', bits: Number(m[1]) as 32 | 64 };
  if (s === 'bool') return { kind: 'bool' };
  if (s === 'text') return { kind: 'string' };
  m = /^(var)?char\((\d+)\)$/.exec(s);
  if (m) return { kind: 'string', length: Number(m[2]), fixed: !m[1] };
  if (s === 'bytes') return { kind: 'bytes' };
  m = /^(var)?binary\((\d+)\)$/.exec(s);
  if (m) return { kind: 'bytes', length: Number(m[2]), fixed: !m[1] };
  if (s === 'date' || s === 'year' || s === 'uuid' || s === 'interval' || s === 'geometry')
    return { kind: s } as CanonicalType;
  m = /^(time|timetz|timestamp|timestamptz)\((\d)\)$/.exec(s);
  if (m) {
    const tz = m[1]!.endsWith('tz');
    return { kind: m[1]!.startsWith('timestamp') ? 'timestamp' : 'time', precision: Number(m[2]), tz };
  }
  m = /^(enum|set)\((.*)\)$/s.exec(s);
  if (m) return { kind: m[1] as 'enum' | 'set', values: parseQuotedList(m[2]!, text) };
  if (s === 'json' || s === 'jsonb') return { kind: 'json', binary: s === 'jsonb' };
  m = /^array<(.+)>$/.exec(s);
  if (m) return { kind: 'array', element: parseType(m[1]!) };
  m = /^(var)?bit\((\d+)\)$/.exec(s);
  if (m) return { kind: 'bit', length: Number(m[2]), varying: !!m[1] };
  throw bad();
}

export function sameType(a: CanonicalType, b: CanonicalType): boolean {
  return formatType(a) === formatType(b);
}

/** A column as a connector sees it: its native type and the canonical type its values travel as. */
export interface Column {
  name: string;
  type: CanonicalType;
  nativeType: string;
  nullable: boolean;
  default?: string;
  /** identity / auto_increment / serial: the target recreates it and resets its counter */
  autoIncrement?: boolean;
  comment?: string;
}

export interface IndexInfo {
  name: string;
  columns: string[];
  unique: boolean;
  /** expression or partial indexes that cannot be carried generically */
  expression?: string;
}

export interface ForeignKey {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete?: string;
  onUpdate?: string;
}

export interface TableInfo {
  /** name as the engine spells it (schema-qualified only when not in the default schema) */
  name: string;
  columns: Column[];
  primaryKey: string[];
  uniqueKeys: string[][];
  indexes: IndexInfo[];
  foreignKeys: ForeignKey[];
  rowEstimate: number;
  bytesEstimate: number;
}

export interface SchemaInfo {
  engine: string;
  version: string;
  tables: TableInfo[];
}

/** A batch of rows, values canonical (see core/values.ts). */
export interface RowBatch {
  rows: unknown[][];
}

/** A half-open key range [lower, upper) over a table's chunk key; a missing bound is open. */
export interface KeyRange {
  lower?: unknown[];
  upper?: unknown[];
}

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  code: string;
  table?: string;
  column?: string;
  message: string;
  /** what to do about it */
  action: string;
}
