// COPY in both directions over one connection, streaming with backpressure.
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { RowBatch } from '../../core/types.js';
import type { ColumnBatch, ColumnLayout } from '../../core/columns.js';
import { ColumnBatcher, type ColumnDecoder } from './binary-columns.js';
import { BinaryCopyParser, RowBatcher, type Decoder, type RowSink } from './binary-read.js';

/** The batches a sink of a binary COPY read makes: full ones as they fill, the last one at the end. */
interface Batcher<B> extends RowSink {
  readonly ready: B[];
  rest(): B | undefined;
}

/**
 * Batches of `select`, read by binary COPY. When the caller stops early the connection is
 * left mid-COPY: the caller must discard it.
 */
async function* copyOutWith<B>(client: pg.ClientBase, select: string, fields: number, batcher: Batcher<B>): AsyncGenerator<B> {
  const stream = client.query(copyStreams.to(`COPY (${select}) TO STDOUT (FORMAT binary)`));
  const parser = new BinaryCopyParser(fields, batcher);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    parser.push(chunk);
    while (batcher.ready.length > 0) yield batcher.ready.shift()!;
  }
  parser.finish();
  const rest = batcher.rest();
  if (rest) yield rest;
}

/** Rows of `select` as canonical values, in batches of `batchRows`. */
export function copyOut(client: pg.ClientBase, select: string, decoders: Decoder[], batchRows: number): AsyncGenerator<RowBatch> {
  return copyOutWith(client, select, decoders.length, new RowBatcher(decoders, batchRows));
}

/** Rows of `select` as column batches of `batchRows` rows (see binary-columns.ts). */
export function copyOutColumns(client: pg.ClientBase, select: string, decoders: ColumnDecoder[], layouts: ColumnLayout[], batchRows: number): AsyncGenerator<ColumnBatch> {
  return copyOutWith(client, select, decoders.length, new ColumnBatcher(decoders, layouts, batchRows));
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
