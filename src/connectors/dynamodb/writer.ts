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
import { itemSize, MAX_ITEM_BYTES, Refusal } from './codec.js';
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

/**
 * Writes a chunk. `conditional`: the table's keys may collide, so each item is put alone with
 * a condition that refuses to replace an item of another source row.
 */
export async function writeChunk(
  ctx: WriterContext,
  layout: Layout,
  chunk: ChunkWrite,
  batches: AsyncIterable<RowBatch>,
  conditional: boolean,
): Promise<WriteResult> {
  const { isolate } = chunk;
  const table = layout.tableName;
  const where = `table ${chunk.table.name}`;
  const seen = new Set<string>();
  const occurrences = new Map<string, number>();
  // keys (as text) of the items written, to take them back if the chunk is refused
  const written: string[] = [];
  const rejects: Reject[] = [];
  const inflight = new Set<Promise<void>>();
  // of the items written, for the table's fingerprint (see Target.fingerprint)
  const digest = new ItemDigest();
  let failure: FerryError | undefined;
  let rows = 0;
  const wrote = (e: Entry) => {
    written.push(e.key);
    digest.addItem(e.item);
    rows++;
  };

  const refuse = (row: unknown[], reason: string) => {
    if (isolate) rejects.push({ row, reason });
    else
      failure ??= new FerryError(
        'WRITE_FAILED',
        `${where}: a row was refused: ${reason}`,
        'fix the row or the plan; the chunk is retried row by row to set the refused rows aside',
      );
  };
  const fail = (err: unknown, context: string) => {
    failure ??= toFerryError(err, 'WRITE_FAILED', `${where}: ${context}`, ctx.endpoint);
  };

  const rowId = (row: unknown[]): string => {
    const digest = createHash('md5').update(rowText(row, layout.types)).digest('hex');
    const n = (occurrences.get(digest) ?? 0) + 1;
    occurrences.set(digest, n);
    return `${digest}.${n}`;
  };
  const identity = (row: unknown[], id: string): string =>
    `${layout.entity ?? chunk.table.name}\u0000${layout.identity.length > 0 ? layout.identity.map((i) => canonicalText(row[i], layout.types[i]!)).join('\u0001') : id}`;

  const putConditional = async (e: Entry): Promise<boolean> => {
    try {
      await withRetries(
        () =>
          ctx.client.send(
            new PutItemCommand({
              TableName: table,
              Item: e.item,
              ConditionExpression: 'attribute_not_exists(#key) OR #source = :source',
              ExpressionAttributeNames: { '#key': layout.partition.attribute, '#source': SOURCE_ATTRIBUTE },
              ExpressionAttributeValues: { ':source': e.item[SOURCE_ATTRIBUTE]! },
            }),
          ),
        ctx.log,
        where,
        ctx.backoff,
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') {
        refuse(
          e.row,
          `its key (${layout.describeKey(e.item)}) already holds the item of another source row: two source rows map to one item`,
        );
        return false;
      }
      if (isRetryable(err) || !isolate) fail(err, 'writing an item');
      else refuse(e.row, firstLine(err));
      return false;
    }
  };

  const sendGroup = async (group: Entry[]): Promise<void> => {
    await ctx.rate.take(group.length);
    if (conditional) {
      for (const e of group) if (failure === undefined && (await putConditional(e))) wrote(e);
      return;
    }
    try {
      await batchWrite(
        ctx,
        table,
        group.map((e) => ({ PutRequest: { Item: e.item } })),
      );
      group.forEach(wrote);
    } catch (err) {
      if (isRetryable(err) || !isolate) return fail(err, 'BatchWriteItem');
      // DynamoDB refused the call: halve it until the items it refuses stand alone
      const refused = await writeIsolated(
        group as unknown as unknown[][],
        group.length,
        (part) =>
          batchWrite(
            ctx,
            table,
            (part as unknown as Entry[]).map((e) => ({ PutRequest: { Item: e.item } })),
          ),
        firstLine,
      );
      const out = new Set(refused.map((r) => r.row as unknown as Entry));
      for (const e of group) if (!out.has(e)) wrote(e);
      for (const r of refused) refuse((r.row as unknown as Entry).row, r.reason);
    }
  };

  const dispatch = async (group: Entry[]) => {
    await ctx.writers.take();
    const p: Promise<void> = sendGroup(group)
      .catch((err) => fail(err, 'writing'))
      .finally(() => {
        ctx.writers.give();
        inflight.delete(p);
      });
    inflight.add(p);
  };

  let group: Entry[] = [];
  let groupBytes = 0;
  try {
    outer: for await (const batch of batches) {
      for (const row of batch.rows) {
        if (failure) break outer;
        let item: Record<string, AttributeValue>;
        const id = layout.usesRowId || (conditional && layout.identity.length === 0) ? rowId(row) : '';
        try {
          item = layout.item(row, id);
        } catch (err) {
          if (!(err instanceof Refusal)) throw err;
          refuse(row, err.message);
          continue;
        }
        // the writer's own attribute counts too
        if (conditional) item[SOURCE_ATTRIBUTE] = { S: identity(row, id) };
        const size = itemSize(item);
        if (size > MAX_ITEM_BYTES) {
          refuse(row, `the item is ${size} bytes, more than DynamoDB's limit of ${MAX_ITEM_BYTES} bytes (400 KB)`);
          continue;
        }
        const key = layout.keyOf(item);
        if (seen.has(key)) {
          refuse(
            row,
            `its key (${layout.describeKey(item)}) is the key of another row of this chunk: two source rows map to one item`,
          );
          continue;
        }
        seen.add(key);
        if (group.length === MAX_BATCH_ITEMS || groupBytes + size > MAX_BATCH_BYTES) {
          await dispatch(group);
          group = [];
          groupBytes = 0;
        }
        group.push({ row, item, key });
        groupBytes += size;
      }
    }
    if (group.length > 0 && !failure) await dispatch(group);
  } finally {
    await Promise.allSettled([...inflight]);
  }
  if (failure) {
    // nothing of a refused chunk stays (a transient failure is retried and overwrites instead)
    if (!failure.transient && written.length > 0)
      await deleteKeys(
        ctx,
        table,
        written.map((k) => layout.keyFromText(k)),
      ).catch((err) =>
        ctx.log.warn(
          { table: chunk.table.name, err: firstLine(err) },
          'DynamoDB target: could not remove the items of a failed chunk; its retry overwrites them',
        ),
      );
    throw failure;
  }
  return { rows, rejects, digest: digest.result() };
}
