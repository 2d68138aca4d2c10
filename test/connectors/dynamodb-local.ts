// A real DynamoDB API implementation (dynalite) on a free loopback port, in a child process so
// that the CLI, run synchronously by the tests, can talk to it; and a loopback proxy in front of
// it that injects throttling errors and UnprocessedItems into BatchWriteItem calls.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startServerProcess } from '../server-process.js';

// the SDK's standard credential chain finds these; no instance metadata is ever asked
process.env.AWS_ACCESS_KEY_ID ??= 'ferry-test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'ferry-test-secret';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface LocalDynamo {
  endpoint: string;
  /** the target URL ferry is given */
  url: string;
  /** CPU seconds the server has used so far (Linux) */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const SERVER = `
const dynalite = require('dynalite');
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export async function startDynalite(): Promise<LocalDynamo> {
  const server = await startServerProcess('dynalite', SERVER);
  const endpoint = `http://127.0.0.1:${server.port}`;
  return {
    endpoint,
    url: `dynamodb://us-east-1?endpoint=${endpoint}`,
    cpuSeconds: server.cpuSeconds,
    stop: server.stop,
  };
}

export interface FaultPlan {
  /** every Nth BatchWriteItem call is refused as throttled */
  throttleEvery: number;
  /** every Nth BatchWriteItem call writes only its first half and returns the rest as UnprocessedItems */
  partialEvery: number;
}

export interface FaultyProxy {
  url: string;
  stats: { batchCalls: number; throttled: number; unprocessedItems: number };
  stop(): Promise<void>;
}

interface BatchBody {
  RequestItems: Record<string, unknown[]>;
}

/** A proxy that answers some BatchWriteItem calls the way a busy DynamoDB does. */
export async function startFaultyProxy(upstream: string, faults: FaultPlan): Promise<FaultyProxy> {
  const target = new URL(upstream);
  const stats = { batchCalls: 0, throttled: 0, unprocessedItems: 0 };
  const forward = (
    headers: Record<string, string | string[] | undefined>,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          method: 'POST',
          path: '/',
          headers: { ...headers, 'content-length': String(body.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const op = String(req.headers['x-amz-target'] ?? '');
      const reply = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(json));
      };
      try {
        if (op.endsWith('.BatchWriteItem')) {
          const n = ++stats.batchCalls;
          if (n % faults.throttleEvery === 0) {
            stats.throttled++;
            return reply(400, {
              __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
              message: 'The level of configured provisioned throughput for the table was exceeded',
            });
          }
          const parsed = JSON.parse(body.toString('utf8')) as BatchBody;
          const [table, requests] = Object.entries(parsed.RequestItems)[0]!;
          if (n % faults.partialEvery === 0 && requests.length > 1) {
            const keep = requests.slice(0, requests.length >> 1);
            const left = requests.slice(keep.length);
            const out = await forward(
              req.headers,
              Buffer.from(JSON.stringify({ ...parsed, RequestItems: { [table]: keep } })),
            );
            if (out.status !== 200) {
              res.writeHead(out.status, { 'content-type': 'application/x-amz-json-1.0' });
              return res.end(out.body);
            }
            stats.unprocessedItems += left.length;
            return reply(200, { UnprocessedItems: { [table]: left } });
          }
        }
        const out = await forward(req.headers, body);
        const headers = { ...out.headers };
        delete headers['content-length'];
        res.writeHead(out.status, headers);
        res.end(out.body);
      } catch (err) {
        reply(500, { __type: 'InternalServerError', message: (err as Error).message });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `dynamodb://us-east-1?endpoint=http://127.0.0.1:${port}`,
    stats,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Every item of a table, page by page. */
export async function scanAll(client: DynamoDBClient, table: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
