// Key templates ("CUSTOMER#{CustomerId}") and the order of chunk keys.
import { FerryError } from '../../core/errors.js';
import type { CanonicalType, TypeKind } from '../../core/types.js';
import { canonicalText, formatFloat, normalizeDecimal } from '../../core/values.js';
import { epochMicros } from './codec.js';

/** `{#row}` in a template: a digest of the row's values and its occurrence, for tables without a key. */
export const ROW_PLACEHOLDER = '#row';

export type TemplatePart = { literal: string } | { column: number } | { row: true };

export interface Template {
  text: string;
  parts: TemplatePart[];
  /** column positions the template reads */
  columns: number[];
  /** the column position when the template is exactly one column ("{id}") */
  bare?: number;
  usesRow: boolean;
}

/** Parses a template against the target column names. */
export function parseTemplate(text: string, names: string[], where: string): Template {
  const parts: TemplatePart[] = [];
  const re = /\{([^{}]*)\}/g;
  let last = 0;
  const literal = (s: string) => {
    if (/[{}]/.test(s))
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: template "${text}" has an unmatched brace`,
        'write placeholders as {Column}',
      );
    if (s) parts.push({ literal: s });
  };
  for (let m = re.exec(text); m; m = re.exec(text)) {
    literal(text.slice(last, m.index));
    last = re.lastIndex;
    const name = m[1]!;
    if (name === ROW_PLACEHOLDER) {
      parts.push({ row: true });
      continue;
    }
    const column = names.indexOf(name);
    if (column < 0)
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: template "${text}" names {${name}}, which is not a column of the table`,
        `use target column names: ${names.join(', ')}, or {${ROW_PLACEHOLDER}}`,
      );
    parts.push({ column });
  }
  literal(text.slice(last));
  if (parts.length === 0)
    throw new FerryError(
      'PLAN_INVALID',
      `${where}: a key template is empty`,
      'write a template such as "CUSTOMER#{CustomerId}"',
    );
  const columns = parts.flatMap((p) => ('column' in p ? [p.column] : []));
  const only = parts.length === 1 ? parts[0]! : undefined;
  return {
    text,
    parts,
    columns,
    bare: only && 'column' in only ? only.column : undefined,
    usesRow: parts.some((p) => 'row' in p),
  };
}

/** The text a column value takes in a key (timestamps in ISO 8601, as their attributes). */
export function keyText(t: CanonicalType): (v: unknown) => string {
  switch (t.kind) {
    case 'int':
    case 'year':
      return (v) => String(v);
    case 'decimal':
      return (v) => normalizeDecimal(String(v));
    case 'float':
      return (v) => formatFloat(v as number, t.bits);
    case 'bool':
      return (v) => (v ? 'true' : 'false');
    case 'timestamp':
      return (v) => (v as string).replace(' ', 'T');
    case 'string':
    case 'enum':
    case 'uuid':
    case 'date':
    case 'time':
    case 'bit':
    case 'interval':
      return (v) => String(v);
    default:
      return (v) => canonicalText(v, t);
  }
}

/** Kinds whose key text never holds a character other than these, so a literal after them delimits them. */
const KEY_CHARSET: Partial<Record<TypeKind, RegExp>> = {
  int: /[-0-9]/,
  year: /[0-9]/,
  decimal: /[-0-9.]/,
  date: /[-0-9]/,
  timestamp: /[-0-9:.TZ]/,
  time: /[-0-9:.+]/,
  uuid: /[-0-9a-f]/,
  bool: /[a-z]/,
  bytes: /[0-9a-f]/,
  bit: /[01]/,
};

/** Why two rows with different values of the template's columns could give the same text, or undefined. */
export function ambiguity(template: Template, types: CanonicalType[], names: string[]): string | undefined {
  const parts = template.parts;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (!('column' in part)) continue;
    const next = parts[i + 1];
    if (next === undefined) continue;
    if (!('literal' in next))
      return `{${names[part.column]}} is followed by another placeholder with nothing between them`;
    const charset = KEY_CHARSET[types[part.column]!.kind];
    if (!charset || charset.test(next.literal[0]!))
      return `a value of {${names[part.column]}} may contain "${next.literal[0]}", which follows it in "${template.text}"`;
  }
  return undefined;
}

/** The literal text every key of the template starts with. */
export function literalPrefix(template: Template): string {
  let s = '';
  for (const p of template.parts) {
    if (!('literal' in p)) break;
    s += p.literal;
  }
  return s;
}

// ---- chunk key order: a text per key whose byte order is the canonical order of the key

const INT_OFFSET = 1n << 64n;
const intKey = (v: bigint) => (v + INT_OFFSET).toString(16).padStart(17, '0');

/** A decimal as text that sorts as the number: sign, exponent, then digits (inverted for negatives). */
function decimalKey(s: string): string {
  const n = normalizeDecimal(s);
  if (n === '0') return '1';
  const neg = n.startsWith('-');
  const [int = '', frac = ''] = (neg ? n.slice(1) : n).split('.');
  let exponent: number;
  let digits: string;
  if (int !== '0') {
    exponent = int.length;
    digits = (int + frac).replace(/0+$/, '');
  } else {
    const lead = frac.length - frac.replace(/^0+/, '').length;
    exponent = -lead;
    digits = frac.slice(lead);
  }
  const e = exponent + 50_000;
  if (!neg) return `2${String(e).padStart(6, '0')}${digits}`;
  let inverted = '';
  for (let i = 0; i < digits.length; i++) inverted += String(9 - (digits.charCodeAt(i) - 48));
  // the terminator sorts after every digit, so that a longer negative (a larger magnitude) comes first
  return `0${String(100_000 - e).padStart(6, '0')}${inverted}:`;
}

function componentKey(t: CanonicalType): (v: unknown) => string {
  switch (t.kind) {
    case 'int':
    case 'year':
      return (v) => intKey(BigInt(v as number | bigint));
    case 'decimal':
      return (v) => decimalKey(String(v));
    case 'date':
    case 'timestamp':
      return (v) => intKey(epochMicros(String(v)));
    case 'bool':
      return (v) => (v ? '1' : '0');
    default:
      return (v) => canonicalText(v, t);
  }
}

/** The ordered text of a key tuple (components joined by a character below every component's). */
export function tupleKey(types: CanonicalType[]): (values: unknown[]) => string {
  const parts = types.map(componentKey);
  if (parts.length === 1) {
    const only = parts[0]!;
    return (values) => only(values[0]);
  }
  return (values) => parts.map((p, i) => p(values[i])).join('\u0001');
}
