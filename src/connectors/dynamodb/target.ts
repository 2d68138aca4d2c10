// The DynamoDB target: tables created on demand or provisioned with their indexes, items put by
// key (a replayed chunk overwrites its own items), keys that could collide written with a
// condition, and the table read back once per verify through a local index of the chunk key.
import type {
  AppliedChange,
  ChunkWrite,
  IfExists,
  LockHolder,
  LockOutcome,
  TableFingerprint,
  Target,
  TargetTable,
  WriteResult,
} from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Column, Finding, KeyRange, RowBatch } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import { DynamoApply, unfollowable } from './apply.js';
import { numberCheck } from './codec.js';
import { literalPrefix } from './keys.js';
import { Layout, type IndexLayout } from './layout.js';
import { takeDynamoLock } from './lock.js';
import { ReadBackStore } from './readback.js';
import { holdsItems, itemsFingerprint, removeItems, scratchTable } from './removal.js';
import {
  createTable,
  deleteItems,
  describeTable,
  dropTable,
  ensureIndexes,
  hasItems,
  keyMismatch,
  scanItems,
  type TableContext,
} from './tables.js';
import { parseNative } from './typemap.js';
import { writeChunk } from './writer.js';

const MAX_ITEM_KB = 400;

/** The largest UTF-8 size a value of the column can have, or undefined when it has no bound. */
function maxValueBytes(c: Column): number | undefined {
  const t = c.type;
  switch (t.kind) {
    case 'string':
      return t.length === undefined ? undefined : 4 * t.length;
    case 'bytes':
      return t.length;
    case 'enum':
      return Math.max(0, ...t.values.map((v) => Buffer.byteLength(v)));
    case 'set':
      return t.values.reduce((n, v) => n + Buffer.byteLength(v), 0);
    case 'json':
    case 'array':
    case 'interval':
    case 'geometry':
      return undefined;
    case 'bit':
      return t.length;
    default:
      return 40;
  }
}

export class DynamoTarget implements Target {
  /** items go out without a transaction, each checked before it is sent (see writer.ts) */
  readonly isolatesFree = true;
  /** indexes every table plan of the run declares, by DynamoDB table (check() sees the whole plan first) */
  private readonly planIndexes = new Map<string, IndexLayout[]>();
  /** entities whose keys may meet another entity's in a shared table, by "table\0entity" */
  private readonly sharedRisk = new Map<string, string>();
  /** DynamoDB tables this connector dropped and created again (once per run, even when tables share one) */
  private readonly recreated = new Set<string>();
  private readonly readBack_ = new ReadBackStore();

  private readonly changes: DynamoApply;

  constructor(private readonly ctx: TableContext) {
    this.changes = new DynamoApply(ctx, {
      layoutOf: (table) => this.layoutOf(table),
      conditional: (l) => this.conditional(l),
      changed: (tableName) => this.readBack_.forget(tableName),
    });
  }

  lock(name: string, me: LockHolder): Promise<LockOutcome> {
    return takeDynamoLock(this.ctx, name, me);
  }

  /** The table's items are put one by one with a condition: its keys may meet another row's (see check()). */
  private conditional(l: Layout): boolean {
    return l.collisionRisk !== undefined || this.sharedRisk.has(`${l.tableName}\u0000${l.entity}`);
  }

  /** Compiled afresh for every call: it is cheap, and a caller may change the table between calls. */
  layoutOf(table: TargetTable): Layout {
    return new Layout(table, this.ctx.options);
  }

  async check(tables: TargetTable[]): Promise<Finding[]> {
    const findings: Finding[] = [];
    const layouts = tables.map((t) => this.layoutOf(t));
    const byTable = new Map<string, Layout[]>();
    for (const l of layouts) byTable.set(l.tableName, [...(byTable.get(l.tableName) ?? []), l]);

    for (const [name, group] of byTable) {
      const indexes = new Map<string, IndexLayout>();
      for (const l of group)
        for (const ix of l.indexes) {
          const seen = indexes.get(ix.name);
          if (seen && JSON.stringify(seen) !== JSON.stringify(ix))
            findings.push({
              severity: 'error',
              code: 'DYNAMODB_INDEX_CONFLICT',
              table: l.table.name,
              message: `index ${ix.name} of DynamoDB table ${name} is declared differently by two table plans`,
              action: 'declare the index alike in every table plan, or give it another name',
            });
          indexes.set(ix.name, ix);
        }
      this.planIndexes.set(name, [...indexes.values()]);
      if (group.length === 1) continue;
      const [first] = group;
      for (const l of group) {
        const keys = (x: Layout) =>
          x
            .keyAttributes()
            .map((k) => `${k.attribute} ${k.type}`)
            .join(', ');
        if (keys(l) !== keys(first!))
          findings.push({
            severity: 'error',
            code: 'DYNAMODB_KEY_CONFLICT',
            table: l.table.name,
            message: `${l.table.name} and ${first!.table.name} share DynamoDB table ${name} with different keys (${keys(l)}) and (${keys(first!)})`,
            action:
              'give every table plan of a shared DynamoDB table the same key attributes (templated keys are strings)',
          });
        if (l.entity === undefined || group.some((o) => o !== l && o.entity === l.entity))
          findings.push({
            severity: 'error',
            code: 'DYNAMODB_ENTITY_MISSING',
            table: l.table.name,
            message: `${l.table.name} shares DynamoDB table ${name} with other tables and has ${l.entity === undefined ? 'no entity' : `the same entity (${l.entity}) as another`}`,
            action: 'give each table plan sharing a DynamoDB table its own options.entity',
          });
      }
      for (const a of group)
        for (const b of group) {
          if (a === b || disjoint(a, b)) continue;
          this.sharedRisk.set(
            `${name}\u0000${a.entity}`,
            `its keys may equal keys of ${b.table.name} in DynamoDB table ${name}`,
          );
        }
    }

    for (const l of layouts) {
      const t = l.table;
      const risk = l.collisionRisk ?? this.sharedRisk.get(`${l.tableName}\u0000${l.entity}`);
      if (risk)
        findings.push({
          severity: 'warning',
          code: 'DYNAMODB_KEY_COLLISION',
          table: t.name,
          message: `two rows of ${t.name} may map to one DynamoDB item: ${risk}`,
          action:
            'put the primary key columns in the key templates (with a separator such as # after each value that is not the last); until then items are written one by one with a condition, and a row whose key is taken is refused',
        });
      if (t.uniqueKeys.length > 0 || t.foreignKeys.length > 0 || t.indexes.length > 0)
        findings.push({
          severity: 'info',
          code: 'DYNAMODB_NO_CONSTRAINTS',
          table: t.name,
          message: `DynamoDB keeps no unique keys, foreign keys or secondary indexes: those of ${t.name} are not created`,
          action: 'declare global secondary indexes in the table options (gsis) for the queries that need them',
        });
      const noFollow = unfollowable(t, l);
      if (noFollow)
        findings.push({
          severity: 'info',
          code: 'DYNAMODB_NOT_FOLLOWABLE',
          table: t.name,
          message: `live changes (ferry run --follow) cannot be applied to ${t.name}: ${noFollow}`,
          action:
            'to follow it, make its key templates (options.partitionKey, options.sortKey) of its primary key columns only',
        });
      const unbounded = t.columns.filter((c) => maxValueBytes(c) === undefined).map((c) => c.name);
      const bounded = t.columns.reduce((n, c) => n + (maxValueBytes(c) ?? 0) + Buffer.byteLength(c.name), 0);
      if (unbounded.length > 0 || bounded > MAX_ITEM_KB * 1024)
        findings.push({
          severity: unbounded.length > 0 ? 'info' : 'warning',
          code: 'DYNAMODB_ITEM_SIZE',
          table: t.name,
          message: `items of ${t.name} may exceed DynamoDB's ${MAX_ITEM_KB} KB item limit${unbounded.length > 0 ? ` when ${unbounded.join(', ')} ${unbounded.length > 1 ? 'hold' : 'holds'} large values` : ''}`,
          action:
            'a row whose item is larger is refused with its size as the reason; exclude or shorten large columns to keep such rows',
        });
      for (const c of t.columns) {
        const attr = parseNative(c.nativeType).attr;
        if (attr === 'N' && numberCheck(c.type) && this.ctx.options.bigNumbers === 'string')
          findings.push({
            severity: 'info',
            code: 'DYNAMODB_BIG_NUMBERS',
            table: t.name,
            column: c.name,
            message: `values of ${t.name}.${c.name} (${formatType(c.type)}) that a DynamoDB number cannot hold are stored as strings`,
            action: 'readers of the attribute must accept N and S values',
          });
      }
      const desc = await describeTable(this.ctx, l.tableName);
      const mismatch = desc && keyMismatch(desc, l);
      if (mismatch)
        findings.push({
          severity: 'warning',
          code: 'DYNAMODB_TABLE_KEY',
          table: t.name,
          message: mismatch,
          action:
            'the run fails before writing unless target.ifExists is drop; drop the table or change the key in the plan',
        });
    }
    return findings;
  }

  async prepare(table: TargetTable, ifExists: IfExists): Promise<void> {
    const l = this.layoutOf(table);
    this.readBack_.forget(l.tableName);
    const indexes = mergeIndexes(this.planIndexes.get(l.tableName) ?? [], l.indexes);
    const desc = await describeTable(this.ctx, l.tableName);
    if (!desc) {
      await createTable(this.ctx, l, indexes);
      this.recreated.add(l.tableName);
      return;
    }
    if (ifExists === 'drop' && !this.recreated.has(l.tableName)) {
      await dropTable(this.ctx, l.tableName);
      await createTable(this.ctx, l, indexes);
      this.recreated.add(l.tableName);
      return;
    }
    const mismatch = keyMismatch(desc, l);
    if (mismatch)
      throw new FerryError(
        'TABLE_EXISTS',
        mismatch,
        'drop the DynamoDB table, set target.ifExists to drop in the plan, or change the key templates in the table options',
      );
    if (ifExists === 'fail') {
      if (await hasItems(this.ctx, l))
        throw new FerryError(
          'TABLE_EXISTS',
          `DynamoDB table ${l.tableName} already holds items${l.entity !== undefined ? ` of entity ${l.entity}` : ''} (table ${table.name})`,
          'set target.ifExists to drop or truncate in the plan',
        );
      return;
    }
    await deleteItems(this.ctx, l);
  }

  async writeChunk(chunk: ChunkWrite, batches: AsyncIterable<RowBatch>): Promise<WriteResult> {
    const l = this.layoutOf(chunk.table);
    this.readBack_.forget(l.tableName);
    // a table without a chunk key is one chunk: its replay replaces everything it wrote
    if (chunk.replace && chunk.table.key.length === 0) await deleteItems(this.ctx, l);
    return writeChunk(this.ctx, l, chunk, batches, this.conditional(l));
  }

  async finishTable(table: TargetTable): Promise<void> {
    await ensureIndexes(this.ctx, this.layoutOf(table));
  }

  async addForeignKeys(): Promise<void> {
    // DynamoDB has no foreign keys: single-table designs place children under their parents instead
  }

  private scanner(l: Layout) {
    return (onRows: (rows: unknown[][]) => void) =>
      scanItems(this.ctx, {
        layout: l,
        segments: this.ctx.options.scanSegments,
        onItems: (items) => onRows(items.map((item) => l.row(item))),
      });
  }

  readBack(table: TargetTable, range: KeyRange, batchRows: number): AsyncIterable<RowBatch> {
    const l = this.layoutOf(table);
    return this.readBack_.rows(l, range, batchRows, this.scanner(l));
  }

  count(table: TargetTable, range: KeyRange): Promise<number> {
    const l = this.layoutOf(table);
    return this.readBack_.count(l, range, this.scanner(l));
  }

  applyChanges(changes: AppliedChange[], stream: string, position: string): Promise<void> {
    return this.changes.applyChanges(changes, stream, position);
  }

  /**
   * Items are schemaless: the changes that carry the column give it to their items. A default
   * would have to be written into every item the table holds: it is refused.
   */
  async addColumn(table: TargetTable, column: Column): Promise<void> {
    if (column.default !== undefined)
      throw new FerryError(
        'UNSUPPORTED',
        `column ${column.name} of ${table.name} has a default (${column.default}): the items DynamoDB holds cannot be given it`,
        'add the column without a default on the source, then set its values with an UPDATE (ferry follows it)',
      );
    this.readBack_.forget(this.layoutOf(table).tableName);
  }

  appliedPosition(stream: string): Promise<string | undefined> {
    return this.changes.appliedPosition(stream);
  }

  exists(table: TargetTable): Promise<boolean> {
    return holdsItems(this.ctx, this.layoutOf(table));
  }

  /** Removes the table plan's items, and its DynamoDB table when nothing else is left in it. */
  async drop(table: TargetTable): Promise<void> {
    const l = this.layoutOf(table);
    this.readBack_.forget(l.tableName);
    await removeItems(this.ctx, l);
  }

  fingerprint(table: TargetTable): Promise<TableFingerprint | undefined> {
    return itemsFingerprint(this.ctx, this.layoutOf(table));
  }

  scratch(table: TargetTable, suffix: string): TargetTable {
    const l = this.layoutOf(table);
    const copy = scratchTable(table, l, suffix);
    // written as the real table would be: with the indexes and conditional writes check() found for it
    const indexes = this.planIndexes.get(l.tableName);
    if (indexes) this.planIndexes.set(copy.name, indexes);
    const risk = this.sharedRisk.get(`${l.tableName}\u0000${l.entity}`);
    if (risk) this.sharedRisk.set(`${copy.name}\u0000${l.entity}`, risk);
    return copy;
  }

  valueCheck(column: Column): ((v: unknown) => string | undefined) | undefined {
    if (this.ctx.options.bigNumbers === 'string' || parseNative(column.nativeType).attr !== 'N') return undefined;
    return numberCheck(column.type);
  }

  close(): void {
    this.readBack_.close();
  }
}

/** Whether no key of one entity can equal a key of the other: a literal prefix of one key differs. */
function disjoint(a: Layout, b: Layout): boolean {
  const differ = (x: string, y: string) => !x.startsWith(y) && !y.startsWith(x);
  if (differ(literalPrefix(a.partition.template!), literalPrefix(b.partition.template!))) return true;
  return (
    a.sort !== undefined &&
    b.sort !== undefined &&
    differ(literalPrefix(a.sort.template!), literalPrefix(b.sort.template!))
  );
}

function mergeIndexes(declared: IndexLayout[], own: IndexLayout[]): IndexLayout[] {
  const byName = new Map(declared.map((ix) => [ix.name, ix]));
  for (const ix of own) if (!byName.has(ix.name)) byName.set(ix.name, ix);
  return [...byName.values()];
}
