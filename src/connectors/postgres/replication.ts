// The stream of a replication slot: a replication connection in COPY BOTH mode, pgoutput's
// messages gathered into whole transactions, read from the socket only as fast as they are
// pulled. The server is told a position (standby status update) only when the pipeline
// acknowledges it: every status update, whether on a timer or in answer to the server's
// keepalive, carries the acknowledged position and never what was merely received, so a crash
// before the target holds a change makes the server send it again.
import pg from 'pg';
import type { AddedColumn, ChangeTransaction, RowChange } from '../../core/changes.js';
import type { ChangeStream, SourceTable, StreamedColumns } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Column } from '../../core/types.js';
import { watchErrors } from './config.js';
import { connectError, pgReason, queryError, type Endpoint } from './errors.js';
import { lsnText, lsnValue, PgoutputDecoder } from './pgoutput.js';
import { quoteIdent } from './sql.js';

/** what the stream holds in whole transactions before it stops reading the socket */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const MAX_BUFFERED_TRANSACTIONS = 1000;
/** how long a slot still active for a walsender that is ending (a killed ferry's) is waited for */
const SLOT_BUSY_WAIT_MS = 20_000;
/** µs between 1970 and 2000-01-01, PostgreSQL's epoch */
const PG_EPOCH_US = 946_684_800_000_000n;

/**
 * The settings of a replication connection: its values as text in the forms every ferry session
 * reads (config.ts sessionSql), so that text-read.ts decodes them as the copy's reads are decoded.
 */
export function replicationConfig(config: pg.ClientConfig): pg.ClientConfig {
  return {
    ...config,
    replication: 'database',
    options: [
      'TimeZone=UTC',
      'DateStyle=ISO,YMD',
      'IntervalStyle=iso_8601',
      'extra_float_digits=3',
      'bytea_output=hex',
      'statement_timeout=0',
    ]
      .map((s) => `-c ${s}`)
      .join(' '),
  } as pg.ClientConfig;
}

export interface StreamSettings {
  config: pg.ClientConfig;
  endpoint: Endpoint;
  schema: string;
  log: Logger;
  slot: string;
  publication: string;
  heartbeatSeconds: number;
  /** writes a message into the log, so that an idle slot moves on with the server's WAL */
  heartbeat: () => Promise<void>;
  /** the source's columns of a table by these names (added to it while it is streamed) */
  describe: (table: string, columns: string[]) => Promise<Column[]>;
}

/** The internals of node-postgres a replication stream needs (the COPY BOTH socket). */
interface CopyBothConnection {
  on(event: 'copyData', fn: (msg: { chunk: Buffer }) => void): unknown;
  once(event: 'replicationStart', fn: () => void): unknown;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: NodeJS.ReadableStream & { destroy(): void };
}

function connectionOf(client: pg.Client): CopyBothConnection {
  return (client as unknown as { connection: CopyBothConnection }).connection;
}

export class PgChangeStream implements ChangeStream {
  private client?: pg.Client;
  private readonly decoder: PgoutputDecoder;
  /** whole transactions (and heartbeats) not pulled yet */
  private readonly ready: ChangeTransaction[] = [];
  private bufferedBytes = 0;
  /** the transaction being received: its changes so far */
  private current?: RowChange[];
  private currentBytes = 0;
  /** columns the transaction being received added to streamed tables */
  private currentAdded: AddedColumn[] = [];
  /** messages received while added columns are described, taken once they are */
  private held?: Buffer[];
  /** the last position put in `ready` */
  private last: bigint;
  /** what the pipeline acknowledged: the only position the server is ever told */
  private acked: bigint;
  private paused = false;
  private failure?: FerryError;
  private closed = false;
  private wake?: () => void;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly s: StreamSettings,
    tables: SourceTable[],
    private readonly from: string,
    columns?: Map<string, StreamedColumns>,
  ) {
    this.decoder = new PgoutputDecoder(tables, s.schema, columns);
    this.last = this.acked = lsnValue(from);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ChangeTransaction> {
    await this.start();
    for (;;) {
      const next = this.ready.shift();
      if (next) {
        this.bufferedBytes -= next.bytes ?? 0;
        this.flowControl();
        yield next;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async acknowledge(position: string): Promise<void> {
    const at = lsnValue(position);
    if (at > this.acked) this.acked = at;
    this.sendStatus(false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.wakeUp();
    const client = this.client;
    if (!client) return;
    // a paused socket never sees the server close it, and end() waits for that
    connectionOf(client).stream.resume();
    const ended = client.end().catch(() => {});
    const late = setTimeout(() => connectionOf(client).stream.destroy(), 5000);
    await ended;
    clearTimeout(late);
  }

  private async start(): Promise<void> {
    const deadline = Date.now() + SLOT_BUSY_WAIT_MS;
    for (;;) {
      const client = new pg.Client(replicationConfig(this.s.config));
      watchErrors(client, this.s.log);
      try {
        await client.connect();
      } catch (e) {
        throw connectError(e, this.s.endpoint);
      }
      try {
        await this.startReplication(client);
        this.client = client;
        break;
      } catch (e) {
        await client.end().catch(() => {});
        // the walsender of a ferry that was killed may not have noticed yet
        if ((e as { code?: string }).code === '55006' && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          continue;
        }
        throw this.startError(e);
      }
    }
    this.timer = setInterval(() => void this.beat(), this.s.heartbeatSeconds * 1000);
  }

  /** START_REPLICATION, resolved once the server streams, rejected if it refuses. */
  private startReplication(client: pg.Client): Promise<void> {
    const connection = connectionOf(client);
    const publications = `'${quoteIdent(this.s.publication).replace(/'/g, "''")}'`;
    const sql =
      `START_REPLICATION SLOT ${quoteIdent(this.s.slot)} LOGICAL ${this.from} ` +
      `(proto_version '1', publication_names ${publications})`;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      connection.once('replicationStart', () => {
        started = true;
        client.on('error', (e) => this.fail(e));
        connection.on('copyData', (msg) => this.receive(msg.chunk));
        resolve();
      });
      client.query(sql).then(
        () => this.fail(new Error('the server ended the replication stream')),
        (e: unknown) => (started ? this.fail(e) : reject(e)),
      );
    });
  }

  private startError(e: unknown): FerryError {
    const reason = pgReason(e);
    if (/does not exist/.test(reason))
      return new FerryError(
        'STATE_CONFLICT',
        `the replication slot ${this.s.slot} is gone from the source (${reason}): the changes since the copy are lost to ferry`,
        'run `ferry rollback` in the state folder, then `ferry run PLAN --follow` to copy again',
      );
    if (/can no longer get changes|has already been removed|invalidated/.test(reason))
      return new FerryError(
        'STATE_CONFLICT',
        `the source no longer keeps the changes the replication slot ${this.s.slot} needs (${reason})`,
        'raise max_slot_wal_keep_size (or follow without long stops), then `ferry rollback` and `ferry run PLAN --follow` to copy again',
      );
    if ((e as { code?: string }).code === '55006')
      return new FerryError(
        'UNSUPPORTED',
        `the replication slot ${this.s.slot} is in use by another connection (${reason})`,
        'stop the other `ferry run --follow` of this plan first',
      );
    return queryError(e, 'READ_FAILED', `cannot stream the changes of replication slot ${this.s.slot}`);
  }

  private receive(msg: Buffer): void {
    if (this.failure || this.closed) return;
    if (this.held) {
      this.held.push(msg);
      return;
    }
    try {
      if (msg[0] === 0x77 /* w: XLogData */) this.take(msg.subarray(25), msg.length);
      else if (msg[0] === 0x6b /* k: keepalive */) {
        // between transactions, the server has sent everything before its WAL end
        if (!this.current) this.heartbeatAt(msg.readBigUInt64BE(1));
        if (msg[17] === 1) this.sendStatus(false);
      }
    } catch (e) {
      this.fail(e);
    }
  }

  private take(data: Buffer, bytes: number): void {
    const event = this.decoder.decode(data);
    if (!event) return;
    if (event.kind === 'begin') {
      this.current = [];
      this.currentBytes = 0;
      this.currentAdded = [];
    } else if (event.kind === 'columns') this.describeAdded(event.table, event.added);
    else if (event.kind === 'change') {
      this.current!.push(event.change);
      this.currentBytes += bytes;
    } else {
      const changes = this.current ?? [];
      this.current = undefined;
      const added = this.currentAdded.length > 0 ? { added: this.currentAdded } : {};
      this.push({ position: event.position, committed: event.committed, changes, bytes: this.currentBytes, ...added });
    }
  }

  /**
   * A streamed table's new columns: what follows is held (and the socket paused) until the
   * source describes them; this transaction's earlier rows of the table get them as NULL.
   */
  private describeAdded(table: string, names: string[]): void {
    this.held = [];
    this.flowControl();
    this.s.describe(table, names).then(
      (columns) => {
        this.decoder.extend(table, columns);
        for (const c of this.current ?? [])
          if (c.table === table)
            for (const row of c.op === 'update' ? [c.before, c.after] : c.op === 'insert' ? [c.after] : [c.before])
              row.push(...columns.map(() => null));
        this.currentAdded.push(...columns.map((column) => ({ table, column })));
        const held = this.held ?? [];
        this.held = undefined;
        this.flowControl();
        // a message may describe more columns again: what follows it is held anew
        for (const msg of held) this.receive(msg);
      },
      (e: unknown) => this.fail(e),
    );
  }

  /** A heartbeat: the log moved to `lsn` with nothing more to stream (one waiting at a time). */
  private heartbeatAt(lsn: bigint): void {
    if (lsn <= this.last) return;
    const tail = this.ready.at(-1);
    if (tail && tail.changes.length === 0) {
      tail.position = lsnText(lsn);
      this.last = lsn;
      return;
    }
    this.push({ position: lsnText(lsn), changes: [] });
  }

  private push(tx: ChangeTransaction): void {
    this.last = lsnValue(tx.position);
    this.ready.push(tx);
    this.bufferedBytes += tx.bytes ?? 0;
    this.flowControl();
    this.wakeUp();
  }

  /** Stops reading the socket while enough waits to be pulled; the server's WAL holds the rest. */
  private flowControl(): void {
    const stream = this.client && connectionOf(this.client).stream;
    if (!stream) return;
    const full =
      this.held !== undefined ||
      (this.ready.length > 0 &&
        (this.bufferedBytes >= MAX_BUFFERED_BYTES || this.ready.length >= MAX_BUFFERED_TRANSACTIONS));
    if (full && !this.paused) stream.pause();
    else if (!full && this.paused) stream.resume();
    this.paused = full;
  }

  /** The standby status update: written, flushed and applied up to the acknowledged position. */
  private sendStatus(replyRequested: boolean): void {
    if (!this.client || this.closed) return;
    const msg = Buffer.alloc(34);
    msg[0] = 0x72; // r
    msg.writeBigUInt64BE(this.acked, 1);
    msg.writeBigUInt64BE(this.acked, 9);
    msg.writeBigUInt64BE(this.acked, 17);
    msg.writeBigUInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
    msg[33] = replyRequested ? 1 : 0;
    connectionOf(this.client).sendCopyFromChunk(msg);
  }

  /** Asks the server where it stands now: its keepalive answers with a heartbeat. */
  pulse(): void {
    this.sendStatus(true);
  }

  /** Writes a heartbeat into the log, then asks the server where it stands (its keepalive answers). */
  private async beat(): Promise<void> {
    try {
      await this.s.heartbeat();
    } catch (e) {
      this.s.log.warn({ err: pgReason(e) }, 'cannot write a heartbeat into the PostgreSQL log');
    }
    this.sendStatus(true);
  }

  private fail(e: unknown): void {
    if (this.closed) return;
    clearInterval(this.timer);
    this.failure ??=
      e instanceof FerryError ? e : queryError(e, 'READ_FAILED', `the stream of replication slot ${this.s.slot} broke`);
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
