// Reading a MySQL/MariaDB server's row binlog for live changes, with @vlasky/zongji (on mysql2):
// the row events of the followed tables, grouped into whole transactions (a transaction ends at
// its XID event, or a COMMIT query event for tables without transactions), each with the
// position after its commit. The binlog connection is paused while the consumer is behind: the
// server's binlog holds what is not read yet.
import ZongJi, {
  type AnyBinlogEvent,
  type ColumnSchema,
  type QueryEvent,
  type TableMapEvent,
  type XidEvent,
} from '@vlasky/zongji';
import type { Connection } from 'mysql2';
import type { ChangeTransaction, RowChange } from '../../core/changes.js';
import type { ChangeStream, SourceTable } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Column } from '../../core/types.js';
import { formatPosition, type BinlogPosition } from './binlog-position.js';
import { addedColumns, changedTable, statementChange } from './binlog-ddl.js';
import { binlogRowDecoder } from './binlog-values.js';
import { reasonOf, toFerryError } from './errors.js';
import { connectionOptions, type Endpoint } from './session.js';

/** MySQL's column type codes (the binlog's TableMap) */
/** How to start a followed plan over: rollback refuses a target live changes altered unless forced. */
const COPY_AFRESH =
  "ferry rollback --force in the plan's folder drops what the run wrote, live changes included; then ferry run PLAN --follow";

const BLOB = 252;
const GEOMETRY = 255;

/** Committed transactions queued ahead of the consumer before the binlog connection is paused. */
export const READ_AHEAD_TRANSACTIONS = 100;
/** Row changes queued ahead of the consumer before the binlog connection is paused. */
const READ_AHEAD_CHANGES = 10_000;
/** Bytes of row events queued ahead of the consumer before the binlog connection is paused. */
const READ_AHEAD_BYTES = 8 * 1024 * 1024;
/**
 * Times a lost binlog connection is opened again (from the last commit read), waits doubling
 * from half a second up to 30 s: a server restart of a minute or so is survived, as a copy's is.
 */
const RECONNECTS = 8;

export interface BinlogStreamOptions {
  ep: Endpoint;
  tables: SourceTable[];
  /** per table, its columns added while it was followed: NULL in rows logged before */
  added: Map<string, string[]>;
  from: BinlogPosition;
  /** the replica id the binlog connection gives the server: one per followed plan */
  serverId: number;
  /** an empty transaction with the position reached is given after this long without one */
  heartbeatMs: number;
  /**
   * Checks the position is still on the server and reads the followed tables' definitions as
   * information_schema gives them (column name, type, character set), before reading starts.
   */
  prepare(from: BinlogPosition): Promise<Map<string, ColumnSchema[]>>;
  /** the source's columns of a table by these names (added to it while it is streamed) */
  describe(table: string, columns: string[]): Promise<Column[]>;
}

/**
 * Pausing the binlog connection for two reasons at once: zongji pauses it while it fetches a
 * table's definition and resumes it after, which must not resume a connection paused because
 * the consumer is behind (mysql2's pause and resume are not counted).
 */
class Hold {
  private behind = false;
  private fetching = false;
  private readonly pause: () => void;
  private readonly resume: () => void;

  constructor(conn: Connection) {
    const c = conn as unknown as { pause(): void; resume(): void };
    this.pause = c.pause.bind(c);
    this.resume = c.resume.bind(c);
    c.pause = () => {
      this.fetching = true;
      this.pause();
    };
    c.resume = () => {
      this.fetching = false;
      if (!this.behind) this.resume();
    };
  }

  set(behind: boolean): void {
    if (behind === this.behind) return;
    this.behind = behind;
    if (behind) this.pause();
    else if (!this.fetching) this.resume();
  }
}

export class BinlogStream implements ChangeStream {
  private readonly queue: ChangeTransaction[] = [];
  private queuedChanges = 0;
  private queuedBytes = 0;
  private failure?: unknown;
  private wake?: () => void;
  private started?: Promise<void>;
  private closed = false;
  private zongji?: ZongJi;
  private hold?: Hold;
  private schemas = new Map<string, ColumnSchema[]>();
  private readonly decoders = new Map<string, (row: Record<string, unknown>) => unknown[]>();
  private readonly followed: Set<string>;
  /** the columns of each followed table, as its rows are given */
  private readonly columns = new Map<string, Column[]>();
  /** events read while added columns are described, taken once they are */
  private held?: AnyBinlogEvent[];
  /** the changes of the transaction being read */
  private pending: RowChange[] = [];
  /** the bytes of the row events of `pending` */
  private pendingBytes = 0;
  private inTransaction = false;
  private file: string;
  /** the position after the last commit read, of any table */
  private reached: BinlogPosition;
  /** connections lost since the last commit read */
  private lost = 0;
  private reconnecting = false;
  /** pulse(): the next wait gives a heartbeat at once */
  private pulsed = false;

  constructor(private readonly opts: BinlogStreamOptions) {
    this.file = opts.from.file;
    this.reached = opts.from;
    this.followed = new Set(opts.tables.map((t) => t.name));
    for (const t of opts.tables) {
      this.columns.set(t.name, t.columns);
      this.decoders.set(t.name, binlogRowDecoder(t.name, t.columns, opts.added.get(t.name)));
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<ChangeTransaction> {
    return { next: () => this.next(), return: async () => (await this.close(), { done: true, value: undefined }) };
  }

  async acknowledge(): Promise<void> {
    // the server keeps its binlog by time (binlog_expire_logs_seconds), not by what a reader confirmed
  }

  async close(): Promise<void> {
    this.closed = true;
    this.signal();
    const z = this.zongji;
    this.zongji = undefined;
    if (!z) return;
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, 2000);
      z.once('stopped', () => {
        clearTimeout(done);
        resolve();
      });
      z.stop();
    });
  }

  pulse(): void {
    this.pulsed = true;
    this.signal();
  }

  private async next(): Promise<IteratorResult<ChangeTransaction>> {
    this.started ??= this.start();
    await this.started;
    for (;;) {
      const tx = this.queue.shift();
      if (tx) {
        this.queuedChanges -= tx.changes.length;
        this.queuedBytes -= tx.bytes ?? 0;
        this.hold?.set(this.behind());
        return { value: tx, done: false };
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.closed) return { value: undefined, done: true };
      if (this.pulsed) {
        this.pulsed = false;
        return { value: { position: formatPosition(this.reached), changes: [] }, done: false };
      }
      let timer: NodeJS.Timeout | undefined;
      const woken = await new Promise<boolean>((resolve) => {
        this.wake = () => resolve(true);
        timer = setTimeout(() => resolve(false), this.opts.heartbeatMs);
      });
      clearTimeout(timer);
      this.wake = undefined;
      if (!woken) return { value: { position: formatPosition(this.reached), changes: [] }, done: false };
    }
  }

  private behind(): boolean {
    return (
      this.queue.length >= READ_AHEAD_TRANSACTIONS ||
      this.queuedChanges >= READ_AHEAD_CHANGES ||
      this.queuedBytes >= READ_AHEAD_BYTES
    );
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    this.signal();
  }

  private async start(): Promise<void> {
    try {
      await this.open(this.opts.from);
    } catch (err) {
      if (!(err instanceof FerryError && err.transient)) throw err;
      this.reconnect(err);
    }
  }

  /**
   * A connection lost (a server restart, a network failure): the stream opens a new one from the
   * last commit read, the transaction it was in the middle of read again whole.
   */
  private reconnect(err: FerryError): void {
    if (this.reconnecting) return;
    this.reconnecting = true;
    const old = this.zongji;
    this.zongji = undefined;
    old?.stop();
    void (async () => {
      let last = err;
      while (!this.closed && last.transient && this.lost < RECONNECTS) {
        // unref'd: a stream closed meanwhile does not hold the process for the rest of the wait
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** this.lost++)).unref());
        if (this.closed) break;
        try {
          await this.open(this.reached);
          this.reconnecting = false;
          return;
        } catch (e) {
          last = e instanceof FerryError ? e : toFerryError(e, this.opts.ep, 'read');
        }
      }
      this.reconnecting = false;
      this.fail(last);
    })();
  }

  private async open(from: BinlogPosition): Promise<void> {
    const { ep, serverId, tables } = this.opts;
    this.schemas = await this.opts.prepare(from);
    if (this.closed) return;
    this.file = from.file;
    this.pending = [];
    this.pendingBytes = 0;
    this.inTransaction = false;
    // row values as the copy's connections give them: dates as strings, TIMESTAMP in UTC, JSON as text
    const z = new ZongJi({ ...connectionOptions(ep, false), timezone: 'Z' });
    this.zongji = z;
    z.on('error', (err: unknown) => {
      if (z !== this.zongji) return;
      const e = binlogError(err, ep, from);
      if (e.transient) this.reconnect(e);
      else this.fail(e);
    });
    z.on('binlog', (e: AnyBinlogEvent) => {
      if (z !== this.zongji) return;
      try {
        this.take(e);
      } catch (err) {
        this.fail(err);
      }
    });
    z.start({
      serverId,
      filename: from.file,
      position: from.offset,
      includeEvents: [
        'rotate',
        'mariadbgtid',
        'tablemap',
        'writerows',
        'updaterows',
        'deleterows',
        'xid',
        'xaprepare',
        'query',
      ],
      includeSchema: { [ep.database]: tables.map((t) => t.name) },
    });
    this.hold = new Hold(z.connection!);
    this.hold.set(this.behind());
  }

  private take(e: AnyBinlogEvent): void {
    if (this.failure !== undefined || this.closed) return;
    if (this.held) {
      this.held.push(e);
      return;
    }
    switch (e.getEventName()) {
      case 'rotate':
        this.file = (e as { binlogName: string }).binlogName;
        return;
      case 'mariadbgtid':
        // MariaDB's GTID event opens a transaction where MySQL writes BEGIN
        this.inTransaction = !(e as { standalone: boolean }).standalone;
        return;
      case 'tablemap':
        return this.describe(e as TableMapEvent);
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        return this.rows(e as AnyBinlogEvent & { tableId: number; rows: unknown[] });
      case 'xid':
        return this.commit(e as XidEvent);
      case 'xaprepare':
        if (this.pending.length > 0)
          throw new FerryError(
            'UNSUPPORTED',
            `an XA transaction changed ${this.pending[0]!.table} on the source: its changes cannot be followed (they commit later, apart from it)`,
            'copy the plan afresh once the application no longer uses XA transactions on the followed tables',
          );
        this.inTransaction = false;
        return;
      case 'query':
        return this.query(e as QueryEvent);
    }
  }

  /**
   * A followed table's columns as information_schema gives them, in place of those zongji has
   * for it: zongji's reading of MariaDB's own binlog metadata (binlog_row_metadata=FULL) takes
   * some character columns for binary ones. Where the binlog names its columns (FULL), they are
   * matched by name, so rows logged before a column was added are read too; otherwise the table
   * must have the binlog's columns. Geometry is read as the bytes MySQL stores (SRID, then WKB),
   * as the copy reads it, not as zongji's objects of points.
   */
  private describe(e: TableMapEvent): void {
    const entry = this.zongji?.tableMap[e.tableId];
    const now = this.schemas.get(e.tableName);
    if (!entry?.columns || !now) return;
    const byName = new Map(now.map((s) => [s.COLUMN_NAME, s]));
    const logged = e.columnNames?.length === e.columnCount ? e.columnNames : undefined;
    const schemas = logged ? logged.map((name) => byName.get(name)) : now;
    if (schemas.length !== e.columnCount || schemas.includes(undefined))
      throw new FerryError(
        'UNSUPPORTED',
        `the binlog holds rows of ${e.tableName} with other columns than the table has now (${e.columnCount} logged, ${now.length} now): its definition changed after these changes`,
        logged
          ? `make the plan again (ferry plan) and copy the table afresh (${COPY_AFRESH})`
          : `copy the table afresh (${COPY_AFRESH}); with binlog_row_metadata=FULL on the server, ferry reads rows logged before a column was added`,
      );
    const columns = schemas as ColumnSchema[];
    entry.columnSchemas = columns.map((s) => ({ ...s }));
    entry.columns = entry.columns.map((c, i) => ({
      ...c,
      name: columns[i]!.COLUMN_NAME,
      charset: columns[i]!.CHARACTER_SET_NAME,
      type: c.type === GEOMETRY ? BLOB : c.type,
    }));
  }

  private rows(e: AnyBinlogEvent & { tableId: number; rows: unknown[] }): void {
    const table = this.zongji?.tableMap[e.tableId]?.tableName;
    const decode = table === undefined ? undefined : this.decoders.get(table);
    if (!table || !decode) return;
    this.inTransaction = true;
    this.pendingBytes += e.size;
    const kind = e.getEventName();
    for (const row of e.rows) {
      if (kind === 'writerows')
        this.pending.push({ table, op: 'insert', after: decode(row as Record<string, unknown>) });
      else if (kind === 'deleterows')
        this.pending.push({ table, op: 'delete', before: decode(row as Record<string, unknown>) });
      else {
        const { before, after } = row as { before: Record<string, unknown>; after: Record<string, unknown> };
        this.pending.push({ table, op: 'update', before: decode(before), after: decode(after) });
      }
    }
  }

  private commit(e: XidEvent | QueryEvent): void {
    this.inTransaction = false;
    this.lost = 0;
    this.reached = { file: this.file, offset: e.nextPosition };
    if (this.pending.length === 0) return;
    const changes = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.queue.push({
      position: formatPosition(this.reached),
      committed: new Date(e.timestamp).toISOString(),
      changes,
      bytes,
    });
    this.queuedChanges += changes.length;
    this.queuedBytes += bytes;
    if (this.behind()) this.hold?.set(true);
    this.signal();
  }

  private query(e: QueryEvent): void {
    const statement = e.query.trim();
    if (/^BEGIN$/i.test(statement)) {
      this.inTransaction = true;
      return;
    }
    // changes of tables without transactions end with COMMIT (or ROLLBACK: they happened all the same)
    if (/^(COMMIT|ROLLBACK)$/i.test(statement)) return this.commit(e);
    const added = addedColumns(statement, e.schema, this.opts.ep.database, this.followed);
    if (added) return this.describeAdded(added.table, added.columns, e);
    const table = changedTable(statement, e.schema, this.opts.ep.database, this.followed);
    if (table)
      throw new FerryError(
        'UNSUPPORTED',
        `${table} changed on the source (${oneLine(statement)}): live changes cannot follow a change of a followed table's definition`,
        `make the plan again for the new definition (ferry plan) and copy the table afresh (${COPY_AFRESH})`,
      );
    const changed = statementChange(statement, this.followed);
    if (changed)
      throw new FerryError(
        'UNSUPPORTED',
        `a change of ${changed} was logged as a statement, not as rows (${oneLine(statement)}): ferry reads rows only, so it cannot follow it`,
        `SET GLOBAL binlog_format = 'ROW', restart the application's connections (a session keeps the format it started with), then copy the plan afresh (${COPY_AFRESH})`,
      );
    // a statement of its own (DDL of another table): the log moves on past it
    if (!this.inTransaction && e.nextPosition > 0) this.reached = { file: this.file, offset: e.nextPosition };
  }

  /**
   * An ALTER TABLE that adds columns to a followed table: the events after it are held (and the
   * connection paused) until the columns are described; then the table's rows are read with
   * them, and a transaction without changes says so, at the position after the statement.
   */
  private describeAdded(table: string, names: string[], e: QueryEvent): void {
    this.held = [];
    this.hold?.set(true);
    const after = { file: this.file, offset: e.nextPosition };
    void (async () => {
      // a stream opened again before the statement (a run killed as it took it in) knows them already
      const known = new Set(this.columns.get(table)!.map((c) => c.name));
      const fresh = names.filter((n) => !known.has(n));
      const added = fresh.length > 0 ? await this.opts.describe(table, fresh) : [];
      // the tables' definitions as information_schema gives them now, for the table maps that follow
      this.schemas = await this.opts.prepare(after);
      const columns = [...this.columns.get(table)!, ...added];
      this.columns.set(table, columns);
      const old = this.opts.added.get(table) ?? [];
      this.decoders.set(table, binlogRowDecoder(table, columns, [...old, ...names]));
      this.reached = after;
      if (added.length > 0)
        this.queue.push({
          position: formatPosition(after),
          changes: [],
          added: added.map((column) => ({ table, column })),
        });
      this.signal();
      const held = this.held ?? [];
      this.held = undefined;
      this.hold?.set(this.behind());
      for (const event of held) this.take(event);
    })().catch((err: unknown) => this.fail(err instanceof FerryError ? err : toFerryError(err, this.opts.ep, 'read')));
  }
}

function oneLine(statement: string): string {
  const s = statement.replace(/\s+/g, ' ');
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}

/** The binlog a stream starts from is not on the server any more (purged, or another server's). */
export function binlogGone(ep: Endpoint, from: BinlogPosition, reason: string): FerryError {
  return new FerryError(
    'READ_FAILED',
    `MySQL at ${ep.host}:${ep.port} no longer has the binlog from ${formatPosition(from)} (${reason}): the changes since then cannot be followed`,
    `copy the plan afresh (${COPY_AFRESH}), and keep binlogs longer than ferry may be stopped (binlog_expire_logs_seconds)`,
  );
}

interface DriverError {
  errno?: number;
}

/** A binlog connection's error as one line that says what to do. */
export function binlogError(err: unknown, ep: Endpoint, from: BinlogPosition): FerryError {
  const errno = (err as DriverError)?.errno;
  if (errno === 1236) return binlogGone(ep, from, reasonOf(err));
  if (errno === 1227 || errno === 1045)
    return new FerryError(
      'AUTH_FAILED',
      `MySQL at ${ep.host}:${ep.port} does not let user ${ep.user} read the binlog: ${reasonOf(err)}`,
      `GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the user (MariaDB 10.5+: REPLICATION SLAVE, BINLOG MONITOR)`,
    );
  return toFerryError(err, ep, 'read');
}
