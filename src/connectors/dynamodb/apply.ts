// Live changes into DynamoDB (Target.applyChanges). A call's changes are worked out in the
// source's order over what the items hold (read first, where an update carries UNCHANGED
// columns) into one final state per item: a whole item to put, or a key to delete. Those are
// written (puts and deletes of distinct keys, so in any order), and then the stream's position,
// an item of the `_ferry_positions` table. A call cut short leaves the old position: the same
// changes are applied again from it, and give the same items.
import { BatchGetItemCommand, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { POSITIONS_TABLE, rowUpdate, tableKeys, type TableKeys } from '../../core/apply.js';
import { UNCHANGED } from '../../core/changes.js';
import type { AppliedChange, TargetTable } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { isRetryable, toFerryError, withRetries } from './client.js';
import { itemSize, MAX_ITEM_BYTES, Refusal } from './codec.js';
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

/** One row's state as the call's changes leave it. */
interface RowState {
  of: Applied;
  /** the row's primary key values */
  key: unknown[];
  /** the row now; null when there is none */
  row: unknown[] | null;
  /** a change of the call set it (else it is what the item held before the call) */
  changed: boolean;
}

/** The table's primary key columns, checked to be what its DynamoDB key is made of. */
function applied(table: TargetTable, tables: ApplyTables): Applied {
  const keys = tableKeys(table);
  const layout = tables.layoutOf(table);
  const made = layout.keyColumns();
  const outside = made.columns.filter((c) => !keys.indexes.includes(c)).map((c) => layout.names[c]!);
  if (made.usesRow || outside.length > 0)
    throw new FerryError(
      'UNSUPPORTED',
      `table ${table.name}: its DynamoDB key (${layout
        .keyAttributes()
        .map((k) => `${k.attribute} = ${k.template!.text}`)
        .join(
          ', ',
        )}) is made of ${made.usesRow ? 'the whole row ({#row})' : `columns outside its primary key (${outside.join(', ')})`}, and a change names its row by the primary key alone`,
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
    const byTable = new Map<TargetTable, Applied>();
    const of = (table: TargetTable) => {
      let a = byTable.get(table);
      if (!a) byTable.set(table, (a = applied(table, this.tables)));
      return a;
    };
    // every table is checked before anything is read or written
    for (const c of changes) of(c.table);
    await this.ensurePositions();
    const states = await this.statesBefore(changes, of);
    for (const { table, change } of changes) {
      const a = of(table);
      const state = (key: unknown[]) => {
        const id = this.id(a, key);
        let s = states.get(id);
        if (!s) states.set(id, (s = { of: a, key, row: null, changed: false }));
        return s;
      };
      const set = (key: unknown[], row: unknown[] | null) => Object.assign(state(key), { row, changed: true });
      switch (change.op) {
        case 'upsert':
          set(this.keyOf(a, change.row), change.row);
          break;
        case 'delete':
          set(change.key, null);
          break;
        case 'update': {
          const u = rowUpdate(a.keys, change.key, change.row);
          const merged = (base: unknown[]) => base.map((v, i) => (change.row[i] === UNCHANGED ? v : change.row[i]));
          if (u.whole) {
            if (u.moved) set(u.key, null);
            set(u.newKey, change.row);
            break;
          }
          // cases as in core/apply.ts RowUpdate: the row of the new key if there is one, else the old one's
          const now = state(u.newKey).row;
          const was = u.moved ? state(u.key).row : null;
          if (u.moved && (now || was)) set(u.key, null);
          if (now) set(u.newKey, merged(now));
          else if (was) set(u.newKey, merged(was));
          break;
        }
      }
    }
    await this.write([...states.values()].filter((s) => s.changed));
    for (const a of byTable.values()) this.tables.changed(a.layout.tableName);
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

  private id(a: Applied, key: unknown[]): string {
    return `${a.table.name}\u0000${a.keys.id(key)}`;
  }

  private keyOf(a: Applied, row: unknown[]): unknown[] {
    return a.keys.indexes.map((i) => row[i]);
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

  /**
   * What the items hold before the call, for the rows an update that carries UNCHANGED columns
   * needs as its base (strongly consistent reads): the other changes need nothing read.
   */
  private async statesBefore(
    changes: AppliedChange[],
    of: (t: TargetTable) => Applied,
  ): Promise<Map<string, RowState>> {
    const states = new Map<string, RowState>();
    const wanted = new Map<string, { state: RowState; item: Record<string, AttributeValue> }[]>();
    const want = (a: Applied, key: unknown[]) => {
      const id = this.id(a, key);
      if (states.has(id)) return;
      const state: RowState = { of: a, key, row: null, changed: false };
      states.set(id, state);
      const list = wanted.get(a.layout.tableName) ?? [];
      list.push({ state, item: this.itemKey(a, key) });
      wanted.set(a.layout.tableName, list);
    };
    for (const { table, change } of changes) {
      if (change.op !== 'update' || !change.row.includes(UNCHANGED)) continue;
      const a = of(table);
      const u = rowUpdate(a.keys, change.key, change.row);
      want(a, u.newKey);
      if (u.moved) want(a, u.key);
    }
    for (const [tableName, list] of wanted) {
      // tables sharing a DynamoDB table share its key attributes
      const keyOf = (item: Record<string, AttributeValue>) => list[0]!.state.of.layout.keyOf(item);
      const byKey = new Map<string, { state: RowState; item: Record<string, AttributeValue> }>();
      for (const w of list) byKey.set(keyOf(w.item), w);
      const keys = [...byKey.values()].map((w) => w.item);
      for (let i = 0; i < keys.length; i += MAX_GET_KEYS)
        for (const item of await this.getItems(tableName, keys.slice(i, i + MAX_GET_KEYS))) {
          const state = byKey.get(keyOf(item))?.state;
          if (state) state.row = state.of.layout.row(item);
        }
    }
    return states;
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
  private async write(states: RowState[]): Promise<void> {
    const requests = new Map<
      string,
      {
        layout: Layout;
        conditional: boolean;
        puts: Record<string, AttributeValue>[];
        deletes: Record<string, AttributeValue>[];
      }
    >();
    const items = new Map<string, RowState>();
    for (const s of states) {
      const { layout, conditional } = s.of;
      let item: Record<string, AttributeValue>;
      try {
        item = s.row ? layout.item(s.row, '') : this.itemKey(s.of, s.key);
      } catch (err) {
        throw this.refused(s.of, err);
      }
      if (s.row) {
        if (conditional) item[SOURCE_ATTRIBUTE] = { S: sourceIdentity(layout, s.row, '') };
        const size = itemSize(item);
        if (size > MAX_ITEM_BYTES)
          throw this.refused(
            s.of,
            new Refusal(`the item is ${size} bytes, more than DynamoDB's limit of ${MAX_ITEM_BYTES} bytes (400 KB)`),
          );
      }
      const where = `${layout.tableName}\u0000${layout.keyOf(item)}`;
      const other = items.get(where);
      if (other)
        throw new FerryError(
          'WRITE_FAILED',
          `table ${s.of.table.name}: two rows of the changes (${s.of.table.name} and ${other.of.table.name}) map to one DynamoDB item (${layout.describeKey(item)})`,
          'make the key templates tell the rows apart (every primary key column, and the entity prefix), then run again',
        );
      items.set(where, s);
      const r = requests.get(layout.tableName) ?? { layout, conditional, puts: [], deletes: [] };
      requests.set(layout.tableName, r);
      (s.row ? r.puts : r.deletes).push(item);
    }
    const sends: Promise<void>[] = [];
    for (const [tableName, r] of requests) {
      const conditional = r.conditional ? r.puts : [];
      const batched = [
        ...(r.conditional ? [] : r.puts.map((Item) => ({ PutRequest: { Item } }))),
        ...r.deletes.map((Key) => ({ DeleteRequest: { Key } })),
      ];
      for (let i = 0; i < batched.length; i += MAX_BATCH_ITEMS) {
        const group = batched.slice(i, i + MAX_BATCH_ITEMS);
        sends.push(this.sending(tableName, group.length, () => batchWrite(this.ctx, tableName, group)));
      }
      for (const item of conditional) sends.push(this.sending(tableName, 1, () => this.putConditional(r.layout, item)));
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
