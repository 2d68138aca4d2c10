// COPY in both directions over one connection, streaming with backpressure.
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { RowBatch } from '../../core/types.js';
import { BinaryRowParser, type Decoder } from './binary-read.js';

/**
 * Rows of `select` in batches of `batchRows`, decoded from binary COPY. When the caller
 * stops early the connection is left mid-COPY: the caller must discard it.
 */
export async function* copyOut(client: pg.ClientBase, select: string, decoders: Decoder[], batchRows: number): AsyncGenerator<RowBatch> {
  const stream = client.query(copyStreams.to(`COPY (${select}) TO STDOUT (FORMAT binary)`));
  const parser = new BinaryRowParser(decoders, batchRows);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    parser.push(chunk);
    while (parser.ready.length > 0) yield { rows: parser.ready.shift()! };
  }
  const rest = parser.finish();
  if (rest.length > 0) yield { rows: rest };
}

/** Writes buffers into COPY ... FROM STDIN, waiting whenever the socket is full. */
export class CopyIn {
  private readonly stream: ReturnType<typeof copyStreams.from>;
  private failure: Error | undefined;

  constructor(client: pg.ClientBase, command: string) {
    this.stream = client.query(copyStreams.from(command));
    this.stream.on('error', (e: Error) => {
      this.failure ??= e;
    });
  }

  async write(buf: Buffer | string): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(buf)) await once(this.stream, 'drain');
  }

  /** Ends the data; resolves with the rows the server stored. */
  async end(): Promise<number> {
    if (this.failure) throw this.failure;
    this.stream.end();
    await finished(this.stream);
    return this.stream.rowCount;
  }

  /** Abandons the COPY (the server rolls it back) and waits until the connection is usable again. */
  async abort(reason: Error): Promise<void> {
    if (!this.stream.destroyed) this.stream.destroy(reason);
    await finished(this.stream).catch(() => {});
  }
}
