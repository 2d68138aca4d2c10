// A stand-in for Amazon SQS in tests: no SQS implementation runs on this machine (sqslite speaks
// only the query protocol, which @aws-sdk/client-sqs no longer uses; ElasticMQ cannot be
// downloaded here), so this small server speaks the AWS JSON 1.0 protocol the SDK uses, for the
// four calls a queued run and its function make: SendMessageBatch, ReceiveMessage (with a
// visibility timeout and a receive count), DeleteMessageBatch and GetQueueAttributes. It keeps
// every body ever sent, for a test to scan, and can fail entries of the next SendMessageBatch
// calls as SQS may (InternalError, not the sender's fault). It does not check signatures.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Message {
  id: string;
  body: string;
  receives: number;
  /** when it may be received again (ms since the epoch) */
  visibleAt: number;
  receipt?: string;
}

export interface SqsStandIn {
  /** the queue's URL: http://127.0.0.1:PORT/000000000000/NAME */
  url: string;
  /** every body sent, in order */
  sent: string[];
  /** messages on the queue (received or not) */
  depth(): number;
  /** fails the first `n` entries of each of the next `calls` SendMessageBatch calls */
  failEntries(n: number, calls: number): void;
  /** the SendMessageBatch calls and the entries they failed */
  calls: { entries: number; failed: number }[];
  close(): Promise<void>;
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export async function sqsStandIn(name = 'ferry-chunks'): Promise<SqsStandIn> {
  const queue: Message[] = [];
  const sent: string[] = [];
  const calls: { entries: number; failed: number }[] = [];
  let failing = { entries: 0, calls: 0 };
  const path = `/000000000000/${name}`;

  const actions: Record<string, (input: Record<string, unknown>) => unknown> = {
    GetQueueAttributes: () => ({ Attributes: { QueueArn: `arn:aws:sqs:eu-west-1:000000000000:${name}` } }),
    SendMessageBatch: (input) => {
      const entries = input.Entries as { Id: string; MessageBody: string }[];
      const fail = failing.calls > 0 ? failing.entries : 0;
      if (failing.calls > 0) failing.calls--;
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      entries.forEach((e, i) => {
        if (i < fail) return Failed.push({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' });
        const id = randomUUID();
        queue.push({ id, body: e.MessageBody, receives: 0, visibleAt: 0 });
        sent.push(e.MessageBody);
        Successful.push({ Id: e.Id, MessageId: id, MD5OfMessageBody: md5(e.MessageBody) });
      });
      calls.push({ entries: entries.length, failed: Failed.length });
      return { Successful, Failed };
    },
    ReceiveMessage: (input) => {
      const now = Date.now();
      const max = Number(input.MaxNumberOfMessages ?? 1);
      const hold = Number(input.VisibilityTimeout ?? 30) * 1000;
      const Messages = queue
        .filter((m) => m.visibleAt <= now)
        .slice(0, max)
        .map((m) => {
          m.receives++;
          m.visibleAt = now + hold;
          m.receipt = randomUUID();
          return {
            MessageId: m.id,
            ReceiptHandle: m.receipt,
            MD5OfBody: md5(m.body),
            Body: m.body,
            Attributes: { ApproximateReceiveCount: String(m.receives) },
          };
        });
      return { Messages };
    },
    DeleteMessageBatch: (input) => {
      const entries = input.Entries as { Id: string; ReceiptHandle: string }[];
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const e of entries) {
        const i = queue.findIndex((m) => m.receipt === e.ReceiptHandle);
        if (i < 0) Failed.push({ Id: e.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'unknown' });
        else {
          queue.splice(i, 1);
          Successful.push({ Id: e.Id });
        }
      }
      return { Successful, Failed };
    },
  };

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
      const fn = actions[action];
      if (!fn)
        return answer(res, 400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `${action} is not served` });
      const input = JSON.parse(text || '{}') as Record<string, unknown>;
      if (new URL(String(input.QueueUrl ?? '')).pathname !== path)
        return answer(res, 400, { __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'no such queue' });
      answer(res, 200, fn(input));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    sent,
    calls,
    depth: () => queue.length,
    failEntries(entries, n) {
      failing = { entries, calls: n };
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
