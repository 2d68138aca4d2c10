// Names in a target: what each engine accepts (its NameRules, a connector's capability), a name
// made to fit (cut short with a hash of the whole name, so two long names stay two), and names
// made unique within a scope (where names differ only in case, that is no difference).
import { createHash } from 'node:crypto';

/** What one kind of name (a table's, a column's, …) may be in an engine. */
export interface NameRule {
  /** the longest name; absent: no limit */
  max?: number;
  /** what `max` counts: UTF-8 bytes (PostgreSQL) or characters (MySQL) */
  unit?: 'bytes' | 'chars';
  /** the shortest name (DynamoDB table names: 3) */
  min?: number;
  /** names that differ only in case are the same name */
  foldCase?: boolean;
  /** characters a name may not hold (a global regexp); each becomes "_" */
  invalid?: RegExp;
  /** a start of name the engine keeps for itself (SQLite's "sqlite_"; a folder's "." or "_") */
  reservedStart?: RegExp;
  /** the name may not end in a space (MySQL) */
  noTrailingSpace?: boolean;
  /** names the engine gives things of its own in the same scope (DynamoDB's key attributes) */
  reserved?: string[];
}

/** The names an engine gives tables, columns, indexes and constraints, and where each must be unique. */
export interface NameRules {
  table: NameRule;
  column: NameRule;
  index: NameRule;
  constraint: NameRule;
  /** index names are unique in the database (PostgreSQL's schema, SQLite), not per table (MySQL) */
  indexesPerDatabase?: boolean;
  /** index names share one namespace with table names (PostgreSQL's relations, SQLite's schema) */
  indexesShareTableNames?: boolean;
  /** foreign key names are unique in the database (MySQL's InnoDB), not per table */
  constraintsPerDatabase?: boolean;
}

/** How `ferry plan` names target tables and columns: as in the source, lower case, or snake_case. */
export const NAME_POLICIES = ['keep', 'lower', 'snake'] as const;
export type NamePolicy = (typeof NAME_POLICIES)[number];

/** "InvoiceLine" -> "invoice_line", "customerID" -> "customer_id", "Unit Price" -> "unit_price". */
export function snakeCase(name: string): string {
  return name
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1_$2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1_$2')
    .replace(/[\s\-]+/g, '_')
    .toLowerCase();
}

export function applyPolicy(name: string, policy: NamePolicy): string {
  if (policy === 'lower') return name.toLowerCase();
  if (policy === 'snake') return snakeCase(name);
  return name;
}

const HASH_CHARS = 6;

/** A short hash of a whole name: what tells two names apart once both are cut to one prefix. */
function nameHash(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, HASH_CHARS);
}

function measure(name: string, rule: NameRule): number {
  return rule.unit === 'bytes' ? Buffer.byteLength(name) : [...name].length;
}

/** The name cut (on a character boundary) so that it and `tail` fit the rule's limit. */
function cut(name: string, tail: string, rule: NameRule): string {
  const chars = [...name];
  while (chars.length > 0 && measure(chars.join('') + tail, rule) > rule.max!) chars.pop();
  return chars.join('') + tail;
}

/**
 * The name as the rule accepts it: characters it may not hold replaced, a reserved start or
 * a trailing space escaped, padded to the shortest length, and a name over the limit cut with
 * a hash of the whole name (`longname_1a2b3c`), so the same name always becomes the same.
 */
export function fitName(name: string, rule: NameRule): string {
  let out = rule.invalid ? name.replace(rule.invalid, '_') : name;
  if (rule.reservedStart?.test(out)) out = `t_${out}`;
  if (rule.noTrailingSpace) out = out.replace(/ +$/, (s) => '_'.repeat(s.length));
  if (out.length === 0) out = '_';
  if (rule.min !== undefined && out.length < rule.min) out = out.padEnd(rule.min, '_');
  if (rule.max !== undefined && measure(out, rule) > rule.max) out = cut(out, `_${nameHash(name)}`, rule);
  return out;
}

/** Names taken in one scope (a database's tables, a table's columns), compared as the engine compares them. */
export class NameScope {
  private readonly taken = new Set<string>();

  constructor(private readonly rule: NameRule) {
    for (const name of rule.reserved ?? []) this.take(name);
  }

  private key(name: string): string {
    return this.rule.foldCase ? name.toLowerCase() : name;
  }

  has(name: string): boolean {
    return this.taken.has(this.key(name));
  }

  take(name: string): void {
    this.taken.add(this.key(name));
  }

  /**
   * A name of this scope for `wanted`: the first of `candidates` (or `wanted`) that is free once
   * fitted, else the fitted name with `_2`, `_3`, … (cut to make room); it is taken at once.
   */
  claim(wanted: string, candidates: string[] = []): string {
    for (const c of [wanted, ...candidates]) {
      const fitted = fitName(c, this.rule);
      if (!this.has(fitted)) {
        this.take(fitted);
        return fitted;
      }
    }
    const base = fitName(wanted, this.rule);
    for (let n = 2; ; n++) {
      const tail = `_${n}`;
      const numbered =
        this.rule.max !== undefined && measure(base + tail, this.rule) > this.rule.max
          ? cut(base, tail, this.rule)
          : base + tail;
      if (!this.has(numbered)) {
        this.take(numbered);
        return numbered;
      }
    }
  }
}
