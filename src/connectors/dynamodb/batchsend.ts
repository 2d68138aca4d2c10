// BatchWriteItem, the call made for every 25 items, sent by ferry over Node's HTTP client: the
// body written by JSON.stringify and the request signed by the SDK's own SigV4 signer. The
// SDK's middleware stack and schema serializer took about three times the CPU per call, CPU
// that a DynamoDB implementation on the same machine misses. The credentials, the endpoint and
// the clock offset are the SDK client's; errors take the shape of the SDK's, so that retries
// and error messages stay as they are; every other call goes through the SDK.
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { DescribeTableCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import { binaryReviver, itemWithBase64 } from './codec.js';
import type { Endpoint } from './client.js';

const SERVICE = 'dynamodb';
const TARGET = 'DynamoDB_20120810.BatchWriteItem';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
// as the SDK client's (see createClient)
const CONNECT_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 60_000;

const jsonReady = (r: WriteRequest) =>
  r.PutRequest
    ? { PutRequest: { Item: itemWithBase64(r.PutRequest.Item!) } }
    : { DeleteRequest: { Key: itemWithBase64(r.DeleteRequest!.Key!) } };

/** An error as the SDK throws it for an error response: named by the error type, with the HTTP status. */
function serviceError(res: IncomingMessage, text: string): Error {
  let body: { __type?: string; code?: string; message?: string; Message?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON (a proxy's page): the status says what happened
  }
  const header = res.headers['x-amzn-errortype'];
  const type = (typeof header === 'string' ? header : (body.code ?? body.__type ?? ''))
    .split(/[,:]/)[0]!
    .split('#')
    .pop()!;
  const status = res.statusCode ?? 0;
  const name = type || (status >= 500 ? 'InternalServerError' : 'UnknownError');
  return Object.assign(new Error(body.message ?? body.Message ?? `HTTP ${status}`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: res.headers['x-amzn-requestid'] },
  });
}

const timeoutError = (what: string) => Object.assign(new Error(what), { name: 'TimeoutError' });

export class BatchWriteSender {
  /** where the SDK sent this client's first call */
  private sdkUrl?: URL;
  private target?: Promise<{ url: URL; agent: HttpAgent }>;
  private readonly signer: SignatureV4;

  constructor(
    private readonly client: DynamoDBClient,
    endpoint: Endpoint,
    private readonly sockets: number,
  ) {
    // DynamoDB's calls carry no payload-hash header (applyChecksum off), as the SDK sends them
    this.signer = new SignatureV4({
      credentials: client.config.credentials,
      region: endpoint.region,
      service: SERVICE,
      sha256: client.config.sha256,
      applyChecksum: false,
      uriEscapePath: true,
    });
    client.middlewareStack.add(
      (next) => (args) => {
        const r = args.request as { protocol?: string; hostname?: string; port?: number; path?: string };
        if (!this.sdkUrl && r.hostname)
          this.sdkUrl = new URL(`${r.protocol}//${r.hostname}${r.port ? `:${r.port}` : ''}${r.path ?? '/'}`);
        return next(args);
      },
      { step: 'build', name: 'ferryBatchWriteEndpoint' },
    );
  }

  /**
   * The URL the SDK sends this client's calls to, as the SDK resolved it (the target URL's
   * endpoint, else AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL or the config file's, else the
   * region's): that of the first call it made, or of a DescribeTable made for the purpose.
   */
  private resolveTarget(table: string): Promise<{ url: URL; agent: HttpAgent }> {
    this.target ??= (async () => {
      if (!this.sdkUrl)
        await this.client.send(new DescribeTableCommand({ TableName: table })).catch((e: unknown) => {
          if (!this.sdkUrl) throw e;
        });
      const url = new URL(this.sdkUrl!.href);
      if (!url.pathname.endsWith('/')) url.pathname += '/';
      const options = { keepAlive: true, maxSockets: this.sockets };
      return { url, agent: url.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options) };
    })().catch((e: unknown) => {
      this.target = undefined;
      throw e;
    });
    return this.target;
  }

  /** Sends one BatchWriteItem call; resolves to the requests DynamoDB left unprocessed. */
  async send(table: string, requests: WriteRequest[]): Promise<WriteRequest[]> {
    const body = Buffer.from(JSON.stringify({ RequestItems: { [table]: requests.map(jsonReady) } }), 'utf8');
    const { url, agent } = await this.resolveTarget(table);
    const headers = await this.signedHeaders(url, body);
    const text = await this.post(url, agent, headers, body);
    const out = JSON.parse(text, binaryReviver) as { UnprocessedItems?: Record<string, WriteRequest[]> };
    return out.UnprocessedItems?.[table] ?? [];
  }

  /** SigV4 headers of a POST of the body to the URL, as the SDK signs its calls. */
  private async signedHeaders(url: URL, body: Buffer): Promise<Record<string, string>> {
    const signed = await this.signer.sign(
      {
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query: {},
        headers: { 'content-type': CONTENT_TYPE, host: url.host, 'x-amz-target': TARGET },
        body,
      },
      { signingDate: new Date(Date.now() + (this.client.config.systemClockOffset ?? 0)) },
    );
    return { ...signed.headers, 'content-length': String(body.length) };
  }

  /** POSTs the body; resolves to the text of a 2xx answer, rejects with the SDK's kind of error otherwise. */
  private post(url: URL, agent: HttpAgent, headers: Record<string, string>, body: Buffer): Promise<string> {
    const options: RequestOptions = {
      agent,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port || undefined,
      path: url.pathname,
      method: 'POST',
      headers,
      timeout: REQUEST_TIMEOUT_MS,
    };
    return new Promise((resolve, reject) => {
      const req: ClientRequest = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(text);
          else reject(serviceError(res, text));
        });
      });
      req.on('error', reject);
      req.on('timeout', () =>
        req.destroy(timeoutError(`no answer from ${url.host} in ${REQUEST_TIMEOUT_MS / 1000} s`)),
      );
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () => req.destroy(timeoutError(`could not connect to ${url.host} in ${CONNECT_TIMEOUT_MS / 1000} s`)),
          CONNECT_TIMEOUT_MS,
        );
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.end(body);
    });
  }

  close(): void {
    void this.target?.then(
      ({ agent }) => agent.destroy(),
      () => {},
    );
  }
}
