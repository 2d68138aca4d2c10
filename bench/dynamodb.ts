// The DynamoDB case: ferry (plan + run) from PostgreSQL into DynamoDB, next to a plain
// BatchWriteItem loop with the same concurrency writing the very items ferry wrote (read from a
// file). Both write to a DynamoDB API implementation (dynalite) on loopback, started afresh for
// each, so the ratio is ferry's item rate against what the endpoint takes from the simplest writer.
// They take turns BENCH_REPEAT times; the ratio is the median of the rounds' ratios, as in the other cases.
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
  type AttributeValue,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { binaryReviver, itemWithBase64 } from '../src/connectors/dynamodb/codec.js';
import { startDynalite } from '../test/connectors/dynamodb-local.js';
import { type CaseResult, fastest, type Measurement, pairedRatio } from './cases.js';
import { type BenchConfig, pgUrl } from './config.js';
import { runTimed } from './process.js';
import type { SourceData } from './sources.js';

const TITLE = 'PostgreSQL → DynamoDB';
// ferry's default BatchWriteItem calls in flight (target.options.writers)
const WRITERS = 16;
const BATCH_ITEMS = 25;

/** DynamoDB JSON with binary values as base64 (as ferry's requests carry them), so that items survive a file. */
const itemJson = (item: Record<string, AttributeValue>) => JSON.stringify(itemWithBase64(item));
const itemFromJson = (line: string) => JSON.parse(line, binaryReviver) as Record<string, AttributeValue>;

const itemsFile = (config: BenchConfig, table: string) => join(config.dataDir, `dynamodb-items-${table}.ndjson`);

/**
 * Scans every item of ferry's tables into files (the loop writes the same items), checking the
 * counts. The files keep the source's key order, the order a loop over the source writes in and
 * ferry too: not the scan's, which dynalite takes about 12% less CPU to write in (measured).
 */
async function dumpItems(config: BenchConfig, client: DynamoDBClient, source: SourceData): Promise<void> {
  for (const t of source.tables) {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: t.name, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    if (items.length !== t.rows)
      throw new Error(`ferry left ${items.length} items in ${t.name}, but the source has ${t.rows}`);
    items.sort((a, b) => Number(a.id!.N) - Number(b.id!.N));
    const out = createWriteStream(itemsFile(config, t.name));
    for (const item of items) if (!out.write(itemJson(item) + '\n')) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
  }
}

/** One ferry run; the first one's items are kept in files for the loop. */
async function measureFerry(
  config: BenchConfig,
  source: SourceData,
  logFile: string,
  keepItems: boolean,
): Promise<Measurement> {
  const dynamo = await startDynalite();
  const cwd = mkdtempSync(join(tmpdir(), 'ferry-bench-dynamodb-'));
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint });
  try {
    console.log(`${TITLE}: ferry → dynalite…`);
    const command = (label: string, args: string[]) =>
      runTimed(process.execPath, [...config.ferryCommand, ...args], { label, cwd, logFile, measureRss: true });
    const plan = await command('ferry plan', [
      'plan',
      '--source',
      pgUrl(source.db),
      '--target',
      dynamo.url,
      '-o',
      'plan.yaml',
      ...config.ferryPlanFlags,
    ]);
    const run = await command('ferry run', ['run', 'plan.yaml']);
    const wallSeconds = plan.wallSeconds + run.wallSeconds;
    const serverCpu = dynamo.cpuSeconds();
    console.log(
      `${TITLE}: ferry wrote ${source.rows.toLocaleString('en-US')} items in ${wallSeconds.toFixed(1)} s (CPU: ferry ${(plan.cpuSeconds! + run.cpuSeconds!).toFixed(1)} s, dynalite ${serverCpu.toFixed(1)} s)`,
    );
    if (keepItems) await dumpItems(config, client, source);
    rmSync(cwd, { recursive: true });
    return {
      tool: 'ferry',
      targetDb: 'dynalite',
      rows: source.rows,
      wallSeconds,
      rowsPerSecond: source.rows / wallSeconds,
      peakRssMb: Math.max(plan.peakRssMb!, run.peakRssMb!),
      runs: [wallSeconds],
      cpuRuns: [plan.cpuSeconds! + run.cpuSeconds!],
      serverCpuRuns: [serverCpu],
      indexes: 0,
      foreignKeys: 0,
    };
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}

/** The plain loop: the items ferry wrote, read from their files, 25 to a BatchWriteItem call, that many calls in flight. */
async function measureLoop(config: BenchConfig, source: SourceData): Promise<Measurement> {
  const dynamo = await startDynalite();
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, maxAttempts: 10 });
  const concurrency = WRITERS;
  try {
    console.log(`${TITLE}: BatchWriteItem loop, ${concurrency} calls in flight → dynalite…`);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    for (const t of source.tables) {
      await client.send(
        new CreateTableCommand({
          TableName: t.name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        }),
      );
      const inflight = new Set<Promise<void>>();
      const send = async (requests: WriteRequest[]) => {
        while (requests.length > 0) {
          const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [t.name]: requests } }));
          requests = out.UnprocessedItems?.[t.name] ?? [];
        }
      };
      let batch: WriteRequest[] = [];
      const flush = async () => {
        while (inflight.size >= concurrency) await Promise.race(inflight);
        const p: Promise<void> = send(batch).finally(() => inflight.delete(p));
        inflight.add(p);
        batch = [];
      };
      for await (const line of createInterface({
        input: createReadStream(itemsFile(config, t.name)),
        crlfDelay: Infinity,
      })) {
        batch.push({ PutRequest: { Item: itemFromJson(line) } });
        if (batch.length === BATCH_ITEMS) await flush();
      }
      if (batch.length > 0) await flush();
      await Promise.all(inflight);
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const loopCpu = (cpu.user + cpu.system) / 1e6;
    const serverCpu = dynamo.cpuSeconds();
    console.log(
      `${TITLE}: the loop wrote ${source.rows.toLocaleString('en-US')} items in ${wallSeconds.toFixed(1)} s (CPU: the loop ${loopCpu.toFixed(1)} s, dynalite ${serverCpu.toFixed(1)} s)`,
    );
    return {
      tool: `BatchWriteItem loop ×${concurrency}`,
      targetDb: 'dynalite',
      rows: source.rows,
      wallSeconds,
      rowsPerSecond: source.rows / wallSeconds,
      runs: [wallSeconds],
      cpuRuns: [loopCpu],
      serverCpuRuns: [serverCpu],
      indexes: 0,
      foreignKeys: 0,
    };
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}

/** ferry first in each round, so any warm-cache advantage goes to the loop. */
export async function runDynamodbCase(config: BenchConfig, source: SourceData): Promise<CaseResult> {
  const logFile = join(config.logDir, 'dynamodb.log');
  rmSync(logFile, { force: true });
  const ferryRuns: Measurement[] = [];
  const loopRuns: Measurement[] = [];
  try {
    for (let run = 1; run <= config.repeat; run++) {
      ferryRuns.push(await measureFerry(config, source, logFile, run === 1));
      loopRuns.push(await measureLoop(config, source));
    }
  } finally {
    for (const t of source.tables) rmSync(itemsFile(config, t.name), { force: true });
  }
  return pairedRatio('dynamodb', TITLE, fastest(ferryRuns), fastest(loopRuns));
}
