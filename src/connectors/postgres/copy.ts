// COPY in both directions over one connection, streaming with backpressure.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { RowBatch } from '../../core/types.js';
import type { ColumnBatch, ColumnDecoder } from '../../core/columns.js';
import { ColumnBatcher } from './binary-columns.js';
import { BinaryCopyParser, RowBatcher, type Decoder, type RowSink } from './binary-read.js';

/** The batches a sink of a binary COPY read makes: full ones as they fill, the last one at the end. */
interface Batcher<B> extends RowSink {
  readonly ready: B[];
  rest(): B | undefined;
}

/** Where CopyOut puts the payload of each CopyData message, where it lies in the socket's chunk. */
interface CopySink {
  push(chunk: Buffer, start: number, end: number): void;
}

/** bytes of a raw COPY stream gathered into one piece: one CopyData message into the target */
const RAW_PIECE_BYTES = 256 * 1024;

/**
 * The bytes of a binary COPY as they come, gathered into pieces of RAW_PIECE_BYTES: the server
 * sends a message per row, which would otherwise become a message per row into the target.
 */
class RawPieces implements CopySink {
  readonly ready: Buffer[] = [];
  private piece = Buffer.allocUnsafe(RAW_PIECE_BYTES);
  private used = 0;

  push(chunk: Buffer, start: number, end: number): void {
    while (start < end) {
      const take = Math.min(end - start, RAW_PIECE_BYTES - this.used);
      chunk.copy(this.piece, this.used, start, start + take);
      this.used += take;
      start += take;
      if (this.used === RAW_PIECE_BYTES) {
        this.ready.push(this.piece);
        this.piece = Buffer.allocUnsafe(RAW_PIECE_BYTES);
        this.used = 0;
      }
    }
  }

  rest(): Buffer | undefined {
    return this.used > 0 ? this.piece.subarray(0, this.used) : undefined;
  }
}

// protocol message codes (PostgreSQL's "Message Formats")
const COPY_DATA = 0x64;
const COPY_DONE = 0x63;
const COPY_OUT_RESPONSE = 0x48;
const NOTICE_RESPONSE = 0x4e;
const PARAMETER_STATUS = 0x53;
const NOTIFICATION_RESPONSE = 0x41;

/** What pg hands a query object it submits: the socket and the simple-query call. */
interface PgConnection {
  stream: Socket;
  query(text: string): void;
}

/**
 * COPY … TO STDOUT read off the connection's socket: each CopyData message's payload goes to
 * the parser where it lies in the socket's chunk. (pg-copy-streams copied every message, then
 * every chunk's messages once more into a stream: about a seventh of ferry's CPU in a
 * PostgreSQL → Parquet run.) The socket is paused while batches wait for the consumer. From
 * the first message that is not the copy's own, pg reads the connection again and ends the
 * query as any other: CommandComplete, ReadyForQuery, or the error. pg calls `submit` and the
 * `handle…` methods (its Submittable interface).
 */
class CopyOut {
  private socket?: Socket;
  private pgListener?: (chunk: Buffer) => void;
  /** a message header (code and length) split between two chunks */
  private readonly header = Buffer.alloc(5);
  private headerBytes = 0;
  private code = 0;
  /** bytes of the current message's body still to come */
  private remaining = 0;
  private detached = false;
  private ended = false;
  private failure?: Error;
  private waiter?: () => void;

  constructor(
    private readonly text: string,
    private readonly parser: CopySink,
    /** whether batches wait for the consumer */
    private readonly backlog: () => boolean,
  ) {}

  submit(connection: PgConnection): Error | undefined {
    const socket = connection.stream;
    const listeners = socket.listeners('data') as ((chunk: Buffer) => void)[];
    if (listeners.length !== 1)
      return new Error(`the connection's socket has ${listeners.length} data listeners where pg keeps one`);
    this.socket = socket;
    this.pgListener = listeners[0]!;
    socket.removeListener('data', this.pgListener);
    socket.on('data', this.onChunk);
    connection.query(this.text);
    return undefined;
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.ended = true;
    this.wake();
  }

  handleError(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  /** Waits until batches are ready or the copy has ended; resolves to false once it has ended. */
  async more(): Promise<boolean> {
    if (this.failure) throw this.failure;
    if (this.ended) return false;
    await new Promise<void>((resolve) => {
      this.waiter = resolve;
      if (!this.detached) this.socket?.resume();
    });
    if (this.failure) throw this.failure;
    return !this.ended;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private readonly onChunk = (chunk: Buffer): void => {
    if (this.failure) return;
    try {
      this.consume(chunk);
    } catch (e) {
      // the sink refused a value: reading stops here and the caller discards the connection
      this.failure = e as Error;
      this.socket!.pause();
      this.wake();
      return;
    }
    if (this.detached || !this.backlog()) return;
    this.socket!.pause();
    this.wake();
  };

  private consume(chunk: Buffer): void {
    let p = 0;
    while (p < chunk.length) {
      if (this.remaining > 0) {
        const stop = Math.min(chunk.length, p + this.remaining);
        if (this.code === COPY_DATA) this.parser.push(chunk, p, stop);
        this.remaining -= stop - p;
        p = stop;
        continue;
      }
      const headerStart = p;
      if (this.headerBytes === 0 && p + 5 <= chunk.length) {
        this.code = chunk[p]!;
        this.remaining = chunk.readInt32BE(p + 1) - 4;
        p += 5;
      } else {
        const take = Math.min(5 - this.headerBytes, chunk.length - p);
        chunk.copy(this.header, this.headerBytes, p, p + take);
        this.headerBytes += take;
        p += take;
        if (this.headerBytes < 5) return;
        this.headerBytes = 0;
        this.code = this.header[0]!;
        this.remaining = this.header.readInt32BE(1) - 4;
      }
      switch (this.code) {
        case COPY_DATA:
        case COPY_OUT_RESPONSE:
        case NOTICE_RESPONSE:
        case PARAMETER_STATUS:
        case NOTIFICATION_RESPONSE:
          continue;
        case COPY_DONE:
          return this.detach(chunk.subarray(p));
        default:
          // an error, or the end: pg takes the connection back from this message on
          return this.detach(
            p - headerStart === 5 ? chunk.subarray(headerStart) : Buffer.concat([this.header, chunk.subarray(p)]),
          );
      }
    }
  }

  private detach(rest: Buffer): void {
    this.detached = true;
    const socket = this.socket!;
    socket.removeListener('data', this.onChunk);
    socket.on('data', this.pgListener!);
    if (rest.length > 0) this.pgListener!(rest);
  }
}

/**
 * What `sink` makes of the binary COPY of `select`, as it makes it. When the caller stops early
 * the connection is left mid-COPY: the caller must discard it.
 */
async function* copyOutTo<B>(
  client: pg.ClientBase,
  select: string,
  sink: CopySink & { readonly ready: B[] },
): AsyncGenerator<B> {
  const copy = new CopyOut(`COPY (${select}) TO STDOUT (FORMAT binary)`, sink, () => sink.ready.length > 0);
  void client.query(copy as unknown as pg.Submittable);
  for (let reading = true; reading;) {
    reading = await copy.more();
    while (sink.ready.length > 0) yield sink.ready.shift()!;
  }
}

/** Batches of `select`, read by binary COPY (the connection as copyOutTo leaves it). */
async function* copyOutWith<B>(
  client: pg.ClientBase,
  select: string,
  fields: number,
  batcher: Batcher<B>,
): AsyncGenerator<B> {
  const parser = new BinaryCopyParser(fields, batcher);
  yield* copyOutTo(client, select, {
    ready: batcher.ready,
    push: (chunk, start, end) => parser.push(chunk, start, end),
  });
  parser.finish();
  const rest = batcher.rest();
  if (rest) yield rest;
}

/**
 * The binary COPY of `select` undecoded, header and trailer included, in pieces of a few
 * hundred kilobytes: what COPY … FROM STDIN (FORMAT binary) takes as it is.
 */
export async function* copyOutRaw(client: pg.ClientBase, select: string): AsyncGenerator<Buffer> {
  const pieces = new RawPieces();
  yield* copyOutTo(client, select, pieces);
  const rest = pieces.rest();
  if (rest) yield rest;
}

/** Rows of `select` as canonical values, in batches of `batchRows`. */
export function copyOut(
  client: pg.ClientBase,
  select: string,
  decoders: Decoder[],
  batchRows: number,
): AsyncGenerator<RowBatch> {
  return copyOutWith(client, select, decoders.length, new RowBatcher(decoders, batchRows));
}

/** Rows of `select` as column batches of `batchRows` rows (see binary-columns.ts). */
export function copyOutColumns(
  client: pg.ClientBase,
  select: string,
  decoders: ColumnDecoder[],
  batchRows: number,
): AsyncGenerator<ColumnBatch> {
  return copyOutWith(client, select, decoders.length, new ColumnBatcher(decoders, batchRows));
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

  /** Throws the COPY's failure (a dropped connection, an error of the server), if it has failed. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  async write(buf: Uint8Array | string): Promise<void> {
    this.check();
    if (!this.stream.write(buf)) await once(this.stream, 'drain');
  }

  /** Ends the data; resolves with the rows the server stored. */
  async end(): Promise<number> {
    this.check();
    this.stream.end();
    await finished(this.stream);
    return this.stream.rowCount;
  }

  /** Abandons the COPY (the server rolls it back) and waits until the connection is usable again. */
  async abort(reason: Error): Promise<void> {
    // a COPY that failed is over: there is nothing to cancel, and a connection that ended before
    // the server took the COPY would never answer the cancel, which pg-copy-streams waits for
    if (this.failure) return;
    if (!this.stream.destroyed) this.stream.destroy(reason);
    await finished(this.stream).catch(() => {});
  }
}
