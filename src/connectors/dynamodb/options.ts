// The plan's DynamoDB options: target.options (the whole target, and defaults for every table)
// and each table's options (its DynamoDB table, entity, key templates, indexes), checked here.
import { z } from 'zod';
import { FerryError } from '../../core/errors.js';

const nulls = z.enum(['omit', 'null']).describe('NULL values: leave the attribute out, or store a NULL attribute');
const attributeName = z.string().min(1).max(255);
const tableName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'DynamoDB table names have 3 to 255 letters, digits, "_", "-" or "."');

/** Defaults every table plan may override. */
const TableDefaults = {
  table: tableName.optional().describe("DynamoDB table (default: the table plan's target name)"),
  nulls: nulls.optional(),
  partitionKeyAttribute: attributeName.optional().describe('attribute of a templated partition key (default PK)'),
  sortKeyAttribute: attributeName.optional().describe('attribute of a templated sort key (default SK)'),
  entityAttribute: attributeName.optional().describe('attribute holding the entity type (default entityType)'),
};

export const TargetOptionsSchema = z.strictObject({
  ...TableDefaults,
  billing: z
    .enum(['on-demand', 'provisioned'])
    .default('on-demand')
    .describe('capacity mode of the tables ferry creates'),
  readCapacity: z
    .number()
    .int()
    .min(1)
    .default(5)
    .describe('read capacity units of created tables and indexes (provisioned)'),
  writeCapacity: z
    .number()
    .int()
    .min(1)
    .default(5)
    .describe('write capacity units of created tables and indexes (provisioned)'),
  writeRate: z.number().positive().optional().describe('items written per second at most, over the whole run'),
  writers: z.number().int().min(1).max(256).default(16).describe('BatchWriteItem calls in flight over the whole run'),
  scanSegments: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe('parallel Scan segments when reading back for verify'),
  bigNumbers: z
    .enum(['reject', 'string'])
    .default('reject')
    .describe(
      'numbers a DynamoDB number cannot hold (more than 38 digits, NaN, ±Infinity): refuse the row, or store a string',
    ),
});

export type TargetOptions = z.infer<typeof TargetOptionsSchema>;

const KeyAttributeSchema = z.strictObject({
  attribute: attributeName,
  template: z
    .string()
    .min(1)
    .optional()
    .describe('the value, e.g. "EMAIL#{Email}"; without it, the attribute the item already has'),
});

const GsiSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'index names have 3 to 255 letters, digits, "_", "-" or "."'),
  partitionKey: KeyAttributeSchema,
  sortKey: KeyAttributeSchema.optional(),
  projection: z.enum(['ALL', 'KEYS_ONLY']).default('ALL'),
});

export type GsiOptions = z.infer<typeof GsiSchema>;

export const TableOptionsSchema = z.strictObject({
  ...TableDefaults,
  entity: z
    .string()
    .min(1)
    .optional()
    .describe('entity type stored in every item (needed when tables share a DynamoDB table)'),
  partitionKey: z
    .string()
    .min(1)
    .optional()
    .describe('template of the partition key, e.g. "CUSTOMER#{CustomerId}" (default: the primary key)'),
  sortKey: z.string().min(1).optional().describe('template of the sort key, e.g. "INVOICE#{InvoiceId}"'),
  gsis: z.array(GsiSchema).default([]).describe('global secondary indexes'),
});

export type TableOptions = z.infer<typeof TableOptionsSchema>;

function parseOptions<T>(schema: z.ZodType<T>, raw: unknown, where: string): T {
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  throw new FerryError(
    'PLAN_INVALID',
    `${where}${path ? `.${path}` : ''}: ${issue.message}`,
    "correct the DynamoDB options in the plan (see the README's DynamoDB section)",
  );
}

export function parseTargetOptions(raw: unknown): TargetOptions {
  return parseOptions(TargetOptionsSchema, raw, 'target.options');
}

export function parseTableOptions(raw: unknown, table: string): TableOptions {
  return parseOptions(TableOptionsSchema, raw, `options of table ${table}`);
}
