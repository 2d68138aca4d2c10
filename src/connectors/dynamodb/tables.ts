// DynamoDB tables: create (with their global secondary indexes) and wait until active, drop,
// compare key schemas, scan in parallel segments, delete the items of one entity.
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  ScanCommand,
  UpdateTableCommand,
  type AttributeDefinition,
  type AttributeValue,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type ScanCommandInput,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { FerryError } from '../../core/errors.js';
import { sleep, toFerryError, withRetries } from './client.js';
import type { IndexLayout, KeyAttribute, Layout } from './layout.js';
import type { TargetOptions } from './options.js';
import { deleteKeys, type WriterContext } from './writer.js';

const WAIT_POLL_MS = 250;
const WAIT_LIMIT_MS = 15 * 60 * 1000;

export interface TableContext extends WriterContext {
  options: TargetOptions;
}

async function call<T>(ctx: TableContext, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await withRetries(fn, ctx.log, what, ctx.backoff);
  } catch (err) {
    throw toFerryError(err, 'WRITE_FAILED', what, ctx.endpoint);
  }
}

export async function describeTable(ctx: TableContext, name: string): Promise<TableDescription | undefined> {
  try {
    return (
      await withRetries(
        () => ctx.client.send(new DescribeTableCommand({ TableName: name })),
        ctx.log,
        `describing table ${name}`,
        ctx.backoff,
      )
    ).Table;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw toFerryError(err, 'READ_FAILED', `describing DynamoDB table ${name}`, ctx.endpoint);
  }
}

const keySchema = (partition: KeyAttribute, sort?: KeyAttribute): KeySchemaElement[] => [
  { AttributeName: partition.attribute, KeyType: 'HASH' },
  ...(sort ? [{ AttributeName: sort.attribute, KeyType: 'RANGE' as const }] : []),
];

const describeKeys = (keys: { attribute: string; type: string }[]) =>
  keys.map((k) => `${k.attribute} ${k.type}`).join(', ');

/** The key attributes of an existing table (or index), partition first. */
function existingKeys(
  schema: KeySchemaElement[] | undefined,
  defs: AttributeDefinition[] | undefined,
): { attribute: string; type: string }[] {
  const sorted = [...(schema ?? [])].sort((a, b) => (a.KeyType === 'HASH' ? -1 : b.KeyType === 'HASH' ? 1 : 0));
  return sorted.map((k) => ({
    attribute: k.AttributeName!,
    type: defs?.find((d) => d.AttributeName === k.AttributeName)?.AttributeType ?? '?',
  }));
}

/** How an existing table's key differs from the one the layout needs, or undefined. */
export function keyMismatch(desc: TableDescription, layout: Layout): string | undefined {
  const have = existingKeys(desc.KeySchema, desc.AttributeDefinitions);
  const want = layout.keyAttributes().map((k) => ({ attribute: k.attribute, type: k.type }));
  return describeKeys(have) === describeKeys(want)
    ? undefined
    : `DynamoDB table ${layout.tableName} has the key (${describeKeys(have)}), and the plan for ${layout.table.name} needs (${describeKeys(want)})`;
}

function indexMismatch(desc: TableDescription, ix: IndexLayout): string | undefined {
  const existing = desc.GlobalSecondaryIndexes?.find((g) => g.IndexName === ix.name);
  if (!existing) return undefined;
  const have = existingKeys(existing.KeySchema, desc.AttributeDefinitions);
  const want = [ix.partition, ...(ix.sort ? [ix.sort] : [])].map((k) => ({ attribute: k.attribute, type: k.type }));
  return describeKeys(have) === describeKeys(want)
    ? undefined
    : `index ${ix.name} of DynamoDB table ${desc.TableName} has the key (${describeKeys(have)}), and the plan needs (${describeKeys(want)})`;
}

function capacity(ctx: TableContext) {
  return ctx.options.billing === 'provisioned'
    ? {
        ProvisionedThroughput: {
          ReadCapacityUnits: ctx.options.readCapacity,
          WriteCapacityUnits: ctx.options.writeCapacity,
        },
      }
    : {};
}

function gsiOf(ctx: TableContext, ix: IndexLayout): GlobalSecondaryIndex {
  return {
    IndexName: ix.name,
    KeySchema: keySchema(ix.partition, ix.sort),
    Projection: { ProjectionType: ix.projection },
    ...capacity(ctx),
  };
}

function attributeDefinitions(keys: KeyAttribute[]): AttributeDefinition[] {
  const defs = new Map<string, string>();
  for (const k of keys) {
    const seen = defs.get(k.attribute);
    if (seen && seen !== k.type)
      throw new FerryError(
        'PLAN_INVALID',
        `attribute ${k.attribute} is a key of type ${seen} and of type ${k.type}`,
        'give the keys and index keys that share an attribute one type',
      );
    defs.set(k.attribute, k.type);
  }
  return [...defs].map(([AttributeName, AttributeType]) => ({
    AttributeName,
    AttributeType: AttributeType as 'S' | 'N' | 'B',
  }));
}

/** Waits until the table and all its indexes are active (or, with `gone`, until it no longer exists). */
async function waitFor(
  ctx: TableContext,
  name: string,
  gone = false,
  index?: string,
): Promise<TableDescription | undefined> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const desc = await describeTable(ctx, name);
    if (
      gone
        ? !desc
        : desc?.TableStatus === 'ACTIVE' &&
          (desc.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE') &&
          (!index || desc.GlobalSecondaryIndexes?.some((g) => g.IndexName === index))
    )
      return desc;
    if (Date.now() > deadline)
      throw new FerryError(
        'WRITE_FAILED',
        `DynamoDB table ${name} did not become ${gone ? 'deleted' : 'active'} within ${WAIT_LIMIT_MS / 60000} minutes`,
        'look at the table in the AWS console, then run again',
        { transient: true },
      );
    await sleep(WAIT_POLL_MS);
  }
}

/** Creates the table with its key and indexes, and waits until it is active. */
export async function createTable(ctx: TableContext, layout: Layout, indexes: IndexLayout[]): Promise<void> {
  const keys = [...layout.keyAttributes(), ...indexes.flatMap((ix) => [ix.partition, ...(ix.sort ? [ix.sort] : [])])];
  await call(ctx, `creating DynamoDB table ${layout.tableName}`, () =>
    ctx.client.send(
      new CreateTableCommand({
        TableName: layout.tableName,
        AttributeDefinitions: attributeDefinitions(keys),
        KeySchema: keySchema(layout.partition, layout.sort),
        BillingMode: ctx.options.billing === 'provisioned' ? 'PROVISIONED' : 'PAY_PER_REQUEST',
        ...capacity(ctx),
        ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes.map((ix) => gsiOf(ctx, ix)) } : {}),
      }),
    ),
  );
  await waitFor(ctx, layout.tableName);
}

/**
 * Creates a table of ferry's own with a string partition key (on demand, or at the plan's
 * capacity) unless it exists, and waits until it is active.
 */
export async function ensureKeyedTable(ctx: TableContext, name: string, attribute: string): Promise<void> {
  if ((await describeTable(ctx, name))?.TableStatus === 'ACTIVE') return;
  const key: KeyAttribute = { attribute, type: 'S', isColumn: false };
  try {
    await withRetries(
      () =>
        ctx.client.send(
          new CreateTableCommand({
            TableName: name,
            AttributeDefinitions: attributeDefinitions([key]),
            KeySchema: keySchema(key),
            BillingMode: ctx.options.billing === 'provisioned' ? 'PROVISIONED' : 'PAY_PER_REQUEST',
            ...capacity(ctx),
          }),
        ),
      ctx.log,
      `creating DynamoDB table ${name}`,
      ctx.backoff,
    );
  } catch (err) {
    // made meanwhile (by another process, or a call that did not see it yet): wait for it as for ours
    if ((err as Error).name !== 'ResourceInUseException')
      throw toFerryError(err, 'WRITE_FAILED', `creating DynamoDB table ${name}`, ctx.endpoint);
  }
  await waitFor(ctx, name);
}

export async function dropTable(ctx: TableContext, name: string): Promise<void> {
  await call(ctx, `deleting DynamoDB table ${name}`, () =>
    ctx.client.send(new DeleteTableCommand({ TableName: name })),
  );
  await waitFor(ctx, name, true);
}

/** Adds the layout's indexes the table lacks (one at a time, as DynamoDB allows) and waits for each. */
export async function ensureIndexes(ctx: TableContext, layout: Layout): Promise<void> {
  let desc = await describeTable(ctx, layout.tableName);
  if (!desc)
    throw new FerryError(
      'TABLE_NOT_FOUND',
      `DynamoDB table ${layout.tableName} does not exist`,
      'run the plan again to create it',
    );
  for (const ix of layout.indexes) {
    const mismatch = indexMismatch(desc, ix);
    if (mismatch) throw new FerryError('PLAN_INVALID', mismatch, 'drop the index, or change the index in the plan');
    if (desc.GlobalSecondaryIndexes?.some((g) => g.IndexName === ix.name)) continue;
    await call(ctx, `adding index ${ix.name} to DynamoDB table ${layout.tableName}`, () =>
      ctx.client.send(
        new UpdateTableCommand({
          TableName: layout.tableName,
          AttributeDefinitions: attributeDefinitions([ix.partition, ...(ix.sort ? [ix.sort] : [])]),
          GlobalSecondaryIndexUpdates: [{ Create: gsiOf(ctx, ix) }],
        }),
      ),
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      desc = (await describeTable(ctx, layout.tableName))!;
      const made = desc.GlobalSecondaryIndexes?.find((g) => g.IndexName === ix.name);
      if (made?.IndexStatus === 'ACTIVE') break;
      // an implementation that accepts the call but never builds the index must not hang the run
      if (!made && Date.now() > deadline)
        throw new FerryError(
          'WRITE_FAILED',
          `${ctx.endpoint.endpoint ? 'the DynamoDB implementation at the endpoint' : 'DynamoDB'} did not add index ${ix.name} to table ${layout.tableName}`,
          'create the index yourself, or let ferry create the table (with its indexes) by dropping it',
        );
      await sleep(WAIT_POLL_MS);
    }
  }
}

export interface ScanOptions {
  /** the table, and the entity whose items are read (every item when it has none) */
  layout: Pick<Layout, 'tableName' | 'entity' | 'entityAttribute'>;
  segments: number;
  /** attributes to read (all when absent) */
  attributes?: string[];
  /** stop after the first page with items */
  any?: boolean;
  /** strongly consistent reads: every write acknowledged before the scan is seen */
  consistent?: boolean;
  onItems: (items: Record<string, AttributeValue>[]) => void | Promise<void>;
}

/** Scans the items of a layout's entity (all items when it has none) in parallel segments. */
export async function scanItems(ctx: TableContext, opts: ScanOptions): Promise<void> {
  const { layout } = opts;
  const names: Record<string, string> = {};
  const input: ScanCommandInput = { TableName: layout.tableName, ...(opts.consistent ? { ConsistentRead: true } : {}) };
  if (layout.entity !== undefined) {
    names['#entity'] = layout.entityAttribute;
    input.FilterExpression = '#entity = :entity';
    input.ExpressionAttributeValues = { ':entity': { S: layout.entity } };
  }
  if (opts.attributes) {
    opts.attributes.forEach((a, i) => (names[`#a${i}`] = a));
    input.ProjectionExpression = opts.attributes.map((_a, i) => `#a${i}`).join(', ');
  }
  if (Object.keys(names).length > 0) input.ExpressionAttributeNames = names;
  let found = false;
  const segment = async (Segment: number) => {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await withRetries(
        () =>
          ctx.client.send(
            new ScanCommand({
              ...input,
              ...(opts.segments > 1 ? { Segment, TotalSegments: opts.segments } : {}),
              ExclusiveStartKey: start,
            }),
          ),
        ctx.log,
        `scanning ${layout.tableName}`,
        ctx.backoff,
      );
      if (page.Items && page.Items.length > 0) {
        found = true;
        await opts.onItems(page.Items);
      }
      start = page.LastEvaluatedKey;
    } while (start && !(opts.any && found));
  };
  try {
    await Promise.all(Array.from({ length: opts.segments }, (_v, i) => segment(i)));
  } catch (err) {
    throw toFerryError(err, 'READ_FAILED', `scanning DynamoDB table ${layout.tableName}`, ctx.endpoint);
  }
}

/** Whether the table holds items of the layout's entity (with `anyEntity`, any item at all). */
export async function hasItems(ctx: TableContext, layout: Layout, anyEntity = false): Promise<boolean> {
  let found = false;
  await scanItems(ctx, {
    layout: anyEntity ? { tableName: layout.tableName, entityAttribute: layout.entityAttribute } : layout,
    segments: 1,
    any: true,
    consistent: true,
    attributes: layout.keyAttributes().map((k) => k.attribute),
    onItems: () => void (found = true),
  });
  return found;
}

/** Deletes the items of the layout's entity (every item when it has none). */
export async function deleteItems(ctx: TableContext, layout: Layout): Promise<void> {
  const keys = layout.keyAttributes().map((k) => k.attribute);
  await scanItems(ctx, {
    layout,
    segments: ctx.options.scanSegments,
    attributes: keys,
    // an item written just before must not be missed
    consistent: true,
    onItems: (items) => deleteKeys(ctx, layout.tableName, items),
  });
}
