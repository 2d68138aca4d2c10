// Live changes into DynamoDB (Target.applyChanges). A call's changes are worked out in the
// source's order over what the items hold (read first, where an update carries UNCHANGED
// columns) into one final state per item: a whole item to put, or a key to delete. Those are
// written (puts and deletes of distinct keys, so in any order), and then the stream's position,
// an item of the `_ferry_positions` table. A call cut short leaves the old position: the same
// changes are applied again from it, and give the same items.
import { BatchGetItemCommand, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { POSITIONS_TABLE, type TableKeys } from '../../core/apply.js';
import { RowStates, type RowState } from '../../core/apply-state.js';
import type { AppliedChange, TargetTable } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { isRetryable, jitter, sleep, toFerryError, withRetries } from './client.js';
import { measureItem, Refusal } from './codec.js';
import { SOURCE_ATTRIBUTE, type Layout } from './layout.js';
import { ensureKeyedTable, type TableContext } from './tables.js';
import { batchWrite, sourceIdentity } from './writer.js';

const MAX_BATCH_ITEMS = 25;
const MAX_GET_KEYS = 100;
/** the positions table's key attribute */
const STREAM_ATTRIBUTE = 'stream';

/** What the target side gives the applier about a table. */
export interface ApplyTables {
  layoutOf(table: TargetTable): Layout;
  /** the table's items are put with a condition (its keys may meet another row's: see target.ts) */
  conditional(layout: Layout): boolean;
  /** the items of this DynamoDB table changed (read-back copies are stale) */
  changed(tableName: string): void;
}

/** A table of one call: its layout and its key. */
interface Applied {
  table: TargetTable;
  layout: Layout;
  keys: TableKeys;
  conditional: boolean;
}

/**
 * Why live changes cannot be applied to the table's items, or undefined: a change names its row
 * by the primary key alone, so the item key must be made of primary key columns.
 */
export function unfollowable(table: TargetTable, layout: Layout): string | undefined {
  const made = layout.keyColumns();
  const key = table.primaryKey.map((name) => layout.names.indexOf(name));
  const outside = made.columns.filter((c) => !key.includes(c)).map((c) => layout.names[c]!);
  if (!made.usesRow && outside.length === 0 && key.length > 0) return undefined;
  const templates = layout
    .keyAttributes()
    .map((k) => `${k.attribute} = ${k.template!.text}`)
    .join(', ');
  const what = made.usesRow
    ? 'the whole row ({#row})'
    : outside.length > 0
      ? `columns outside its primary key (${outside.join(', ')})`
      : 'columns of a table without a primary key';
  return `its DynamoDB key (${templates}) is made of ${what}, and a change names its row by the primary key alone`;
}

/** The table's primary key columns, checked to be what its DynamoDB key is made of. */
function applied(table: TargetTable, keys: TableKeys, tables: ApplyTables): Applied {
  const layout = tables.layoutOf(table);
  const why = unfollowable(table, layout);
  if (why)
    throw new FerryError(
      'UNSUPPORTED',
      `table ${table.name}: ${why}`,
      `make the key templates of ${table.name} (options.partitionKey, options.sortKey) of its primary key columns only, or leave the table out of the plan you follow`,
    );
  return { table, layout, keys, conditional: tables.conditional(layout) };
}

export class DynamoApply {
  private positionsReady = false;

  constructor(
    private readonly ctx: TableContext,
    private readonly tables: ApplyTables,
  ) {}

  async applyChanges(changes: AppliedChange[], stream: string, position: string): Promise<void> {
    const states = new RowStates();
    const byTable = new Map<TargetTable, Applied>();
    // every table is checked before anything is read or written
    for (const { table } of changes)
      if (!byTable.has(table)) byTable.set(table, applied(table, states.keys(table), this.tables));
    await this.ensurePositions();
    await this.readNeeded(states, states.needed(changes), byTable);
    states.apply(changes);
    try {
      await this.write(states.changed(), byTable);
    } finally {
      // a call that failed part way wrote some items too
      for (const a of byTable.values()) this.tables.changed(a.layout.tableName);
    }
    await this.storePosition(stream, position);
  }

  async appliedPosition(stream: string): Promise<string | undefined> {
    try {
      const out = await withRetries(
        () =>
          this.ctx.client.send(
            new GetItemCommand({
              TableName: POSITIONS_TABLE,
              Key: { [STREAM_ATTRIBUTE]: { S: stream } },
              ConsistentRead: true,
            }),
          ),
        this.ctx.log,
        `reading the applied position of stream ${stream}`,
        this.ctx.backoff,
      );
      return out.Item?.position?.S;
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') return undefined;
      throw toFerryError(err, 'READ_FAILED', `reading the applied position of stream ${stream}`, this.ctx.endpoint);
    }
  }

  /** A row with only its key columns set, from the key's values. */
  private keyRow(a: Applied, key: unknown[]): unknown[] {
    const row = new Array<unknown>(a.table.columns.length).fill(null);
    a.keys.indexes.forEach((c, k) => (row[c] = key[k]));
    return row;
  }

  private itemKey(a: Applied, key: unknown[]): Record<string, AttributeValue> {
    try {
      return a.layout.keyItem(this.keyRow(a, key));
    } catch (err) {
      throw this.refused(a, err);
    }
  }

  /** Reads what the needed rows' items hold (strongly consistent), by DynamoDB table. */
  private async readNeeded(
    states: RowStates,
    needed: { table: TargetTable; key: unknown[] }[],
    byTable: Map<TargetTable, Applied>,
  ): Promise<void> {
    const wanted = new Map<string, Map<string, { a: Applied; key: unknown[]; item: Record<string, AttributeValue> }>>();
    for (const { table, key } of needed) {
      const a = byTable.get(table)!;
      const item = this.itemKey(a, key);
      const byKey = wanted.get(a.layout.tableName) ?? new Map();
      wanted.set(a.layout.tableName, byKey);
      // tables sharing a DynamoDB table share its key attributes
      byKey.set(a.layout.keyOf(item), { a, key, item });
    }
    for (const [tableName, byKey] of wanted) {
      const list = [...byKey.values()];
      const keyOf = (item: Record<string, AttributeValue>) => list[0]!.a.layout.keyOf(item);
      const found = new Map<string, Record<string, AttributeValue>>();
      for (let i = 0; i < list.length; i += MAX_GET_KEYS)
        for (const item of await this.getItems(
          tableName,
          list.slice(i, i + MAX_GET_KEYS).map((w) => w.item),
        ))
          found.set(keyOf(item), item);
      for (const [k, w] of byKey) {
        const item = found.get(k);
        // in a shared table, an item of another entity at the key is not the row's
        const { entity, entityAttribute } = w.a.layout;
        const own = item && (entity === undefined || item[entityAttribute]?.S === entity);
        states.know(w.a.table, w.key, own ? w.a.layout.row(item) : null);
      }
    }
  }

  /** The items of these keys that exist (BatchGetItem, until DynamoDB has answered for every key). */
  private async getItems(
    table: string,
    keys: Record<string, AttributeValue>[],
  ): Promise<Record<string, AttributeValue>[]> {
    const found: Record<string, AttributeValue>[] = [];
    let todo = keys;
    const what = `reading items of DynamoDB table ${table} to apply changes`;
    try {
      for (let attempt = 0; todo.length > 0;) {
        const out = await withRetries(
          () =>
            this.ctx.client.send(
              new BatchGetItemCommand({ RequestItems: { [table]: { Keys: todo, ConsistentRead: true } } }),
            ),
          this.ctx.log,
          what,
          this.ctx.backoff,
        );
        found.push(...(out.Responses?.[table] ?? []));
        const left = out.UnprocessedKeys?.[table]?.Keys ?? [];
        attempt = left.length < todo.length ? 0 : attempt + 1;
        if (attempt >= this.ctx.backoff.attempts)
          throw new FerryError(
            'READ_FAILED',
            `${what}: DynamoDB left ${left.length} keys unprocessed ${attempt} times in a row`,
            'the table is short of read capacity: raise it; the changes are applied again',
            { transient: true },
          );
        todo = left;
        if (todo.length > 0) await sleep(jitter(this.ctx.backoff, attempt));
      }
    } catch (err) {
      throw toFerryError(err, 'READ_FAILED', what, this.ctx.endpoint);
    }
    return found;
  }

  private refused(a: Applied, err: unknown): FerryError {
    if (!(err instanceof Refusal)) throw err;
    return new FerryError(
      'WRITE_FAILED',
      `table ${a.table.name}: a change was refused: ${err.message}`,
      'fix the row in the source or the plan, then run again: the changes are applied again from the last position',
    );
  }

  /** Puts and deletes the final state of every row the call changed; nothing is written if any is refused. */
  private async write(states: RowState[], byTable: Map<TargetTable, Applied>): Promise<void> {
    const requests = new Map<
      Applied,
      { puts: Record<string, AttributeValue>[]; deletes: Record<string, AttributeValue>[] }
    >();
    const items = new Map<string, RowState>();
    for (const s of states) {
      const a = byTable.get(s.table)!;
      const { layout, conditional } = a;
      let item: Record<string, AttributeValue>;
      try {
        item = s.row ? layout.item(s.row, '') : this.itemKey(a, s.key);
      } catch (err) {
        throw this.refused(a, err);
      }
      if (s.row) {
        if (conditional) item[SOURCE_ATTRIBUTE] = { S: sourceIdentity(layout, s.row, '') };
        const { refusal } = measureItem(item);
        if (refusal) throw this.refused(a, new Refusal(refusal));
      }
      const where = `${layout.tableName}\u0000${layout.keyOf(item)}`;
      const other = items.get(where);
      if (other)
        throw new FerryError(
          'WRITE_FAILED',
          `table ${a.table.name}: two rows of the changes (${a.table.name} and ${other.table.name}) map to one DynamoDB item (${layout.describeKey(item)})`,
          'make the key templates tell the rows apart (every primary key column, and the entity prefix), then run again',
        );
      items.set(where, s);
      const r = requests.get(a) ?? { puts: [], deletes: [] };
      requests.set(a, r);
      (s.row ? r.puts : r.deletes).push(item);
    }
    const sends: Promise<void>[] = [];
    for (const [{ layout, conditional }, r] of requests) {
      const { tableName } = layout;
      const batched = [
        ...(conditional ? [] : r.puts.map((Item) => ({ PutRequest: { Item } }))),
        ...r.deletes.map((Key) => ({ DeleteRequest: { Key } })),
      ];
      for (let i = 0; i < batched.length; i += MAX_BATCH_ITEMS) {
        const group = batched.slice(i, i + MAX_BATCH_ITEMS);
        sends.push(this.sending(tableName, group.length, () => batchWrite(this.ctx, tableName, group)));
      }
      if (conditional)
        for (const item of r.puts) sends.push(this.sending(tableName, 1, () => this.putConditional(layout, item)));
    }
    const results = await Promise.allSettled(sends);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Runs one write call when a writer is free and the rate allows, its error as a FerryError. */
  private async sending(tableName: string, items: number, send: () => Promise<void>): Promise<void> {
    await this.ctx.writers.take();
    try {
      await this.ctx.rate.take(items);
      await send();
    } catch (err) {
      throw toFerryError(err, 'WRITE_FAILED', `applying changes to DynamoDB table ${tableName}`, this.ctx.endpoint);
    } finally {
      this.ctx.writers.give();
    }
  }

  /** A put that never replaces the item of another source row (as the copy's conditional writes). */
  private async putConditional(layout: Layout, item: Record<string, AttributeValue>): Promise<void> {
    try {
      await withRetries(
        () =>
          this.ctx.client.send(
            new PutItemCommand({
              TableName: layout.tableName,
              Item: item,
              ConditionExpression: 'attribute_not_exists(#key) OR #source = :source',
              ExpressionAttributeNames: { '#key': layout.partition.attribute, '#source': SOURCE_ATTRIBUTE },
              ExpressionAttributeValues: { ':source': item[SOURCE_ATTRIBUTE]! },
            }),
          ),
        this.ctx.log,
        `applying changes to DynamoDB table ${layout.tableName}`,
        this.ctx.backoff,
      );
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException' || isRetryable(err)) throw err;
      throw new FerryError(
        'WRITE_FAILED',
        `table ${layout.table.name}: a change's key (${layout.describeKey(item)}) holds the item of another source row: two source rows map to one item`,
        'make the key templates tell the rows apart (every primary key column, and the entity prefix), then run again',
      );
    }
  }

  private async ensurePositions(): Promise<void> {
    if (this.positionsReady) return;
    await ensureKeyedTable(this.ctx, POSITIONS_TABLE, STREAM_ATTRIBUTE);
    this.positionsReady = true;
  }

  /** Stores the position after the changes: a call cut short before it leaves the old one. */
  private async storePosition(stream: string, position: string): Promise<void> {
    const what = `storing the applied position of stream ${stream}`;
    try {
      await withRetries(
        () =>
          this.ctx.client.send(
            new PutItemCommand({
              TableName: POSITIONS_TABLE,
              Item: {
                [STREAM_ATTRIBUTE]: { S: stream },
                position: { S: position },
                appliedAt: { S: new Date().toISOString() },
              },
            }),
          ),
        this.ctx.log,
        what,
        this.ctx.backoff,
      );
    } catch (err) {
      throw toFerryError(err, 'WRITE_FAILED', what, this.ctx.endpoint);
    }
  }
}
