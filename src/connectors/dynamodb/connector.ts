// The DynamoDB connector (AWS SDK v3): a target only, dynamodb://region[?endpoint=URL].
import { DescribeTableCommand, ListTablesCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {
  Capabilities,
  ConnectOptions,
  Connector,
  NativeTypeChoice,
  Proposal,
  Target,
} from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { NameRule } from '../../core/names.js';
import type { Plan } from '../../core/plan.js';
import type { ProfileAnswers } from '../../core/profile.js';
import type { CanonicalType, Column, SchemaInfo, TableInfo } from '../../core/types.js';
import { BatchWriteSender } from './batchsend.js';
import {
  createClient,
  DEFAULT_BACKOFF,
  parseEndpoint,
  RateLimit,
  Slots,
  toFerryError,
  withRetries,
  type Endpoint,
} from './client.js';
import { DESIGNS, proposePlan } from './design.js';
import { parseTargetOptions, type TargetOptions } from './options.js';
import { DynamoTarget } from './target.js';
import { BARE, canonicalType, nativeType } from './typemap.js';

const TABLE_NAME: NameRule = { min: 3, max: 255, unit: 'bytes', invalid: /[^A-Za-z0-9_.-]/gu };

class DynamoConnector implements Connector {
  readonly kind = 'dynamodb';
  readonly capabilities: Capabilities = {
    // verify reads ranges of these back in their canonical order (see keys.ts)
    portableKeyKinds: ['int', 'year', 'decimal', 'date', 'timestamp'],
    // a key attribute's string or binary value cannot be empty
    nonEmptyKeys: true,
    // table and index names: 3 to 255 of letters, digits, "_", "-", "."; key attributes at most 255 bytes
    names: {
      table: TABLE_NAME,
      // the attributes ferry's layouts add: templated keys, the entity type (options can rename them)
      column: { max: 255, unit: 'bytes', reserved: ['PK', 'SK', 'entityType'] },
      index: TABLE_NAME,
      constraint: {},
    },
    // global secondary indexes; no foreign keys (single-table designs nest children instead)
    afterData: { finish: 'indexes', foreignKeys: false },
  };
  readonly designs = DESIGNS;
  private targetSide?: DynamoTarget;
  private batchSender?: BatchWriteSender;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly endpoint: Endpoint,
    private readonly options: TargetOptions,
    private readonly opts: ConnectOptions,
  ) {}

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, this.opts.log, what).catch((err: unknown) => {
      throw toFerryError(err, 'READ_FAILED', what, this.endpoint);
    });
  }

  /** Tables with their key attributes as columns, their indexes, and DynamoDB's item counts. */
  async introspect(filter?: { tables?: string[] }): Promise<SchemaInfo> {
    let names: string[] = [];
    let start: string | undefined;
    do {
      const page = await this.call('listing DynamoDB tables', () =>
        this.client.send(new ListTablesCommand({ ExclusiveStartTableName: start })),
      );
      names.push(...(page.TableNames ?? []));
      start = page.LastEvaluatedTableName;
    } while (start);
    if (filter?.tables) names = names.filter((n) => filter.tables!.includes(n));
    const tables: TableInfo[] = [];
    for (const name of names) {
      const t = (
        await this.call(`describing DynamoDB table ${name}`, () =>
          this.client.send(new DescribeTableCommand({ TableName: name })),
        )
      ).Table!;
      const keyOrder = (k: { KeyType?: string }) => (k.KeyType === 'HASH' ? 0 : 1);
      const keys = [...(t.KeySchema ?? [])].sort((a, b) => keyOrder(a) - keyOrder(b)).map((k) => k.AttributeName!);
      const columns: Column[] = (t.AttributeDefinitions ?? []).map((d) => ({
        name: d.AttributeName!,
        type: BARE[d.AttributeType!]!,
        nativeType: d.AttributeType!,
        nullable: !keys.includes(d.AttributeName!),
      }));
      tables.push({
        name,
        columns,
        primaryKey: keys,
        uniqueKeys: [],
        indexes: (t.GlobalSecondaryIndexes ?? []).map((g) => ({
          name: g.IndexName!,
          columns: [...(g.KeySchema ?? [])].sort((a, b) => keyOrder(a) - keyOrder(b)).map((k) => k.AttributeName!),
          unique: false,
        })),
        foreignKeys: [],
        rowEstimate: Number(t.ItemCount ?? 0),
        bytesEstimate: Number(t.TableSizeBytes ?? 0),
      });
    }
    return { engine: 'dynamodb', version: 'DynamoDB API 2012-08-10', tables };
  }

  nativeType(t: CanonicalType): NativeTypeChoice {
    return nativeType(t);
  }

  canonicalType(native: string): CanonicalType {
    return canonicalType(native);
  }

  proposePlan(plan: Plan, schema: SchemaInfo, design: string | undefined, measured: ProfileAnswers): Proposal {
    return proposePlan(plan, schema, design, measured);
  }

  target(): Target {
    // a socket for every write call in flight, and for the deletes of the scan segments
    this.batchSender ??= new BatchWriteSender(
      this.client,
      this.endpoint,
      this.options.writers + this.options.scanSegments,
    );
    this.targetSide ??= new DynamoTarget({
      client: this.client,
      batchSender: this.batchSender,
      endpoint: this.endpoint,
      log: this.opts.log,
      rate: new RateLimit(this.options.writeRate),
      writers: new Slots(this.options.writers),
      backoff: DEFAULT_BACKOFF,
      options: this.options,
    });
    return this.targetSide;
  }

  async close(): Promise<void> {
    this.targetSide?.close();
    this.batchSender?.close();
    this.client.destroy();
  }
}

/** Opens the connector (the folder's factory in index.ts calls this). */
export async function connect(opts: ConnectOptions): Promise<Connector> {
  const endpoint = parseEndpoint(opts.url);
  const options = parseTargetOptions(opts.options);
  // a socket for every write call in flight, and for the scans and table calls beside them
  const client = createClient(endpoint, options.writers + options.scanSegments * (opts.poolSize ?? 4) + 4);
  // one cheap call, so that a wrong endpoint or credentials are told now, in one line
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
  } catch (err) {
    client.destroy();
    const e = toFerryError(err, 'CONNECT_FAILED', 'connecting', endpoint);
    throw e.code === 'CONNECT_FAILED' ? new FerryError('CONNECT_FAILED', e.message, e.action, { cause: err }) : e;
  }
  return new DynamoConnector(client, endpoint, options, opts);
}
