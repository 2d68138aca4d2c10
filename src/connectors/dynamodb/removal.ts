// What rollback and the dry run need of a table plan in DynamoDB, where a table plan is the
// items of its entity in a DynamoDB table it may share with other table plans (or with data
// that is not ferry's): whether it has items, its items removed (and the DynamoDB table with
// them when nothing else is left in it), a fingerprint of its items, and a scratch table.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { TableFingerprint, TargetTable } from '../../core/contracts.js';
import { DigestBuilder, digestFingerprint } from '../../core/digest.js';
import type { CanonicalType } from '../../core/types.js';
import { normalizeDecimal } from '../../core/values.js';
import type { Layout } from './layout.js';
import { deleteItems, describeTable, dropTable, hasItems, scanItems, type TableContext } from './tables.js';

const MAX_TABLE_NAME = 255;
const TEXT: CanonicalType = { kind: 'string' };

/** Whether the table plan has items in its DynamoDB table (prepare with ifExists fail refuses then). */
export async function holdsItems(ctx: TableContext, layout: Layout): Promise<boolean> {
  return (await describeTable(ctx, layout.tableName)) !== undefined && hasItems(ctx, layout);
}

/** Deletes the table plan's items, then its DynamoDB table when no other item is left in it. */
export async function removeItems(ctx: TableContext, layout: Layout): Promise<void> {
  if (!(await describeTable(ctx, layout.tableName))) return;
  await deleteItems(ctx, layout);
  if (!(await hasItems(ctx, layout, true))) await dropTable(ctx, layout.tableName);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * A value as text, the same for the same content however DynamoDB gives it back: map keys and
 * the members of sets sorted, numbers in their normal form (DynamoDB returns 1.50 as 1.5).
 */
function valueText(v: AttributeValue): string {
  if (v.N !== undefined) return `N${normalizeDecimal(v.N)}`;
  if (v.M) return `{${itemText(v.M)}}`;
  if (v.L) return `[${v.L.map(valueText).join(',')}]`;
  if (v.SS) return `SS${JSON.stringify([...v.SS].sort())}`;
  if (v.NS) return `NS${JSON.stringify(v.NS.map(normalizeDecimal).sort())}`;
  if (v.BS) return `BS${JSON.stringify(v.BS.map(hex).sort())}`;
  if (v.B) return `B${hex(v.B)}`;
  return JSON.stringify(v);
}

function itemText(item: Record<string, AttributeValue>): string {
  return Object.keys(item)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${valueText(item[k]!)}`)
    .join(',');
}

/**
 * An order-independent digest of every attribute of every item (not only the plan's columns:
 * an attribute the application adds is a change too). The writer digests the items it puts,
 * and the fingerprint the items it scans, alike.
 */
export class ItemDigest extends DigestBuilder {
  constructor() {
    super([TEXT]);
  }
  addItem(item: Record<string, AttributeValue>): void {
    this.add([itemText(item)]);
  }
}

/** The table plan's items: how many, and their digest. Undefined when the DynamoDB table does not exist. */
export async function itemsFingerprint(ctx: TableContext, layout: Layout): Promise<TableFingerprint | undefined> {
  if (!(await describeTable(ctx, layout.tableName))) return undefined;
  const digest = new ItemDigest();
  await scanItems(ctx, {
    layout,
    segments: ctx.options.scanSegments,
    consistent: true,
    onItems: (items) => items.forEach((item) => digest.addItem(item)),
  });
  return digestFingerprint(digest.result());
}

/**
 * A dry run's copy of a table plan: its DynamoDB table's name with the suffix, given as the
 * plan's options.table. Renaming the table plan would not do: the DynamoDB table comes from
 * options.table first, and the sample would go into the real table. Table plans that share a
 * DynamoDB table share its scratch table, which is named as the scratch table plan is.
 */
export function scratchTable(table: TargetTable, layout: Layout, suffix: string): TargetTable {
  const name = layout.tableName.slice(0, MAX_TABLE_NAME - suffix.length) + suffix;
  return { ...table, name, options: { ...table.options, table: name } };
}
