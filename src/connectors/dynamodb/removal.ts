// What rollback and the dry run need of a table plan in DynamoDB, where a table plan is the
// items of its entity in a DynamoDB table it may share with other table plans (or with data
// that is not ferry's): whether it has items, its items removed (and the DynamoDB table with
// them when nothing else is left in it), a fingerprint of its items, and a scratch table.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { TableFingerprint, TargetTable } from '../../core/contracts.js';
import { DigestBuilder, digestFingerprint } from '../../core/digest.js';
import { normalizeDecimal } from '../../core/values.js';
import type { Layout } from './layout.js';
import { deleteItems, describeTable, dropTable, hasItems, scanItems, type TableContext } from './tables.js';

const MAX_TABLE_NAME = 255;

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

/** A number in the normal form DynamoDB gives numbers back in (1.5 for 1.50, 7 for 007, no exponent). */
function normalNumber(n: string): string {
  // most are normal already: an optional minus, digits, at most one point, no zero to drop
  const len = n.length;
  const start = n.charCodeAt(0) === 45 ? 1 : 0;
  let dot = -1;
  for (let i = start; i < len; i++) {
    const c = n.charCodeAt(i);
    if (c === 46 && dot < 0) dot = i;
    else if (c < 48 || c > 57) return normalizeDecimal(n);
  }
  const leadingZero = n.charCodeAt(start) === 48 && start + 1 < len && dot !== start + 1;
  const trailingZero = dot >= 0 && (dot === len - 1 || n.charCodeAt(len - 1) === 48);
  const minusZero = start === 1 && /^-0(\.0*)?$/.test(n);
  return leadingZero || trailingZero || minusZero || dot === start ? normalizeDecimal(n) : n;
}

const P1 = 0x01000193;
const P2 = 0x5bd1e995;

/**
 * Two running 32-bit hashes (FNV-1a with two multipliers) over an item as DynamoDB holds it,
 * the same for the same content however DynamoDB gives it back: map keys and the members of
 * sets in sorted order, numbers in their normal form. Strings, names and binary values are fed
 * with their length, so no two items feed the same sequence. A JavaScript hash, not MD5: it runs
 * for every item a chunk puts, and a rollback needs to see changes, not to resist forgery.
 */
class ItemHasher {
  h1 = 0x811c9dc5;
  h2 = 0x3c6ef372;

  private code(c: number): void {
    this.h1 = Math.imul(this.h1 ^ c, P1);
    this.h2 = Math.imul(this.h2 ^ c, P2);
  }

  // the loops keep the hashes in locals: this runs for every character of every item
  private text(s: string): void {
    const n = s.length;
    let h1 = Math.imul(this.h1 ^ n, P1);
    let h2 = Math.imul(this.h2 ^ n, P2);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, P1);
      h2 = Math.imul(h2 ^ c, P2);
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  private bytes(b: Uint8Array): void {
    const n = b.length;
    let h1 = Math.imul(this.h1 ^ n, P1);
    let h2 = Math.imul(this.h2 ^ n, P2);
    for (let i = 0; i < n; i++) {
      const c = b[i]!;
      h1 = Math.imul(h1 ^ c, P1);
      h2 = Math.imul(h2 ^ c, P2);
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  value(v: AttributeValue): void {
    if (v.S !== undefined) {
      this.code(1);
      this.text(v.S);
    } else if (v.N !== undefined) {
      this.code(2);
      this.text(normalNumber(v.N));
    } else if (v.BOOL !== undefined) this.code(v.BOOL ? 3 : 4);
    else if (v.NULL) this.code(5);
    else if (v.B) {
      this.code(6);
      this.bytes(v.B);
    } else if (v.M) {
      this.code(7);
      this.item(v.M);
    } else if (v.L) {
      this.code(8);
      this.code(v.L.length);
      for (const x of v.L) this.value(x);
    } else if (v.SS) this.set(9, [...v.SS].sort());
    else if (v.NS) this.set(10, v.NS.map(normalNumber).sort());
    else if (v.BS) this.set(11, v.BS.map(hex).sort());
    else {
      this.code(12);
      this.text(JSON.stringify(v));
    }
  }

  private set(tag: number, members: string[]): void {
    this.code(tag);
    this.code(members.length);
    for (const m of members) this.text(m);
  }

  item(item: Record<string, AttributeValue>): void {
    const names = Object.keys(item).sort();
    this.code(names.length);
    for (const name of names) {
      this.text(name);
      this.value(item[name]!);
    }
  }
}

/** Murmur3's finaliser: every bit of the input moves every bit of the output. */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * An order-independent digest of every attribute of every item (not only the plan's columns:
 * an attribute the application adds is a change too). The writer digests the items it puts,
 * and the fingerprint the items it scans, alike.
 */
export class ItemDigest extends DigestBuilder {
  addItem(item: Record<string, AttributeValue>): void {
    const h = new ItemHasher();
    h.item(item);
    const a = fmix(h.h1);
    const b = fmix(h.h2);
    this.addLanes(a, b, fmix(a ^ 0x9e3779b9), fmix(b + 0x7f4a7c15));
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
