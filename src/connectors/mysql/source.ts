// The read side: a consistent view shared by parallel readers, keyset splitting, streaming reads.
import type { Connection } from 'mysql2';
import type {
  ChangeLog,
  ChangeLogSettings,
  FreezeOptions,
  FreezeUndo,
  ReadView,
  Source,
  SourceTable,
  WriteFreeze,
} from '../../core/contracts.js';
import { FerryError, snapshotLost } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Digest } from '../../core/digest.js';
import { hashedRows, type DigestColumn, type DigestHash, type DigestRead } from '../../core/range-digest.js';
import type { CanonicalType, Column, Finding, KeyRange, RowBatch, SchemaInfo } from '../../core/types.js';
import type { ColumnBatch, ColumnDecoder } from '../../core/columns.js';
import { profileStatements, type ProfileAnswer, type ProfileAsk, type ProfileTable } from '../../core/profile.js';
import { evenKeyRanges, rangesBetween } from '../../core/split.js';
import { filterProblem } from '../../core/sql-filter.js';
import {
  batchDecoder,
  boundLiterals,
  quoteIdent,
  readsAsIs,
  selectExpr,
  valueDecoder,
  type CodecColumn,
} from './codec.js';
import { comparePositions, currentPosition, formatPosition, type BinlogPosition } from './binlog-position.js';
import { MysqlChangeLog } from './changelog.js';
import { freezeWrites, thawWrites } from './freeze.js';
import { freezeFindings } from './privileges.js';
import { digestReadSql, digestsColumn, rangeDigest } from './digest.js';
import { isFatal, isTransient, reasonOf, toFerryError } from './errors.js';
import { profileDialect } from './profile.js';
import {
  closeSession,
  isDead,
  openSession,
  run,
  SESSION,
  streamColumns,
  streamRows,
  type Endpoint,
  type SessionPool,
} from './session.js';
import { keyColumns, rangeConditions, tupleCompare, whereClause } from './sql.js';
import { TextColumnBatcher, textColumnDecoderFor } from './text-columns.js';

/**
 * `parallelism` connections, each inside START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT taken
 * while a global read lock held every commit back, so all of them see the same data. A
 * snapshot cannot be reopened on another connection: one reader lost (a server restart) ends
 * the view, and every read after that fails with snapshotLost.
 */
class MysqlReadView implements ReadView {
  private free: Connection[];
  private waiters: ((c: Connection) => void)[] = [];
  private lost?: string;

  constructor(
    readonly parallelism: number,
    private readonly conns: Connection[],
    private readonly ep: Endpoint,
  ) {
    this.free = [...conns];
  }

  async take(): Promise<Connection> {
    if (this.lost) throw this.lostError();
    const conn = this.free.pop() ?? (await new Promise<Connection>((resolve) => this.waiters.push(resolve)));
    if (isDead(conn)) this.lost ??= 'the server closed a connection of it';
    if (this.lost) {
      this.give(conn);
      throw this.lostError();
    }
    return conn;
  }

  give(conn: Connection, err?: unknown): void {
    if (isFatal(err)) this.lost ??= reasonOf(err);
    const next = this.waiters.shift();
    if (next) next(conn);
    else this.free.push(conn);
  }

  /** A reader's error as its caller throws it: the end of the snapshot, once a connection of it is lost. */
  failure(err: unknown, table?: string): FerryError {
    return this.lost ? this.lostError(err) : toFerryError(err, this.ep, 'read', table);
  }

  private lostError(cause?: unknown): FerryError {
    return snapshotLost(`MySQL at ${this.ep.host}:${this.ep.port}: ${this.lost}`, cause);
  }

  async use<T>(fn: (conn: Connection) => Promise<T>, table?: string): Promise<T> {
    const conn = await this.take();
    try {
      const out = await fn(conn);
      this.give(conn);
      return out;
    } catch (err) {
      this.give(conn, err);
      throw this.failure(err, table);
    }
  }

  async release(): Promise<void> {
    await Promise.all(this.conns.map(closeSession));
  }
}

function viewOf(view: ReadView): MysqlReadView {
  if (!(view instanceof MysqlReadView))
    throw new FerryError(
      'INTERNAL',
      'a read view of another connector was passed to the MySQL source',
      'report this as a bug',
    );
  return view;
}

export class MysqlSource implements Source {
  private readonly ep: Endpoint;

  constructor(
    /** the connector's connections, for reads outside a view */
    private readonly pool: SessionPool,
    private readonly log: Logger,
    /** the connector's introspection (the columns a followed table gets on the source) */
    private readonly introspect: (filter: { tables: string[] }) => Promise<SchemaInfo>,
  ) {
    this.ep = pool.ep;
  }

  async snapshot(parallelism: number): Promise<ReadView> {
    return (await this.openView(parallelism, false)).view;
  }

  /**
   * A view and the binlog position of its data, for live changes: the changes after it are
   * those the view does not see. MariaDB says where each reader's snapshot stands in the binlog
   * (binlog_snapshot_file/position); MySQL's position is read while the global read lock holds
   * every commit, or without it before the snapshots start: an earlier position only replays
   * changes the copy holds already, which applying them again leaves as they are.
   */
  async snapshotAt(parallelism: number): Promise<{ view: ReadView; position: string }> {
    const { view, position } = await this.openView(parallelism, true);
    return { view, position: formatPosition(position!) };
  }

  private async openView(
    parallelism: number,
    withPosition: boolean,
  ): Promise<{ view: MysqlReadView; position?: BinlogPosition }> {
    const n = Math.max(1, parallelism);
    const opened = await Promise.allSettled(Array.from({ length: n }, () => openSession(this.ep, SESSION.source)));
    const conns = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const refused = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (refused) {
      for (const c of conns) c.destroy();
      throw refused.reason;
    }
    let position: BinlogPosition | undefined;
    try {
      // one reader alone is consistent by itself; several must start while commits are held
      let locked = false;
      if (n > 1) {
        try {
          await run(conns[0]!, 'FLUSH TABLES WITH READ LOCK');
          locked = true;
        } catch (err) {
          this.log.warn(
            { reason: reasonOf(err) },
            `could not take MySQL's global read lock: the ${n} readers' snapshots may differ by commits made while they start (grant RELOAD, or read with parallelism 1, for an exact snapshot)`,
          );
        }
      }
      try {
        const before = withPosition ? await currentPosition(conns[0]!) : undefined;
        await Promise.all(conns.map((c) => run(c, 'START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT')));
        if (before) position = (await snapshotPositions(conns)) ?? before;
      } finally {
        if (locked) await run(conns[0]!, 'UNLOCK TABLES');
      }
    } catch (err) {
      for (const c of conns) c.destroy();
      throw toFerryError(err, this.ep, 'read');
    }
    return { view: new MysqlReadView(n, conns, this.ep), position };
  }

  /** Live changes of this source, from its binlog (changelog.ts). */
  changeLog(settings: ChangeLogSettings): ChangeLog {
    return new MysqlChangeLog(this, this.pool, settings, this.introspect);
  }

  freezeWrites(opts: FreezeOptions, record: (undo: FreezeUndo) => void): Promise<WriteFreeze> {
    return freezeWrites(this.pool, opts, record);
  }

  thawWrites(undo: FreezeUndo): Promise<void> {
    return thawWrites(this.pool, undo);
  }

  async freezeCheck(): Promise<Finding[]> {
    try {
      return await this.pool.use((conn) => freezeFindings(conn));
    } catch (err) {
      throw toFerryError(err, this.ep, 'read');
    }
  }

  async sequenceValues(table: SourceTable): Promise<Record<string, bigint>> {
    const auto = table.columns.find((c) => c.autoIncrement);
    if (!auto) return {};
    try {
      return await this.pool.use(async (conn) => {
        // MySQL 8 answers information_schema's counters from a cache unless told not to
        await run(conn, 'SET SESSION information_schema_stats_expiry = 0').catch(() => {});
        const rows = await run<{ next: string | number | null }[]>(
          conn,
          'SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
          [table.name],
        );
        const next = rows[0]?.next;
        return next == null ? {} : { [auto.name]: BigInt(next) };
      });
    } catch (err) {
      throw toFerryError(err, this.ep, 'read', table.name);
    }
  }

  async split(table: SourceTable, rowsPerChunk: number, view: ReadView, within: KeyRange = {}): Promise<KeyRange[]> {
    if (table.key.length === 0) return [{}];
    const keys = keyColumns(table.name, table.columns, table.key);
    const even =
      keys.length === 1 && !within.lower && !within.upper && !table.where
        ? await this.evenSplit(table, keys[0]!, rowsPerChunk, view)
        : undefined;
    if (even) return even;
    const names = keys.map((k) => quoteIdent(k.name));
    const decoders = keys.map(valueDecoder);
    const from = `SELECT ${keys.map(selectExpr).join(', ')} FROM ${quoteIdent(table.name)}`;
    const order = ` ORDER BY ${names.join(', ')}`;
    const upper = within.upper ? tupleCompare(names, boundLiterals(keys, within.upper), '<') : undefined;
    const step = Math.max(1, Math.floor(rowsPerChunk));
    const starts: unknown[][] = [];
    let lower = within.lower;
    await viewOf(view).use(async (conn) => {
      const nextKey = async (cond: string | undefined, offset: number): Promise<unknown[] | undefined> => {
        const rows = await run<unknown[][]>(
          conn,
          `${from}${whereClause([cond, upper, table.where])}${order} LIMIT 1 OFFSET ${offset}`,
          [],
          'arrays',
        );
        return rows[0]?.map((v, i) => decoders[i]!(v));
      };
      for (;;) {
        const lowerLits = lower && boundLiterals(keys, lower);
        let boundary = await nextKey(lowerLits && tupleCompare(names, lowerLits, '>='), step);
        // a key repeated more than rowsPerChunk times: the chunk ends at the next distinct key
        if (boundary && lowerLits && boundLiterals(keys, boundary).join() === lowerLits.join())
          boundary = await nextKey(tupleCompare(names, lowerLits, '>'), 0);
        if (!boundary) break;
        starts.push(boundary);
        lower = boundary;
      }
    }, table.name);
    return rangesBetween(starts, within);
  }

  /**
   * A whole table's ranges by key arithmetic from the key's minimum and maximum and the
   * table's row estimate (core/split.ts), when the key is dense. (InnoDB's estimate of the rows
   * in a key range is too rough for sub-ranges: they are split exactly.)
   */
  private async evenSplit(
    table: SourceTable,
    key: CodecColumn,
    rowsPerChunk: number,
    view: ReadView,
  ): Promise<KeyRange[] | undefined> {
    if (key.type.kind !== 'int' || !readsAsIs(key)) return undefined;
    const k = quoteIdent(key.name);
    return viewOf(view).use(async (conn) => {
      const [[lo, hi]] = await run<unknown[][]>(
        conn,
        `SELECT CAST(MIN(${k}) AS CHAR), CAST(MAX(${k}) AS CHAR) FROM ${quoteIdent(table.name)}`,
        [],
        'arrays',
      );
      if (lo === null || hi === null) return undefined;
      // a view has no estimate (NULL): it is split exactly
      const [stats] = await run<unknown[][]>(
        conn,
        'SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [table.name],
        'arrays',
      );
      return evenKeyRanges(key.type, BigInt(String(lo)), BigInt(String(hi)), Number(stats?.[0] ?? 0), rowsPerChunk);
    }, table.name);
  }

  async checkWhere(table: SourceTable): Promise<string | undefined> {
    const problem = filterProblem(table.where ?? '', 'mysql');
    if (problem) return problem;
    try {
      return await this.pool.use(async (conn) => {
        await run(conn, 'START TRANSACTION READ ONLY');
        try {
          await run(conn, `EXPLAIN SELECT 1 FROM ${quoteIdent(table.name)}${whereClause([table.where])}`);
          return undefined;
        } catch (err) {
          if (isTransient(err)) throw err;
          return reasonOf(err);
        } finally {
          await run(conn, 'ROLLBACK').catch(() => {});
        }
      });
    } catch (err) {
      throw toFerryError(err, this.ep, 'read', table.name);
    }
  }

  async profile(table: ProfileTable, asks: ProfileAsk[]): Promise<ProfileAnswer[]> {
    const statements = profileStatements(asks, quoteIdent(table.name), profileDialect(table));
    try {
      return await this.pool.use(async (conn) => {
        const answers: ProfileAnswer[] = [];
        for (const s of statements) answers.push(...s.answers((await run<unknown[][]>(conn, s.sql, [], 'arrays'))[0]!));
        return answers;
      });
    } catch (err) {
      throw toFerryError(err, this.ep, 'read', table.name);
    }
  }

  async count(table: SourceTable, range: KeyRange, view: ReadView): Promise<number> {
    const sql = `SELECT COUNT(*) FROM ${quoteIdent(table.name)}${whereClause([...rangeConditions(keyColumns(table.name, table.columns, table.key), range), table.where])}`;
    return viewOf(view).use(
      async (conn) => Number((await run<unknown[][]>(conn, sql, [], 'arrays'))[0]![0]),
      table.name,
    );
  }

  digestsColumn(column: Column, as: CanonicalType): boolean {
    return digestsColumn(column, as);
  }

  rangeDigest(
    table: SourceTable,
    range: KeyRange,
    view: ReadView,
    columns: DigestColumn[],
  ): Promise<Digest | undefined> {
    const conditions = [...rangeConditions(keyColumns(table.name, table.columns, table.key), range), table.where];
    return viewOf(view).use((conn) => rangeDigest(conn, table, conditions, columns), table.name);
  }

  digestRead(
    table: SourceTable,
    range: KeyRange,
    view: ReadView,
    columns: DigestColumn[],
    _hash: DigestHash,
    rest: Column[],
    batchRows: number,
  ): DigestRead {
    const conditions = [...rangeConditions(keyColumns(table.name, table.columns, table.key), range), table.where];
    const sql = digestReadSql(table, conditions, columns, rest);
    return hashedRows(this.withReader(view, table, (conn) => readSelect(conn, sql, rest, batchRows)));
  }

  read(table: SourceTable, range: KeyRange, view: ReadView, batchRows: number): AsyncIterable<RowBatch> {
    return this.withReader(view, table, (conn) =>
      readRows(
        conn,
        table.name,
        table.columns,
        rangeConditions(keyColumns(table.name, table.columns, table.key), range),
        table.where,
        batchRows,
      ),
    );
  }

  /** Column batches straight from the text protocol, when every column is read as it is and has a column form. */
  readColumns(
    table: SourceTable,
    range: KeyRange,
    view: ReadView,
    batchRows: number,
  ): AsyncIterable<ColumnBatch> | undefined {
    const decoders: ColumnDecoder[] = [];
    for (const c of table.columns) {
      const d = readsAsIs(c) ? textColumnDecoderFor(c.type) : undefined;
      if (!d) return undefined;
      decoders.push(d);
    }
    const sql = selectSql(
      table.name,
      table.columns,
      rangeConditions(keyColumns(table.name, table.columns, table.key), range),
      table.where,
    );
    return this.withReader(view, table, (conn) =>
      streamColumns(conn, sql, new TextColumnBatcher(decoders, Math.max(1, batchRows))),
    );
  }

  /** A read on one of the view's connections, given back when the read ends. */
  private async *withReader<T>(
    view: ReadView,
    table: SourceTable,
    read: (conn: Connection) => AsyncIterable<T>,
  ): AsyncIterable<T> {
    const v = viewOf(view);
    const conn = await v.take();
    let given = false;
    try {
      yield* read(conn);
    } catch (err) {
      v.give(conn, err);
      given = true;
      throw v.failure(err, table.name);
    } finally {
      if (!given) v.give(conn);
    }
  }
}

/**
 * The earliest of the readers' snapshot positions in the binlog (MariaDB); undefined where the
 * server does not say (MySQL).
 */
async function snapshotPositions(conns: Connection[]): Promise<BinlogPosition | undefined> {
  let earliest: BinlogPosition | undefined;
  for (const c of conns) {
    const rows = await run<{ Variable_name: string; Value: string }[]>(c, "SHOW STATUS LIKE 'binlog_snapshot_%'");
    const value = (name: string) => rows.find((r) => r.Variable_name.toLowerCase() === name)?.Value;
    const file = value('binlog_snapshot_file');
    const offset = Number(value('binlog_snapshot_position'));
    if (!file || !Number.isSafeInteger(offset)) return undefined;
    const p = { file, offset };
    if (!earliest || comparePositions(p, earliest) < 0) earliest = p;
  }
  return earliest;
}

function selectSql(table: string, columns: CodecColumn[], conditions: string[], where: string | undefined): string {
  return `SELECT ${columns.map(selectExpr).join(', ')} FROM ${quoteIdent(table)}${whereClause([...conditions, where])}`;
}

/** Streams the rows of a table selected by conditions, decoded to canonical values. */
export function readRows(
  conn: Connection,
  table: string,
  columns: CodecColumn[],
  conditions: string[],
  where: string | undefined,
  batchRows: number,
): AsyncGenerator<RowBatch> {
  return readSelect(conn, selectSql(table, columns, conditions, where), columns, batchRows);
}

/** Streams the rows of `sql`, its first columns those of selectExpr(columns) decoded to canonical values (any after them as they come). */
export async function* readSelect(
  conn: Connection,
  sql: string,
  columns: CodecColumn[],
  batchRows: number,
): AsyncGenerator<RowBatch> {
  for await (const rows of streamRows(conn, sql, Math.max(1, batchRows), batchDecoder(columns))) yield { rows };
}
