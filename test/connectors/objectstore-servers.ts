// Servers for the object store tests, on loopback, started and stopped by the tests: a real
// S3 API server (s3rver), a proxy in front of it for the one thing s3rver does not check
// (permissions), and DuckDB as the independent reader of what ferry wrote.
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import S3rver from 's3rver';
import { tmpDir } from '../helpers.js';

// s3rver's account; the AWS SDK's credential chain finds them in the environment, as it would real ones
process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
process.env.AWS_EC2_METADATA_DISABLED = 'true';

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** the directory s3rver keeps its objects in */
  dir: string;
  /** an s3:// target URL for a prefix of the bucket, through `endpoint` unless another is given */
  url(prefix: string, params?: string, endpoint?: string): string;
  stop(): Promise<void>;
}

export async function startS3(bucket = 'ferry-test'): Promise<S3Server> {
  const dir = tmpDir('ferry-s3rver-');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    dir,
    url: (prefix, params = '', via = endpoint) =>
      `s3://${bucket}/${prefix}?endpoint=${via}&forcePathStyle=true&region=us-east-1${params ? `&${params}` : ''}`,
    stop: () => server.close(),
  };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * A loopback proxy to an S3 server that answers S3's own AccessDenied response to the requests
 * `deny` picks, and records every request. No S3 server that installs here checks permissions
 * (s3rver checks access key ids, not policies), so this is how a missing permission is tested.
 */
export async function startDenyingProxy(
  s3: S3Server,
  deny: (r: SeenRequest) => boolean,
): Promise<{ endpoint: string; requests: SeenRequest[]; stop(): Promise<void> }> {
  const upstream = new URL(s3.endpoint);
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const seen = { method: req.method!, url: req.url!, headers: req.headers };
    requests.push(seen);
    if (deny(seen)) {
      req.resume();
      req.on('end', () => {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>FERRYTEST</RequestId><HostId>ferry-test</HostId></Error>',
        );
      });
      return;
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let duck: Promise<DuckDBConnection> | undefined;

/** Rows of a DuckDB query, values as DuckDB gives them to JavaScript. */
export async function duckdb(sql: string): Promise<unknown[][]> {
  duck ??= DuckDBInstance.create(':memory:').then(async (db) => {
    const c = await db.connect();
    await c.run("SET TimeZone = 'UTC'");
    return c;
  });
  const result = await (await duck).runAndReadAll(sql);
  return result.getRowsJS() as unknown[][];
}
