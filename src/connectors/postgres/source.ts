// The source side: one exported snapshot shared by every reader, keyset-quantile splits,
// and reads by binary COPY of a SELECT over a key range.
import pg from 'pg';
import type { ColumnBatch, ColumnDecoder } from '../../core/columns.js';
import { evenKeyRanges, rangesBetween } from '../../core/split.js';
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
import { profileStatements, type ProfileAnswer, type ProfileAsk, type ProfileTable } from '../../core/profile.js';
import type { Digest } from '../../core/digest.js';
import { hashedRows, type DigestColumn, type DigestHash, type DigestRead } from '../../core/range-digest.js';
import type { CanonicalType, Column, KeyRange, RowBatch } from '../../core/types.js';
import { filterProblem } from '../../core/sql-filter.js';
import { decoderFor } from './binary-read.js';
import { digestOfRow, digestReadList, digestSelect, digestsColumn, engineForms } from './digest.js';
import { PgChangeLog } from './changelog.js';
import { sessionSql, watchErrors } from './config.js';
import { copyOut, copyOutColumns, copyOutRaw } from './copy.js';
import { freezeWrites, thawWrites } from './freeze.js';
import { enforcedForeignKey, profileDialect } from './profile.js';
import { columnDecoderFor } from './binary-columns.js';
import { connectError, isTransientPgError, pgReason, queryError, type Endpoint } from './errors.js';
import { keyColumns, keyRangeConditions, quoteIdent, selectList, tableRef, whereClause } from './sql.js';
import { rawColumnForm, rawFormatOf, rawReadExpression } from './wire.js';
import { sqlLiteral } from './text-write.js';

/** how long the snapshot's connection may take to answer whether it is still there */
const SNAPSHOT_PING_MS = 10_000;

export interface PgSourceSettings {
  config: pg.ClientConfig;
  endpoint: Endpoint;
  schema: string;
  log: Logger;
}

export async function openClient(s: PgSourceSettings): Promise<pg.Client> {
  const client = new pg.Client(s.config);
  watchErrors(client, s.log);
  try {
    await client.connect();
    await client.query(sessionSql(s.schema));
    return client;
  } catch (e) {
    await client.end().catch(() => {});
    throw connectError(e, s.endpoint);
  }
}

/**
 * A snapshot exported by one connection and imported by up to `parallelism` readers, opened
 * as needed. The exporting transaction stays open for the view's life, so a reader whose
 * connection had to be dropped (a read abandoned mid-COPY, an error) is replaced by a new
 * one importing the same snapshot. When the exporting connection is gone (a server restart),
 * so is the snapshot: every read after that fails with snapshotLost.
 */
export class PgReadView implements ReadView {
  private readonly idle: pg.Client[] = [];
  /** readers whose connection failed (a reader terminated while idle): replaced, never used again */
  private readonly broken = new WeakSet<pg.Client>();
  private readonly waiting: (() => void)[] = [];
  private open = 0;
  private released = false;
  /** why the snapshot is gone, once it is */
  private lost?: string;
  /** the question to the exporting connection in flight, if any */
  private asking?: Promise<void>;

  constructor(
    readonly parallelism: number,
    private readonly exporter: pg.Client,
    private readonly snapshotId: string,
    private readonly settings: PgSourceSettings,
    private readonly onRelease: (view: PgReadView) => void,
  ) {
    exporter.on('error', (e) => (this.lost ??= pgReason(e)));
    exporter.on('end', () => (this.lost ??= 'the connection holding it closed'));
  }

  get exported(): string {
    return this.snapshotId;
  }

  async acquire(): Promise<pg.Client> {
    for (;;) {
      if (this.released)
        throw new FerryError('INTERNAL', 'the PostgreSQL read view was used after its release', 'report this');
      if (this.lost) throw this.lostError();
      const client = this.idle.pop();
      if (client && !this.broken.has(client)) return client;
      if (client) {
        this.giveBack(client, false);
        continue;
      }
      if (this.open < this.parallelism) {
        this.open++;
        let reader: pg.Client | undefined;
        try {
          reader = this.watched(await openClient(this.settings));
          await reader.query(
            `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT ${sqlLiteral(this.snapshotId)}`,
          );
          return reader;
        } catch (e) {
          reader?.end().catch(() => {});
          this.open--;
          this.waiting.shift()?.();
          if ((e as { code?: string }).code === '22023') this.lost ??= 'the server no longer has it';
          throw await this.failure(e, () => queryError(e, 'READ_FAILED', 'cannot open a reader on the snapshot'));
        }
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private watched(reader: pg.Client): pg.Client {
    reader.on('error', () => this.broken.add(reader));
    return reader;
  }

  /**
   * A reader's error as its caller throws it. A lost connection may have taken the snapshot
   * with it: the exporting connection is asked, and only while it answers may the read be
   * retried (on a new reader importing the same snapshot).
   */
  async failure(e: unknown, otherwise: () => FerryError): Promise<FerryError> {
    const connectionLost = e instanceof FerryError ? e.transient : isTransientPgError(e);
    if (connectionLost && !this.lost) await this.askExporter();
    return this.lost ? this.lostError(e) : otherwise();
  }

  /** Whether the exporting connection still answers; readers that fail together share one question. */
  private askExporter(): Promise<void> {
    this.asking ??= this.exporter
      .query({ text: 'SELECT 1', query_timeout: SNAPSHOT_PING_MS } as pg.QueryConfig)
      .then(
        () => {},
        (x: unknown) => {
          this.lost ??= pgReason(x);
        },
      )
      .finally(() => (this.asking = undefined));
    return this.asking;
  }

  private lostError(cause?: unknown): FerryError {
    const { host, port } = this.settings.endpoint;
    return snapshotLost(`PostgreSQL at ${host}:${port}: ${this.lost}`, cause);
  }

  /** Returns a reader; one that is not `healthy` (mid-COPY, in a failed transaction) is closed. */
  giveBack(client: pg.Client, healthy: boolean): void {
    if (healthy && !this.released) this.idle.push(client);
    else {
      this.open--;
      client.end().catch(() => {});
    }
    this.waiting.shift()?.();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.onRelease(this);
    const closing = this.idle.splice(0).map((c) => c.end().catch(() => {}));
    closing.push(this.exporter.end().catch(() => {}));
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all(closing);
  }
}

function pgView(view: ReadView): PgReadView {
  if (!(view instanceof PgReadView))
    throw new FerryError(
      'INTERNAL',
      'a read view of another connector was given to the PostgreSQL source',
      'report this',
    );
  return view;
}

export class PgSource implements Source {
  constructor(
    private readonly settings: PgSourceSettings,
    private readonly views: Set<PgReadView>,
    /** a connection of the connector's pool, for reads outside a view */
    private readonly connectPooled: () => Promise<pg.PoolClient>,
  ) {}

  snapshot(parallelism: number): Promise<PgReadView> {
    return this.openView(parallelism);
  }

  /**
   * A view of a snapshot another connection exported (a replication slot's, as it was created),
   * exported again by a connection of the view's own: the view outlives the one that made it.
   */
  importedSnapshot(parallelism: number, snapshotId: string): Promise<PgReadView> {
    return this.openView(parallelism, snapshotId);
  }

  importView(exported: string, parallelism: number): Promise<PgReadView> {
    return this.openView(parallelism, exported);
  }

  changeLog(settings: ChangeLogSettings): ChangeLog {
    return new PgChangeLog(settings, this.settings, this, this.connectPooled);
  }

  freezeWrites(opts: FreezeOptions, record: (undo: FreezeUndo) => void): Promise<WriteFreeze> {
    return freezeWrites(this.connectPooled, opts, record);
  }

  thawWrites(undo: FreezeUndo): Promise<void> {
    return thawWrites(this.connectPooled, undo);
  }

  async sequenceValues(table: SourceTable): Promise<Record<string, bigint>> {
    const ref = tableRef(table.name, this.settings.schema).sql;
    const client = await this.connectPooled();
    try {
      const out: Record<string, bigint> = {};
      for (const c of table.columns) {
        if (!c.autoIncrement) continue;
        // the next value nextval() would give: past the last one, or the start of an unused sequence
        const { rows } = await client.query<{ next: string | null }>(
          `SELECT coalesce(pg_sequence_last_value(q.seqrelid) + q.seqincrement, q.seqstart)::text AS next
             FROM pg_sequence q WHERE q.seqrelid = pg_get_serial_sequence($1, $2)::regclass`,
          [ref, c.name],
        );
        if (rows[0]?.next != null) out[c.name] = BigInt(rows[0].next);
      }
      return out;
    } catch (e) {
      throw queryError(e, 'READ_FAILED', `cannot read the sequences of ${table.name}`);
    } finally {
      client.release();
    }
  }

  private async openView(parallelism: number, imported?: string): Promise<PgReadView> {
    const exporter = await openClient(this.settings);
    try {
      await exporter.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      if (imported) await exporter.query(`SET TRANSACTION SNAPSHOT ${sqlLiteral(imported)}`);
      const { rows } = await exporter.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
      const view = new PgReadView(Math.max(1, parallelism), exporter, rows[0]!.id, this.settings, (v) =>
        this.views.delete(v),
      );
      this.views.add(view);
      return view;
    } catch (e) {
      await exporter.end().catch(() => {});
      throw queryError(
        e,
        'READ_FAILED',
        'cannot export a snapshot',
        'check that the user may read the database (and that the server is not a standby)',
      );
    }
  }

  private conditions(table: SourceTable, range: KeyRange): string[] {
    const bounds = keyRangeConditions(table, range);
    return table.where ? [...bounds, table.where] : bounds;
  }

  /** Runs a COPY read on a reader of the view; the reader is replaced unless the read ran to its end. */
  private async *viaReader<B>(
    view: ReadView,
    what: string,
    table: SourceTable,
    read: (client: pg.Client) => AsyncIterable<B>,
  ): AsyncGenerator<B> {
    const v = pgView(view);
    const client = await v.acquire();
    let healthy = false;
    try {
      yield* read(client);
      healthy = true;
    } catch (e) {
      throw await v.failure(e, () => readError(e, what, table));
    } finally {
      v.giveBack(client, healthy);
    }
  }

  /** Runs queries on a reader of the view; the reader is replaced if they fail. */
  private async onReader<T>(
    view: ReadView,
    queries: (client: pg.Client) => Promise<T>,
    fail: (e: unknown) => FerryError,
  ): Promise<T> {
    const v = pgView(view);
    const client = await v.acquire();
    let healthy = false;
    try {
      const out = await queries(client);
      healthy = true;
      return out;
    } catch (e) {
      throw await v.failure(e, () => fail(e));
    } finally {
      v.giveBack(client, healthy);
    }
  }

  async split(table: SourceTable, rowsPerChunk: number, view: ReadView, within?: KeyRange): Promise<KeyRange[]> {
    if (table.key.length === 0) return [{}];
    const ref = tableRef(table.name, this.settings.schema);
    const key = keyColumns(table.name, table.key, table.columns);
    const even =
      key.length === 1 && key[0]!.type.kind === 'int'
        ? await this.evenSplit(table, ref.sql, key[0]!, rowsPerChunk, view, within)
        : undefined;
    if (even) return even;
    const keys = table.key.map(quoteIdent).join(', ');
    const every = Math.max(1, Math.floor(rowsPerChunk));
    // rows N+1, 2N+1, … in key order start the chunks after the first
    const select =
      `SELECT ${selectList(key)} FROM (SELECT ${keys}, row_number() OVER (ORDER BY ${keys}) AS ferry_rn FROM ${ref.sql}` +
      `${whereClause(this.conditions(table, within ?? {}))}) q WHERE ferry_rn > 1 AND (ferry_rn - 1) % ${every} = 0 ORDER BY ${keys}`;
    const starts: unknown[][] = [];
    const decoders = key.map((c) => decoderFor(c.type));
    for await (const batch of this.viaReader(view, 'split', table, (client) =>
      copyOut(client, select, decoders, 10_000),
    ))
      starts.push(...batch.rows);
    return rangesBetween(starts, within);
  }

  private selectRange(table: SourceTable, range: KeyRange): string {
    return `SELECT ${selectList(table.columns)} FROM ${tableRef(table.name, this.settings.schema).sql}${whereClause(this.conditions(table, range))}`;
  }

  read(table: SourceTable, range: KeyRange, view: ReadView, batchRows: number): AsyncIterable<RowBatch> {
    const select = this.selectRange(table, range);
    const decoders = table.columns.map((c) => decoderFor(c.type));
    return this.viaReader(view, 'read', table, (client) => copyOut(client, select, decoders, batchRows));
  }

  digestRead(
    table: SourceTable,
    range: KeyRange,
    view: ReadView,
    columns: DigestColumn[],
    hash: DigestHash,
    rest: Column[],
    batchRows: number,
  ): DigestRead {
    const list = digestReadList(selectList(rest), table.columns, columns, hash);
    const select = `SELECT ${list} FROM ${tableRef(table.name, this.settings.schema).sql}${whereClause(this.conditions(table, range))}`;
    const decoders = [...rest.map((c) => decoderFor(c.type)), decoderFor({ kind: 'string' })];
    return hashedRows(this.viaReader(view, 'digest', table, (client) => copyOut(client, select, decoders, batchRows)));
  }

  readColumns(
    table: SourceTable,
    range: KeyRange,
    view: ReadView,
    batchRows: number,
  ): AsyncIterable<ColumnBatch> | undefined {
    const decoders = table.columns.map((c) => columnDecoderFor(c.type));
    if (!decoders.every((d): d is ColumnDecoder => d !== undefined)) return undefined;
    const select = this.selectRange(table, range);
    return this.viaReader(view, 'read', table, (client) => copyOutColumns(client, select, decoders, batchRows));
  }

  /** Every column in the wire family of its canonical type (the select list's casts see to it), or in its own type's form. */
  rawFormat(table: SourceTable): Promise<string | undefined> {
    return Promise.resolve(rawFormatOf(table.columns.map((c) => rawColumnForm(c.nativeType, c.type))));
  }

  readRaw(table: SourceTable, range: KeyRange, view: ReadView): AsyncIterable<Uint8Array> {
    const columns = table.columns.map((c) => rawReadExpression(quoteIdent(c.name), c.nativeType, c.type)).join(', ');
    const select = `SELECT ${columns} FROM ${tableRef(table.name, this.settings.schema).sql}${whereClause(this.conditions(table, range))}`;
    return this.viaReader(view, 'read', table, (client) => copyOutRaw(client, select));
  }

  /** Ranges by key arithmetic from the key's minimum and maximum and the planner's row estimate (core/split.ts), when the key is dense. */
  private evenSplit(
    table: SourceTable,
    ref: string,
    key: SourceTable['columns'][number],
    rowsPerChunk: number,
    view: ReadView,
    within?: KeyRange,
  ): Promise<KeyRange[] | undefined> {
    const from = `FROM ${ref}${whereClause(this.conditions(table, within ?? {}))}`;
    const k = quoteIdent(key.name);
    return this.onReader(
      view,
      async (client) => {
        // a table never analyzed has no statistics (reltuples -1), only the planner's guess from its size: it is split exactly
        const { rows } = await client.query<{ lo: string | null; hi: string | null; analyzed: boolean | null }>(
          `SELECT min(${k})::text AS lo, max(${k})::text AS hi, (SELECT reltuples >= 0 FROM pg_class WHERE oid = to_regclass($1)) AS analyzed ${from}`,
          [ref],
        );
        const { lo, hi, analyzed } = rows[0]!;
        if (lo === null || hi === null || !analyzed) return undefined;
        const plan = await client.query<{ 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }>(
          `EXPLAIN (FORMAT JSON) SELECT 1 ${from}`,
        );
        return evenKeyRanges(
          key.type,
          BigInt(lo),
          BigInt(hi),
          plan.rows[0]!['QUERY PLAN'][0]!.Plan['Plan Rows'],
          rowsPerChunk,
          within,
        );
      },
      (e) => readError(e, 'split', table),
    );
  }

  async checkWhere(table: SourceTable): Promise<string | undefined> {
    const problem = filterProblem(table.where ?? '', 'postgres');
    if (problem) return problem;
    const client = await this.connectPooled();
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(
        `EXPLAIN SELECT 1 FROM ${tableRef(table.name, this.settings.schema).sql}${whereClause([table.where])}`,
      );
      return undefined;
    } catch (e) {
      if (isTransientPgError(e)) throw queryError(e, 'READ_FAILED', `cannot check the where filter of ${table.name}`);
      return pgReason(e);
    } finally {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
    }
  }

  async profile(table: ProfileTable, asks: ProfileAsk[]): Promise<ProfileAnswer[]> {
    const client = await this.connectPooled();
    try {
      const answers: ProfileAnswer[] = [];
      // a key the source enforces has no orphans: its count (a scan of both tables) is not made
      const measured: ProfileAsk[] = [];
      for (const ask of asks)
        if (
          ask.kind === 'orphans' &&
          (await enforcedForeignKey(client, table.name, ask.foreignKey, this.settings.schema))
        )
          answers.push({ ask, answer: { rows: 0 } });
        else measured.push(ask);
      const statements = profileStatements(
        measured,
        tableRef(table.name, this.settings.schema).sql,
        profileDialect(table, this.settings.schema),
      );
      for (const s of statements) {
        const { rows } = await client.query<unknown[]>({ text: s.sql, rowMode: 'array' });
        answers.push(...s.answers(rows[0]!));
      }
      return answers;
    } catch (e) {
      throw queryError(e, 'READ_FAILED', `cannot measure the data of ${table.name}`);
    } finally {
      client.release();
    }
  }

  digestsColumn(column: Column, as: CanonicalType): boolean {
    return digestsColumn(column, as);
  }

  rangeDigest(
    table: SourceTable,
    range: KeyRange,
    view: ReadView,
    columns: DigestColumn[],
    hash: DigestHash = 'canonical',
  ): Promise<Digest | undefined> {
    const sql = digestSelect(
      `FROM ${tableRef(table.name, this.settings.schema).sql}`,
      whereClause(this.conditions(table, range)),
      table.columns,
      columns,
      hash,
    );
    return this.onReader(
      view,
      async (client) => digestOfRow((await client.query<(string | null)[]>({ text: sql, rowMode: 'array' })).rows[0]!),
      (e) => readError(e, 'digest', table),
    );
  }

  digestForms(table: SourceTable, view: ReadView): Promise<(string | undefined)[]> {
    const ref = tableRef(table.name, this.settings.schema).sql;
    const names = table.columns.map((c) => c.name);
    return this.onReader(
      view,
      (client) => engineForms(client, ref, names),
      (e) => readError(e, 'digest', table),
    );
  }

  count(table: SourceTable, range: KeyRange, view: ReadView): Promise<number> {
    const sql = `SELECT count(*) AS n FROM ${tableRef(table.name, this.settings.schema).sql}${whereClause(this.conditions(table, range))}`;
    return this.onReader(
      view,
      async (client) => Number((await client.query<{ n: string }>(sql)).rows[0]!.n),
      (e) => queryError(e, 'READ_FAILED', `cannot count the rows of ${table.name}`),
    );
  }
}

/** A read's error, with what to check: the table name, and the plan's where filter if it has one. */
function readError(e: unknown, what: string, table: SourceTable): FerryError {
  return queryError(
    e,
    'READ_FAILED',
    `cannot ${what} ${table.name}`,
    table.where ? 'check the table name and the where filter in the plan' : 'check the table name in the plan',
  );
}
