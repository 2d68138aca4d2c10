// Writing one chunk: rows become items, items go out in BatchWriteItem calls of at most 25
// items and 16 MB, as many in flight as the connector's writers allow (one chunk alone may use
// them all, so a table of few chunks is written as fast), unprocessed items and throttling are retried
// with backoff until every item is written, and refused rows become rejects (or, without
// isolate, undo what the chunk wrote and fail it).
import { createHash } from 'node:crypto';
import { PutItemCommand, type AttributeValue, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { ChunkWrite, Reject, WriteResult } from '../../core/contracts.js';
import { rowText } from '../../core/digest.js';
import { FerryError } from '../../core/errors.js';
import { writeIsolated } from '../../core/isolate.js';
import type { Logger } from '../../core/log.js';
import type { RowBatch } from '../../core/types.js';
import { canonicalText } from '../../core/values.js';
import type { BatchWriteSender } from './batchsend.js';
import {
  isRetryable,
  jitter,
  sleep,
  toFerryError,
  withRetries,
  type Backoff,
  type Endpoint,
  type RateLimit,
  type Slots,
} from './client.js';
import { measureItem, Refusal } from './codec.js';
import { SOURCE_ATTRIBUTE, type Layout } from './layout.js';
import { ItemDigest } from './removal.js';

const MAX_BATCH_ITEMS = 25;
// BatchWriteItem takes 16 MB a call; item sizes leave room for the JSON around them
const MAX_BATCH_BYTES = 12 * 1024 * 1024;

export interface WriterContext {
  client: DynamoDBClient;
  /** BatchWriteItem calls, sent without the SDK's per-call overhead */
  batchSender: BatchWriteSender;
  endpoint: Endpoint;
  log: Logger;
  rate: RateLimit;
  /** write calls in flight over the whole connector */
  writers: Slots;
  backoff: Backoff;
}

interface Entry {
  row: unknown[];
  item: Record<string, AttributeValue>;
  /** the item's key as text (see Layout.keyOf) */
  key: string;
  /** the item's size as DynamoDB counts it */
  size: number;
}

const firstLine = (err: unknown) => ((err as Error)?.message ?? String(err)).split('\n')[0]!;

/** Sends put (or delete) requests until DynamoDB has processed every one of them. */
export async function batchWrite(ctx: WriterContext, table: string, requests: WriteRequest[]): Promise<void> {
  let todo = requests;
  for (let attempt = 0; ;) {
    let unprocessed: WriteRequest[];
    try {
      unprocessed = await ctx.batchSender.send(table, todo);
    } catch (err) {
      if (!isRetryable(err) || ++attempt >= ctx.backoff.attempts) throw err;
      await sleep(jitter(ctx.backoff, attempt));
      continue;
    }
    if (unprocessed.length === 0) return;
    // retries are counted while DynamoDB makes no progress
    attempt = unprocessed.length < todo.length ? 0 : attempt + 1;
    if (attempt >= ctx.backoff.attempts)
      throw new FerryError(
        'WRITE_FAILED',
        `DynamoDB left ${unprocessed.length} items of table ${table} unprocessed ${attempt} times in a row`,
        'the table is short of write capacity: raise it, or lower target.options.writeRate; the chunk is retried',
        { transient: true },
      );
    todo = unprocessed;
    await sleep(jitter(ctx.backoff, attempt));
  }
}

/** Deletes items by key, 25 at a time. */
export async function deleteKeys(
  ctx: WriterContext,
  table: string,
  keys: Record<string, AttributeValue>[],
): Promise<void> {
  for (let i = 0; i < keys.length; i += MAX_BATCH_ITEMS)
    await batchWrite(
      ctx,
      table,
      keys.slice(i, i + MAX_BATCH_ITEMS).map((Key) => ({ DeleteRequest: { Key } })),
    );
}

/** Which source row an item is, as a conditional write keeps it: its entity and primary key (else its row id). */
export function sourceIdentity(layout: Layout, row: unknown[], id: string): string {
  const key =
    layout.identity.length > 0
      ? layout.identity.map((i) => canonicalText(row[i], layout.types[i]!)).join('\u0001')
      : id;
  return `${layout.entity ?? layout.table.name}\u0000${key}`;
}

/**
 * Writes a chunk. `conditional`: the table's keys may collide, so each item is put alone with
 * a condition that refuses to replace an item of another source row.
 */
export function writeChunk(
  ctx: WriterContext,
  layout: Layout,
  chunk: ChunkWrite,
  batches: AsyncIterable<RowBatch>,
  conditional: boolean,
): Promise<WriteResult> {
  return new ChunkWriter(ctx, layout, chunk, conditional).write(batches);
}

/**
 * One chunk on its way: each row becomes an item (or a refused row), items gather into groups
 * of one BatchWriteItem call, and each full group is sent as soon as a writer is free, while
 * the next one fills. The first failure stops the reading; unless it is transient, the items
 * written are taken back.
 */
class ChunkWriter {
  private readonly table: string;
  private readonly where: string;
  /** the keys (as text) of the chunk's items so far: two rows with one key are one too many */
  private readonly seen = new Set<string>();
  /** how many rows of each content the chunk has had, for the row ids of identical rows */
  private readonly occurrences = new Map<string, number>();
  /** keys (as text) of the items written, to take them back if the chunk is refused */
  private readonly written: string[] = [];
  private readonly rejects: Reject[] = [];
  private readonly inflight = new Set<Promise<void>>();
  /** of the items written, for the table's fingerprint (see Target.fingerprint) */
  private readonly digest = new ItemDigest();
  private failure: FerryError | undefined;
  private rows = 0;
  /** the group filling up: at most one call's items and bytes */
  private group: Entry[] = [];
  private groupBytes = 0;

  constructor(
    private readonly ctx: WriterContext,
    private readonly layout: Layout,
    private readonly chunk: ChunkWrite,
    private readonly conditional: boolean,
  ) {
    this.table = layout.tableName;
    this.where = `table ${chunk.table.name}`;
  }

  async write(batches: AsyncIterable<RowBatch>): Promise<WriteResult> {
    try {
      await this.sendRows(batches);
    } finally {
      await Promise.allSettled([...this.inflight]);
    }
    if (this.failure) {
      await this.takeBack();
      throw this.failure;
    }
    return { rows: this.rows, rejects: this.rejects, digest: this.digest.result() };
  }

  /** Turns the rows into items and sends them group by group, until the rows end or the chunk fails. */
  private async sendRows(batches: AsyncIterable<RowBatch>): Promise<void> {
    for await (const batch of batches)
      for (const row of batch.rows) {
        if (this.failure) return;
        const entry = this.entryOf(row);
        if (!entry) continue;
        const full = this.addToGroup(entry);
        if (full) await this.dispatch(full);
      }
    if (this.group.length > 0 && !this.failure) await this.dispatch(this.group);
  }

  /** The row's item, or undefined when the row is refused: DynamoDB cannot hold its item, or its key is another row's. */
  private entryOf(row: unknown[]): Entry | undefined {
    const { layout, conditional } = this;
    const id = layout.usesRowId || (conditional && layout.identity.length === 0) ? this.rowId(row) : '';
    let item: Record<string, AttributeValue>;
    try {
      item = layout.item(row, id);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      this.refuse(row, err.message);
      return undefined;
    }
    // the writer's own attribute counts too
    if (conditional) item[SOURCE_ATTRIBUTE] = { S: sourceIdentity(layout, row, id) };
    const { size, refusal } = measureItem(item);
    if (refusal) {
      this.refuse(row, refusal);
      return undefined;
    }
    const key = layout.keyOf(item);
    if (this.seen.has(key)) {
      this.refuse(
        row,
        `its key (${layout.describeKey(item)}) is the key of another row of this chunk: two source rows map to one item`,
      );
      return undefined;
    }
    this.seen.add(key);
    return { row, item, key, size };
  }

  /** Adds the entry to the group; when it does not fit, it starts the next group and the full one is returned, to be sent. */
  private addToGroup(entry: Entry): Entry[] | undefined {
    let full: Entry[] | undefined;
    if (this.group.length === MAX_BATCH_ITEMS || this.groupBytes + entry.size > MAX_BATCH_BYTES) {
      full = this.group;
      this.group = [];
      this.groupBytes = 0;
    }
    this.group.push(entry);
    this.groupBytes += entry.size;
    return full;
  }

  /** Sends a group once a writer is free, without waiting for the call to end. */
  private async dispatch(group: Entry[]): Promise<void> {
    await this.ctx.writers.take();
    const p: Promise<void> = this.send(group)
      .catch((err) => this.fail(err, 'writing'))
      .finally(() => {
        this.ctx.writers.give();
        this.inflight.delete(p);
      });
    this.inflight.add(p);
  }

  private async send(group: Entry[]): Promise<void> {
    await this.ctx.rate.take(group.length);
    if (this.conditional) {
      for (const e of group) if (this.failure === undefined && (await this.putConditional(e))) this.wrote(e);
      return;
    }
    try {
      await this.putAll(group);
      for (const e of group) this.wrote(e);
    } catch (err) {
      if (isRetryable(err) || !this.chunk.isolate) return this.fail(err, 'BatchWriteItem');
      await this.isolateRefused(group);
    }
  }

  private putAll(group: Entry[]): Promise<void> {
    return batchWrite(
      this.ctx,
      this.table,
      group.map((e) => ({ PutRequest: { Item: e.item } })),
    );
  }

  /** DynamoDB refused a call: halves it until the items it refuses stand alone, and sets their rows aside. */
  private async isolateRefused(group: Entry[]): Promise<void> {
    const refused = await writeIsolated(
      group as unknown as unknown[][],
      group.length,
      (part) => this.putAll(part as unknown as Entry[]),
      firstLine,
    );
    const out = new Set(refused.map((r) => r.row as unknown as Entry));
    for (const e of group) if (!out.has(e)) this.wrote(e);
    for (const r of refused) this.refuse((r.row as unknown as Entry).row, r.reason);
  }

  /** Puts one item unless its key holds the item of another source row; false when it was not written. */
  private async putConditional(e: Entry): Promise<boolean> {
    const { ctx, layout } = this;
    try {
      await withRetries(
        () =>
          ctx.client.send(
            new PutItemCommand({
              TableName: this.table,
              Item: e.item,
              ConditionExpression: 'attribute_not_exists(#key) OR #source = :source',
              ExpressionAttributeNames: { '#key': layout.partition.attribute, '#source': SOURCE_ATTRIBUTE },
              ExpressionAttributeValues: { ':source': e.item[SOURCE_ATTRIBUTE]! },
            }),
          ),
        ctx.log,
        this.where,
        ctx.backoff,
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') {
        this.refuse(
          e.row,
          `its key (${layout.describeKey(e.item)}) already holds the item of another source row: two source rows map to one item`,
        );
        return false;
      }
      if (isRetryable(err) || !this.chunk.isolate) this.fail(err, 'writing an item');
      else this.refuse(e.row, firstLine(err));
      return false;
    }
  }

  private wrote(e: Entry): void {
    this.written.push(e.key);
    this.digest.addItem(e.item);
    this.rows++;
  }

  /** A row DynamoDB cannot take: a reject when the chunk is isolated, else the chunk's failure. */
  private refuse(row: unknown[], reason: string): void {
    if (this.chunk.isolate) this.rejects.push({ row, reason });
    else
      this.failure ??= new FerryError(
        'WRITE_FAILED',
        `${this.where}: a row was refused: ${reason}`,
        'fix the row or the plan; the chunk is retried row by row to set the refused rows aside',
      );
  }

  private fail(err: unknown, context: string): void {
    this.failure ??= toFerryError(err, 'WRITE_FAILED', `${this.where}: ${context}`, this.ctx.endpoint);
  }

  /** The row's id for {#row} key templates: a digest of its values, and which of the chunk's identical rows it is. */
  private rowId(row: unknown[]): string {
    const digest = createHash('md5').update(rowText(row, this.layout.types)).digest('hex');
    const n = (this.occurrences.get(digest) ?? 0) + 1;
    this.occurrences.set(digest, n);
    return `${digest}.${n}`;
  }

  /** Takes back the items of a refused chunk (a transient failure is retried, and its retry overwrites them instead). */
  private async takeBack(): Promise<void> {
    if (this.failure!.transient || this.written.length === 0) return;
    await deleteKeys(
      this.ctx,
      this.table,
      this.written.map((k) => this.layout.keyFromText(k)),
    ).catch((err) =>
      this.ctx.log.warn(
        { table: this.chunk.table.name, err: firstLine(err) },
        'DynamoDB target: could not remove the items of a failed chunk; its retry overwrites them',
      ),
    );
  }
}
