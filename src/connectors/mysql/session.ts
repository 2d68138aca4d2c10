// Connections: the endpoint URL, the session settings every connection starts with, a small
// pool, and the streaming query that reads rows (or column batches) in batches with backpressure.
import { connect as connectSocket, isIP, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import mysql from 'mysql2';
import type { Connection, ConnectionOptions, Query } from 'mysql2';
import type { ColumnBatch } from '../../core/columns.js';
import { FerryError } from '../../core/errors.js';
import type { Liveness } from '../../core/liveness.js';
import { tlsSettings, type TlsSettings } from '../../core/tls.js';
import { redactUrl, urlParams } from '../../core/url.js';
import { isFatal, toFerryError } from './errors.js';
import type { TextColumnBatcher } from './text-columns.js';

export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** ?sslmode=require|verify-ca|verify-full&sslrootcert=ca.pem (ssl=true: require); none by default */
  tls?: TlsSettings;
  /** ?localInfile=false: write with INSERT even where the server allows LOAD DATA LOCAL INFILE */
  localInfile: boolean;
  /** watches the server answers while its connections are open (set by the connector) */
  liveness?: Liveness;
}

export function parseEndpoint(url: string): Endpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FerryError(
      'URL_INVALID',
      `cannot read the MySQL URL ${redactUrl(url)}`,
      'write it as mysql://user:password@host:3306/database',
    );
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database)
    throw new FerryError(
      'URL_INVALID',
      `the MySQL URL ${redactUrl(url)} names no database`,
      'add the database to the URL: mysql://user@host:3306/database',
    );
  const params = urlParams(url);
  const ssl = params.get('ssl');
  const sslmode = params.get('sslmode') ?? (ssl === 'true' || ssl === 'required' ? 'require' : undefined);
  return {
    host: u.hostname || 'localhost',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    database,
    tls: tlsSettings({ sslmode, sslrootcert: params.get('sslrootcert') }, redactUrl(url)),
    localInfile: params.get('localInfile') !== 'false',
  };
}

const STRICT_MODE =
  'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';

/** Session settings. Values are exchanged in UTC and utf8mb4; a paused reader must not be cut off. */
export const SESSION = {
  // writers refuse a value that does not fit instead of truncating it; foreign keys are checked when added
  target: [
    `SET time_zone = '+00:00', sql_mode = '${STRICT_MODE}', foreign_key_checks = 0, net_read_timeout = 3600, net_write_timeout = 3600`,
    'SET NAMES utf8mb4',
  ],
  // readers accept zero dates as stored; net_write_timeout covers a stream paused by a slow target
  source: [
    "SET time_zone = '+00:00', sql_mode = '', net_write_timeout = 86400, lock_wait_timeout = 30",
    'SET NAMES utf8mb4',
    'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ',
  ],
};

/** Silence on a connection after which the system probes the peer (then every second, ten times). */
const KEEPALIVE_IDLE_MS = 30_000;

/**
 * The socket of a connection, watched by the endpoint's Liveness. For a verify-full connection
 * to an IP address: Node checks the certificate against the host name the socket looked up
 * and, as mysql2 names no host to tls.connect, against "localhost" when there was no lookup
 * (an IP address): recording the address makes it check the address connected to.
 */
function socketFor(ep: Endpoint): () => Socket {
  return () => {
    const socket = connectSocket(ep.port, ep.host);
    if (ep.tls?.mode === 'verify-full' && isIP(ep.host)) (socket as unknown as { _host: string })._host = ep.host;
    socket.setNoDelay(true);
    socket.on('connect', () => socket.setKeepAlive(true, KEEPALIVE_IDLE_MS));
    return ep.liveness?.track(socket) ?? socket;
  };
}

/** `multipleStatements`: the connection takes statements separated by ";" in one query (ferry's own SQL only) */
export function connectionOptions(ep: Endpoint, multipleStatements: boolean): ConnectionOptions {
  return {
    multipleStatements,
    host: ep.host,
    port: ep.port,
    user: ep.user,
    password: ep.password,
    database: ep.database,
    ssl: ep.tls
      ? { ca: ep.tls.ca, rejectUnauthorized: ep.tls.mode !== 'require', verifyIdentity: ep.tls.mode === 'verify-full' }
      : undefined,
    charset: 'UTF8MB4_GENERAL_CI',
    // BIGINT arrives as a number when it is a safe integer and as a string otherwise (both exact)
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    dateStrings: true,
    jsonStrings: true,
    connectTimeout: 10_000,
    // keepalive probes after 30 s of silence (the system's default waits two hours): a server
    // whose machine vanished ends its connections in about 40 s
    stream: socketFor(ep),
    // statements are built with literals already escaped; mysql2's default formatter would
    // scan every (multi-megabyte) INSERT for placeholders even without parameters
    queryFormat: (sql: string, values?: unknown) =>
      Array.isArray(values) && values.length ? mysql.format(sql, values) : sql,
  };
}

/** Runs one statement; `rows` asks for rows as arrays. */
export function run<T = any>(
  conn: Connection,
  sql: string,
  params?: unknown[],
  rows: 'arrays' | 'objects' = 'objects',
): Promise<T> {
  return new Promise((resolve, reject) => {
    conn.query({ sql, rowsAsArray: rows === 'arrays' }, params, (err, res) => (err ? reject(err) : resolve(res as T)));
  });
}

/**
 * Runs LOAD DATA LOCAL INFILE with the file's content from a stream of Buffers. `ended` is
 * aborted when the statement ends: one that failed first (a dropped connection) leaves the
 * stream to itself, and its producer should stop. mysql2 then no longer listens to the stream
 * either: an error of it is heard here, or it would crash the process.
 */
export function runLoad<T = any>(conn: Connection, sql: string, content: (ended: AbortSignal) => Readable): Promise<T> {
  const statement = new AbortController();
  const open = () => {
    const stream = content(statement.signal);
    // while mysql2 listens, the statement fails with the stream's error
    stream.on('error', () => {});
    return stream;
  };
  return new Promise<T>((resolve, reject) => {
    conn.query({ sql, infileStreamFactory: open }, (err, res) => (err ? reject(err) : resolve(res as T)));
  }).finally(() => statement.abort());
}

/** Socket bytes queued for the server beyond which a LOAD DATA producer waits. */
const WRITE_AHEAD_BYTES = 4 << 20;

/**
 * Waits until the connection's socket has sent what is queued: mysql2 forwards a LOAD DATA
 * stream without regard to the socket, so the producer has to hold back itself.
 */
export function socketDrained(conn: Connection): Promise<void> {
  const socket = (conn as unknown as { stream: Writable }).stream;
  // a socket already closed (the server went away) never drains: the statement fails instead
  if (socket.writableLength < WRITE_AHEAD_BYTES || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

const dead = new WeakSet<Connection>();

/** Opens a connection and applies the session settings; errors become FerryErrors. */
export async function openSession(ep: Endpoint, settings: string[], multipleStatements = false): Promise<Connection> {
  const conn = mysql.createConnection(connectionOptions(ep, multipleStatements));
  // an idle connection the server closes emits 'error'; without a listener it would crash the process
  conn.on('error', () => dead.add(conn));
  try {
    for (const sql of settings) await run(conn, sql);
  } catch (err) {
    conn.destroy();
    throw toFerryError(err, ep, 'connect');
  }
  return conn;
}

/** Whether the server closed the connection or it failed. */
export function isDead(conn: Connection): boolean {
  return dead.has(conn);
}

export function closeSession(conn: Connection): Promise<void> {
  if (dead.has(conn)) {
    conn.destroy();
    return Promise.resolve();
  }
  return new Promise((resolve) => conn.end(() => resolve()));
}

/** A few sessions with the same settings, handed out one caller at a time. */
export class SessionPool {
  private idle: Connection[] = [];
  private open = 0;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly ep: Endpoint,
    private readonly settings: string[],
    private readonly size: number,
    /** its connections take several statements in one query */
    private readonly multipleStatements = false,
  ) {}

  async acquire(): Promise<Connection> {
    for (;;) {
      if (this.closed) throw new FerryError('INTERNAL', 'the MySQL connector is closed', 'connect again');
      const conn = this.idle.pop();
      if (conn && !dead.has(conn)) return conn;
      if (conn) {
        this.open--;
        conn.destroy();
        continue;
      }
      if (this.open < this.size) {
        this.open++;
        try {
          return await openSession(this.ep, this.settings, this.multipleStatements);
        } catch (err) {
          this.open--;
          this.waiters.shift()?.();
          throw err;
        }
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Gives a connection back; one whose last error broke it is closed instead. */
  release(conn: Connection, err?: unknown): void {
    if (this.closed || isFatal(err) || dead.has(conn)) {
      this.open--;
      conn.destroy();
    } else this.idle.push(conn);
    this.waiters.shift()?.();
  }

  async use<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    try {
      const out = await fn(conn);
      this.release(conn);
      return out;
    } catch (err) {
      this.release(conn, err);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const idle = this.idle.splice(0);
    this.open -= idle.length;
    await Promise.all(idle.map(closeSession));
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** Batches buffered ahead of the consumer before the socket is paused. */
const READ_AHEAD = 2;

/** Where a query's results become batches: each 'result' the query emits, and its end. */
interface Batching<B> {
  /** takes one result; gives a batch when one is full */
  add(result: unknown): B | undefined;
  /** the partial batch at the end, if any */
  rest(): B | undefined;
}

/**
 * Streams the results of the query `start` sends, in batches, pausing the socket while the
 * consumer is `READ_AHEAD` batches behind. `prepare` runs on a batch just before it is yielded.
 * Stopping early drains the rest of the result so the connection stays usable.
 */
async function* streamBatches<B>(
  conn: Connection,
  start: () => Query,
  batching: Batching<B>,
  prepare?: (batch: B) => void,
): AsyncGenerator<B> {
  const ready: B[] = [];
  let ended = false;
  let failure: unknown;
  let paused = false;
  let discard = false;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onFailure = (err: unknown) => {
    failure ??= err;
    signal();
  };
  // mysql2 reports a connection already closed on the connection, not on the query
  conn.on('error', onFailure);
  // sent once the generator runs, so that no result comes before its listeners
  const query = start();
  query.on('result', (result: unknown) => {
    if (discard) return;
    const batch = batching.add(result);
    if (batch === undefined) return;
    ready.push(batch);
    if (ready.length >= READ_AHEAD && !paused) {
      paused = true;
      conn.pause();
    }
    signal();
  });
  query.on('error', onFailure);
  query.on('end', () => {
    ended = true;
    const rest = discard ? undefined : batching.rest();
    if (rest !== undefined) ready.push(rest);
    signal();
  });
  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      const batch = ready.shift();
      if (batch !== undefined) {
        if (paused && ready.length < READ_AHEAD) {
          paused = false;
          conn.resume();
        }
        prepare?.(batch);
        yield batch;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    conn.off('error', onFailure);
    if (!ended && failure === undefined) {
      discard = true;
      ready.length = 0;
      if (paused) conn.resume();
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (ended || failure !== undefined) signal();
      });
    }
  }
}

/**
 * Streams a query's rows (arrays) in batches of `batchRows`. `decode` converts a batch in place
 * before it is yielded.
 */
export function streamRows(
  conn: Connection,
  sql: string,
  batchRows: number,
  decode: (rows: unknown[][]) => void,
): AsyncGenerator<unknown[][]> {
  let current: unknown[][] = [];
  const batching: Batching<unknown[][]> = {
    add(row) {
      current.push(row as unknown[]);
      if (current.length < batchRows) return undefined;
      const full = current;
      current = [];
      return full;
    },
    rest: () => (current.length > 0 ? current : undefined),
  };
  return streamBatches(conn, () => conn.query({ sql, rowsAsArray: true }), batching, decode);
}

/** mysql2's packet, as far as the column reader reads it: the payload is buffer[offset..end). */
interface RawPacket {
  buffer: Buffer;
  offset: number;
  end: number;
  isEOF(): boolean;
}

type QueryState = (this: Query, packet: RawPacket, connection: unknown) => unknown;

/**
 * Streams a query's rows as column batches, decoded from the text protocol's packets where they
 * lie (text-columns.ts). mysql2 runs a query as a chain of states; after the column definitions
 * it hands each row packet to the query's `row` state, which ferry replaces on this one query
 * (an internal of mysql2 3.x, covered by the MySQL column tests). A value with no column form
 * stops decoding: the rest of the result is skipped, and the error ends the stream.
 */
export function streamColumns(conn: Connection, sql: string, batcher: TextColumnBatcher): AsyncGenerator<ColumnBatch> {
  let failure: unknown;
  let endOfRows: QueryState;
  const row: QueryState = function (packet, connection) {
    if (packet.isEOF()) {
      if (failure !== undefined) this.emit('error', failure);
      else {
        const rest = batcher.rest();
        if (rest) this.emit('result', rest);
      }
      return endOfRows.call(this, packet, connection);
    }
    if (failure === undefined)
      try {
        batcher.row(packet.buffer, packet.offset, packet.end);
        while (batcher.ready.length > 0) this.emit('result', batcher.ready.shift());
      } catch (err) {
        failure = err;
      }
    return row;
  };
  const start = () => {
    const query = conn.query({ sql, rowsAsArray: true });
    const states = query as unknown as { row: QueryState };
    endOfRows = states.row;
    states.row = row;
    return query;
  };
  return streamBatches(conn, start, { add: (batch) => batch as ColumnBatch, rest: () => undefined });
}
