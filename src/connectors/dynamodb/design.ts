// What `ferry plan` proposes for DynamoDB. "per-table" (the default): each source table becomes
// a DynamoDB table of the same name, keyed by its primary key, one attribute per column.
// "single-table": every source table goes into one DynamoDB table, each item carrying its
// entity type, a child row placed in its parent's partition through a required foreign key
// (an adjacency list), so one Query by the parent's key returns the parent and its children;
// an inverted index (GSI1: SK, then PK) finds any item by its own key.
import type { Proposal } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { allTables, type Plan, type PlanNote, type TablePlan } from '../../core/plan.js';
import type { ProfileAnswers } from '../../core/profile.js';
import type { SchemaInfo } from '../../core/types.js';
import { defaultKeyTemplates } from './layout.js';

export const DESIGNS = ['per-table', 'single-table'];
const SINGLE_TABLE_NAME = 'App';

/** The columns that identify a planned table's rows: its primary key, else a unique key without NULLs. */
function identity(tp: TablePlan): string[] {
  if (tp.primaryKey.length > 0) return tp.primaryKey;
  const notNull = (c: string) => tp.columns.some((x) => x.target === c && !x.exclude && x.nullable === false);
  return tp.uniqueKeys.find((u) => u.length > 0 && u.every(notNull)) ?? [];
}

/** "InvoiceLine" -> "INVOICELINE", "order_items" -> "ORDER_ITEMS": the entity's key prefix. */
const prefixOf = (tp: TablePlan) => tp.target.toUpperCase().replace(/[^A-Z0-9_]/g, '_');

const ownKey = (tp: TablePlan) => {
  const cols = identity(tp);
  return `${prefixOf(tp)}#${cols.length > 0 ? cols.map((c) => `{${c}}`).join('#') : '{#row}'}`;
};

/**
 * The key templates of a table in a DynamoDB table of its own: its identifying columns, each the
 * key attribute itself, but for a text or bytes column that holds empty values (a DynamoDB key
 * cannot be empty): its key is the entity's prefix and the value, and a note says so.
 */
function ownTableKeys(tp: TablePlan, measured: ProfileAnswers): { options: Record<string, string>; notes: PlanNote[] } {
  const columns = identity(tp);
  const options: Record<string, string> = { ...defaultKeyTemplates(columns) };
  const notes: PlanNote[] = [];
  // only a key of one column is the column's own attribute; several are joined by '#', never empty
  const bare: [string, string | undefined][] = [
    ['partitionKey', columns[0]],
    ['sortKey', columns.length === 2 ? columns[1] : undefined],
  ];
  for (const [option, column] of bare) {
    const source = tp.columns.find((c) => c.target === column)?.source;
    const rows =
      source === undefined ? 0 : (measured.get(tp.source, { kind: 'emptyValues', column: source })?.rows ?? 0);
    if (rows === 0) continue;
    options[option] = `${prefixOf(tp)}#{${column}}`;
    notes.push({
      table: tp.source,
      at: { option },
      note: `${column} holds ${rows} empty value${rows === 1 ? '' : 's'}, which a DynamoDB key cannot be: the key is ${prefixOf(tp)}# and the value`,
    });
  }
  return { options, notes };
}

// a parent with fewer rows than this share of its children's is a lookup table (a genre, a
// currency): putting every child under a few partitions would make them hot
const LOOKUP_SHARE = 0.01;

/**
 * The parent a table's rows are placed under: a required foreign key to the parent's identifying
 * columns, preferring a parent whose name starts the child's (InvoiceLine under Invoice), then one
 * whose key starts the child's primary key (a playlist's tracks), then the one with most rows,
 * but never a lookup table otherwise.
 */
function parentOf(
  tp: TablePlan,
  byTarget: Map<string, TablePlan>,
  rows: Map<string, number>,
): { parent: TablePlan; partitionKey: string } | undefined {
  const childRows = rows.get(tp.source) ?? 0;
  const candidates = tp.foreignKeys.flatMap((fk) => {
    const parent = byTarget.get(fk.refTable);
    if (!parent || parent === tp) return [];
    const parentKey = identity(parent);
    const required = fk.columns.every((c) =>
      tp.columns.some((x) => x.target === c && !x.exclude && x.nullable === false),
    );
    if (
      !required ||
      parentKey.length === 0 ||
      parentKey.length !== fk.refColumns.length ||
      !parentKey.every((c) => fk.refColumns.includes(c))
    )
      return [];
    const parentRows = rows.get(parent.source) ?? 0;
    const columns = parentKey.map((c) => fk.columns[fk.refColumns.indexOf(c)]!);
    const named = tp.target.toLowerCase().startsWith(parent.target.toLowerCase().replace(/s$/, ''));
    const owning = fk.columns.every((c, i) => tp.primaryKey[i] === c);
    if (!named && !owning && parentRows > 0 && parentRows < childRows * LOOKUP_SHARE) return [];
    return [
      {
        parent,
        partitionKey: `${prefixOf(parent)}#${columns.map((c) => `{${c}}`).join('#')}`,
        rank: [Number(named), Number(owning), parentRows],
      },
    ];
  });
  candidates.sort((a, b) => b.rank[0]! - a.rank[0]! || b.rank[1]! - a.rank[1]! || b.rank[2]! - a.rank[2]!);
  return candidates[0];
}

export function proposePlan(
  plan: Plan,
  schema: SchemaInfo,
  design: string | undefined,
  measured: ProfileAnswers,
): Proposal {
  design ??= DESIGNS[0]!;
  if (!DESIGNS.includes(design))
    throw new FerryError('PLAN_INVALID', `unknown DynamoDB design "${design}"`, `use ${DESIGNS.join(' or ')}`);
  const tables = allTables(plan);
  const single = design === 'single-table';
  plan.target.options = {
    ...(single ? { table: SINGLE_TABLE_NAME } : {}),
    billing: 'on-demand',
    nulls: 'omit',
    bigNumbers: 'reject',
    ...plan.target.options,
  };
  if (!single) {
    const notes: PlanNote[] = [];
    for (const tp of tables) {
      const keys = ownTableKeys(tp, measured);
      tp.options = { ...keys.options, ...tp.options };
      notes.push(...keys.notes);
    }
    return { plan, notes };
  }
  const byTarget = new Map(tables.map((tp) => [tp.target, tp]));
  const rows = new Map(schema.tables.map((t) => [t.name, t.rowEstimate]));
  for (const tp of tables) {
    const parent = parentOf(tp, byTarget, rows);
    tp.options = {
      entity: tp.target,
      partitionKey: parent ? parent.partitionKey : ownKey(tp),
      sortKey: ownKey(tp),
      ...(parent ? { gsis: [{ name: 'GSI1', partitionKey: { attribute: 'SK' }, sortKey: { attribute: 'PK' } }] } : {}),
      ...tp.options,
    };
  }
  return { plan, notes: [] };
}
