// A command's parallelism and batch size within what the servers and memory allow. The plan
// asks; the servers' free connections and the memory batches in flight may take decide: a
// setting beyond them is lowered with a warning, and a server with no connection free for one
// worker is a one-line error. Memory stays bounded whatever the plan says.
import { getHeapStatistics } from 'node:v8';
import type { ConnectionRoom } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { TableInfo } from '../../core/types.js';
import type { Session } from '../session/session.js';
import { readerCount } from './throttle.js';

export interface Bounds {
  /** chunks copied (or compared) at once */
  workers: number;
  batchRows: number;
}

/** The share of the heap batches in flight may take; the rest is everything else ferry holds. */
const BATCH_SHARE_OF_HEAP = 0.25;
/** Batches a worker may hold at once: one read ahead, one mapped, one the target writes. */
const BATCHES_PER_WORKER = 3;
/** The workers a batch size must leave memory for: the default parallelism. */
const WORKERS_A_BATCH_LEAVES_ROOM_FOR = 4;
/**
 * Connections a side opens besides one per worker: the snapshot's (or a table's indexes while
 * chunks copy), and the one its liveness check asks on for a moment every few seconds.
 */
const EXTRA_CONNECTIONS = 2;

/** The bytes batches in flight may take: a share of the heap Node allows this process. */
function batchBudget(): number {
  return Math.floor(getHeapStatistics().heap_size_limit * BATCH_SHARE_OF_HEAP);
}

/** Rows a table's size in the catalog says something about per row: fewer are mostly a page's overhead. */
const ROWS_TO_AVERAGE = 1000;

/**
 * What a row of a table takes in memory, roughly: the values' bytes (the table's average from
 * the catalog, twice over for JavaScript strings) and the arrays and values that hold them.
 */
function rowMemory(table: TableInfo | undefined, columns: number): number {
  const average =
    table && table.rowEstimate >= ROWS_TO_AVERAGE && table.bytesEstimate > 0
      ? table.bytesEstimate / table.rowEstimate
      : 32 * columns;
  return 64 + 24 * columns + 2 * average;
}

/** Workers each side's free connections leave room for; two sides on one server share it. */
function workersByConnections(rooms: ConnectionRoom[]): { workers: number; room: ConnectionRoom } | undefined {
  const byServer = new Map<string, ConnectionRoom[]>();
  for (const r of rooms) byServer.set(r.server, [...(byServer.get(r.server) ?? []), r]);
  let tightest: { workers: number; room: ConnectionRoom } | undefined;
  for (const [server, on] of byServer) {
    // the tightest of them: the server's limit is shared, an account's own is the tighter one
    const room = on.reduce((a, b) => (b.free < a.free ? b : a));
    const workers = Math.floor(room.free / on.length) - EXTRA_CONNECTIONS;
    if (workers < 1)
      throw new FerryError(
        'UNSUPPORTED',
        `${server} has no connection free for ${on.length === 2 ? 'the source and the target' : 'ferry'} (${room.limit})`,
        'close idle sessions or raise the connection limit, then run the same command again',
      );
    if (!tightest || workers < tightest.workers) tightest = { workers, room };
  }
  return tightest;
}

/**
 * The command's bounds: the plan's parallelism (within settings.throttle.sourceConnections)
 * and batchRows, lowered to what the servers' free connections and the batch budget allow.
 * `warn` is told, in one line each, what was lowered and why.
 */
export async function boundsOf(session: Session, warn: (line: string) => void): Promise<Bounds> {
  const { plan } = session;
  const budgetBytes = batchBudget();
  const all = session.waves.flat();
  const schema = await session.source.introspect({ tables: all.map((m) => m.source.name) });
  const info = new Map(schema.tables.map((t) => [t.name, t]));
  const widest = Math.max(1, ...all.map((m) => rowMemory(info.get(m.source.name), m.source.columns.length)));

  const asked = readerCount(plan.settings);
  // a batch leaves room for the workers asked (up to a few: more are lowered, not the batch)
  let batchRows = plan.settings.batchRows;
  const rowsThatFit = Math.max(
    1,
    Math.floor(budgetBytes / (BATCHES_PER_WORKER * Math.min(asked, WORKERS_A_BATCH_LEAVES_ROOM_FOR) * widest)),
  );
  if (batchRows > rowsThatFit) {
    warn(
      `settings.batchRows ${batchRows} is more than memory allows (batches of about ${mb(widest * batchRows)} MB, ${mb(budgetBytes)} MB for all batches in flight); using ${rowsThatFit}`,
    );
    batchRows = rowsThatFit;
  }

  const rooms = await Promise.all(
    [session.source, session.target].map((c) => c.connectionRoom?.() ?? Promise.resolve(undefined)),
  );
  const byConnections = workersByConnections(rooms.filter((r) => r !== undefined));
  const limits = [
    {
      workers: Math.max(1, Math.floor(budgetBytes / (BATCHES_PER_WORKER * widest * batchRows))),
      why: `memory allows (${BATCHES_PER_WORKER} batches of about ${mb(widest * batchRows)} MB a worker, ${mb(budgetBytes)} MB for all batches in flight)`,
    },
    ...(byConnections
      ? [
          {
            workers: byConnections.workers,
            why: `${byConnections.room.server} has connections for (${byConnections.room.limit})`,
          },
        ]
      : []),
  ];
  const tightest = limits.reduce((a, b) => (b.workers < a.workers ? b : a));
  const workers = Math.min(asked, tightest.workers);
  if (workers < asked) warn(`settings.parallelism ${asked} is more than ${tightest.why}; using ${workers}`);
  return { workers, batchRows };
}

function mb(bytes: number): string {
  const n = bytes / 2 ** 20;
  return n >= 10 ? String(Math.round(n)) : n.toFixed(1);
}
