// The write side: tables, chunk writes as multi-row INSERTs in one transaction, indexes and
// foreign keys after the data, read-back for verification.
import type { Connection } from 'mysql2';
import type {
  AppliedChange,
  ChunkWrite,
  IfExists,
  LockOutcome,
  Reject,
  TableFingerprint,
  Target,
  TargetTable,
  WriteResult,
} from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { fitName } from '../../core/names.js';
import { writeIsolated } from '../../core/isolate.js';
import type { Logger } from '../../core/log.js';
import type { Digest } from '../../core/digest.js';
import { hashedRows, type DigestColumn, type DigestHash, type DigestRead } from '../../core/range-digest.js';
import type { CanonicalType, Column, Finding, KeyRange, RowBatch } from '../../core/types.js';
import { Readable } from 'node:stream';
import { MysqlApply } from './apply.js';
import { digestReadSql, digestsColumn, rangeDigest } from './digest.js';
import { mysqlLock } from './lock.js';
import { loadDataFormat, quoteIdent, rowEncoder } from './codec.js';
import { LoadContent } from './load-content.js';
import { isFatal, isTransient, reasonOf, toFerryError } from './errors.js';
import { run, runLoad, socketDrained, type SessionPool } from './session.js';
import { readRows, readSelect } from './source.js';
import { IDENTIFIER, keyColumns, rangeConditions, whereClause } from './sql.js';
import { KEY_BYTES_PER_CHAR, KEY_LIMIT_BYTES, keyBytes } from './typemap.js';

export interface TargetTraits {
  /** max_allowed_packet of the server, in bytes */
  maxPacket: number;
  /** the collation of created tables: binary order, and no trailing-space padding where the server has one */
  collation: string;
  /** the server accepts LOAD DATA LOCAL INFILE (local_infile=ON) */
  localInfile: boolean;
  /**
   * chunks are written under READ COMMITTED: no gap locks, so that chunks replayed side by side
   * (a resumed run) do not deadlock on the keys between their ranges; not where the server logs
   * statements (binlog_format=STATEMENT refuses it)
   */
  readCommitted: boolean;
}

const MAX_IDENTIFIER = 64;
/** InnoDB cannot index a text or blob column whole; non-unique indexes get this prefix. */
const TEXT_INDEX_PREFIX = 255;
/** Rows per savepoint group in isolate mode (failed groups are halved down to single rows). */
const ISOLATE_GROUP = 200;
const STATEMENT_CHARS_CAP = 1 << 20;
/** LOAD DATA content goes out in pieces of about this many characters (each one protocol packet). */
const LOAD_CHUNK_CHARS = 256 << 10;

const UNINDEXABLE = /^(tinytext|text|mediumtext|longtext|tinyblob|blob|mediumblob|longblob|json)\b/i;
const LITERAL_DEFAULT = /^(NULL|[+-]?\d+(\.\d+)?([eE][+-]?\d+)?|'(?:[^'\\]|''|\\.)*')$/i;
const NOW_DEFAULT = /^(current_timestamp(\(\d?\))?|now\(\d?\))$/i;
const TEMPORAL_NATIVE = /^(datetime|timestamp)\b/i;
const FK_RULES = new Set(['CASCADE', 'SET NULL', 'RESTRICT', 'NO ACTION']);

const columnList = (cols: string[]) => cols.map(quoteIdent).join(', ');
/** MySQL has at most one auto-increment column a table. */
const autoColumn = (table: TargetTable) => table.columns.find((c) => c.autoIncrement);

/** Sets the table's AUTO_INCREMENT past its largest key, and to at least `floor`. */
async function setCounter(conn: Connection, name: string, column: string, floor: bigint): Promise<void> {
  const max = await run<unknown[][]>(conn, `SELECT MAX(${quoteIdent(column)}) FROM ${name}`, [], 'arrays');
  // the counter is positive: keys all below 1 leave it at 1
  const past = BigInt((max[0]![0] as string | number | null) ?? 0) + 1n;
  const next = [past, floor, 1n].reduce((a, b) => (a > b ? a : b));
  await run(conn, `ALTER TABLE ${name} AUTO_INCREMENT = ${next}`);
}
const insertHead = (table: TargetTable) =>
  `INSERT INTO ${quoteIdent(table.name)} (${columnList(table.columns.map((c) => c.name))}) VALUES `;

/**
 * The column list of a non-unique index, text and bytes columns cut to prefixes where the whole
 * would pass InnoDB's key limit (a text or blob column always: it cannot be indexed whole): what
 * the other columns leave is shared, a column needing less than its share leaving the rest to
 * the others.
 */
export function prefixedIndexColumns(cols: string[], native: Map<string, string>): string {
  const prefixable = (c: string) =>
    UNINDEXABLE.test(native.get(c) ?? '') || /^(var)?(char|binary)\(/i.test(native.get(c) ?? '');
  const needs = (c: string) => (UNINDEXABLE.test(native.get(c) ?? '') ? Infinity : keyBytes(native.get(c) ?? ''));
  const fixed = cols.filter((c) => !prefixable(c)).reduce((n, c) => n + keyBytes(native.get(c) ?? ''), 0);
  const open = cols.filter(prefixable).sort((a, b) => needs(a) - needs(b));
  let left = KEY_LIMIT_BYTES - fixed;
  const prefix = new Map<string, number>();
  open.forEach((c, i) => {
    const share = Math.floor(left / (open.length - i));
    if (needs(c) <= share) {
      left -= needs(c);
      return;
    }
    const perChar = /char|text/i.test(native.get(c)!) ? KEY_BYTES_PER_CHAR : 1;
    const cap = UNINDEXABLE.test(native.get(c)!) ? TEXT_INDEX_PREFIX : Infinity;
    const length = Math.max(1, Math.min(cap, Math.floor(share / perChar)));
    prefix.set(c, length);
    left -= length * perChar;
  });
  return cols.map((c) => (prefix.has(c) ? `${quoteIdent(c)}(${prefix.get(c)})` : quoteIdent(c))).join(', ');
}

/** A name derived from others (a unique key's, an index's): within MySQL's limit, two names stay two. */
function clip(name: string): string {
  return fitName(name, IDENTIFIER);
}

export class MysqlTarget implements Target {
  /** statement size in UTF-16 units; a UTF-8 byte count is at most three times that */
  private readonly statementChars: number;
  private readonly changes: MysqlApply;

  constructor(
    private readonly pool: SessionPool,
    /** connections that take several statements in one query, for live changes */
    applier: SessionPool,
    private readonly traits: TargetTraits,
    private readonly log: Logger,
  ) {
    this.statementChars = Math.max(16_384, Math.min(STATEMENT_CHARS_CAP, Math.floor((traits.maxPacket - 4096) / 3)));
    this.changes = new MysqlApply(applier, this.statementChars);
  }

  lock(name: string): Promise<LockOutcome> {
    return mysqlLock(this.pool.ep, name);
  }

  async check(tables: TargetTable[]): Promise<Finding[]> {
    const findings: Finding[] = [];
    const add = (
      severity: Finding['severity'],
      code: string,
      table: string,
      message: string,
      action: string,
      column?: string,
    ) => findings.push({ severity, code, table, message, action, ...(column ? { column } : {}) });
    for (const t of tables) {
      const native = new Map(t.columns.map((c) => [c.name, c.nativeType]));
      const names = [
        t.name,
        ...t.columns.map((c) => c.name),
        ...t.indexes.map((i) => i.name),
        ...t.foreignKeys.map((f) => f.name),
      ];
      for (const n of names.filter((x) => x.length > MAX_IDENTIFIER))
        add(
          'error',
          'IDENTIFIER_TOO_LONG',
          t.name,
          `MySQL names are at most ${MAX_IDENTIFIER} characters: "${n}" has ${n.length}`,
          'rename it in the plan',
        );
      for (const key of [t.primaryKey, ...t.uniqueKeys]) {
        for (const c of key.filter((k) => UNINDEXABLE.test(native.get(k) ?? '')))
          add(
            'error',
            'KEY_ON_TEXT',
            t.name,
            `column ${c} (${native.get(c)}) is part of a primary or unique key, and MySQL cannot index a whole text or blob value`,
            "set the column's nativeType to varchar(n) or varbinary(n) in the plan (at most 768 characters for a key)",
            c,
          );
        const bytes = key.reduce((n, k) => n + keyBytes(native.get(k) ?? ''), 0);
        if (bytes > KEY_LIMIT_BYTES)
          add(
            'error',
            'KEY_TOO_LONG',
            t.name,
            `the key (${key.join(', ')}) may take ${bytes} bytes, more than the ${KEY_LIMIT_BYTES} InnoDB allows`,
            'shorten the varchar/char lengths of its columns in the plan (a utf8mb4 character takes up to 4 bytes)',
          );
      }
      for (const idx of t.indexes)
        for (const c of idx.columns.filter((k) => UNINDEXABLE.test(native.get(k) ?? '')))
          add(
            idx.unique ? 'error' : 'info',
            'INDEX_ON_TEXT',
            t.name,
            idx.unique
              ? `${t.name}.${c} ${native.get(c)} is in unique index ${idx.name}, and MySQL cannot index a whole text or blob value`
              : `${t.name}.${c} ${native.get(c)} is in an index: MySQL indexes the first ${TEXT_INDEX_PREFIX} characters of it`,
            idx.unique
              ? "set the column's nativeType to varchar(n) in the plan"
              : 'nothing to do unless the index must cover the whole value',
            c,
          );
      for (const fk of t.foreignKeys)
        for (const rule of [fk.onDelete, fk.onUpdate].filter((r): r is string => !!r && /SET DEFAULT/i.test(r)))
          add(
            'warning',
            'FK_RULE_UNSUPPORTED',
            t.name,
            `foreign key ${fk.name} has ${rule}, which InnoDB does not support: it is created without that rule`,
            'handle the rule in the application or change it in the source',
          );
    }
    return findings;
  }

  private columnDef(c: Column, autoIncrement: boolean): string {
    let def = `${quoteIdent(c.name)} ${c.nativeType}${c.nullable ? ' NULL' : ' NOT NULL'}`;
    if (c.default !== undefined) {
      const dflt = c.default.trim();
      // other engines' default expressions do not carry over; literals and "now" do
      if (LITERAL_DEFAULT.test(dflt) || (NOW_DEFAULT.test(dflt) && TEMPORAL_NATIVE.test(c.nativeType)))
        def += ` DEFAULT ${dflt}`;
      else
        this.log.info(
          { column: c.name, default: c.default },
          'column default is not a plain literal and is not carried to MySQL',
        );
    }
    return autoIncrement ? `${def} AUTO_INCREMENT` : def;
  }

  async prepare(table: TargetTable, ifExists: IfExists): Promise<void> {
    const name = quoteIdent(table.name);
    const auto = autoColumn(table);
    const cols = table.columns.map((c) => this.columnDef(c, c === auto));
    if (table.primaryKey.length) cols.push(`PRIMARY KEY (${columnList(table.primaryKey)})`);
    // MySQL wants an index led by the auto-increment column; the primary key may not be one
    if (auto && auto.name !== table.primaryKey[0])
      cols.push(`KEY ${quoteIdent(clip(`${table.name}_${auto.name}_auto`))} (${quoteIdent(auto.name)})`);
    const create = `CREATE TABLE ${name} (${cols.join(', ')}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${this.traits.collation}`;
    await this.pool
      .use(async (conn) => {
        if (ifExists === 'drop') await run(conn, `DROP TABLE IF EXISTS ${name}`);
        if (ifExists === 'truncate') {
          const found = await run<unknown[]>(
            conn,
            'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
            [table.name],
          );
          if (found.length) return run(conn, `TRUNCATE TABLE ${name}`);
        }
        return run(conn, create);
      })
      .catch((err) => {
        if ((err as { errno?: number }).errno === 1050)
          throw new FerryError(
            'TABLE_EXISTS',
            `table ${table.name} already exists in MySQL database ${this.pool.ep.database}`,
            'set target.ifExists to drop or truncate in the plan, or drop the table',
          );
        throw toFerryError(err, this.pool.ep, 'write', table.name);
      });
  }

  async writeChunk(chunk: ChunkWrite, batches: AsyncIterable<RowBatch>): Promise<WriteResult> {
    const { table } = chunk;
    const conn = await this.pool.acquire();
    let failure: unknown;
    try {
      if (this.traits.readCommitted) await run(conn, 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await run(conn, 'START TRANSACTION');
      if (chunk.replace) {
        const conditions = table.key.length
          ? rangeConditions(keyColumns(table.name, table.columns, table.key), chunk.range)
          : [];
        await run(conn, `DELETE FROM ${quoteIdent(table.name)}${whereClause(conditions)}`);
      }
      const result = chunk.isolate
        ? await this.insertIsolated(conn, table, batches)
        : this.traits.localInfile
          ? await this.loadAll(conn, table, batches)
          : await this.insertAll(conn, table, batches);
      await run(conn, 'COMMIT');
      return result;
    } catch (err) {
      failure = err;
      if (!isFatal(err)) await run(conn, 'ROLLBACK').catch(() => undefined);
      throw toFerryError(err, this.pool.ep, 'write', table.name);
    } finally {
      this.pool.release(conn, failure);
    }
  }

  /**
   * Multi-row INSERTs of up to `statementChars`; the next statement is built while the
   * server runs the previous one.
   */
  private async insertAll(
    conn: Connection,
    table: TargetTable,
    batches: AsyncIterable<RowBatch>,
  ): Promise<WriteResult> {
    const insert = insertHead(table);
    const encode = rowEncoder(table.columns);
    let rows = 0;
    // row literals are joined once per statement: appending to one string would build a rope the GC has to walk
    let values: string[] = [];
    let chars = 0;
    let pending: Promise<unknown> | undefined;
    let failed: { err: unknown } | undefined;
    const send = async () => {
      const statement = insert + values.join(',');
      values = [];
      chars = 0;
      if (pending) await pending;
      pending = run(conn, statement);
      pending.catch((err) => (failed ??= { err }));
    };
    for await (const batch of batches) {
      if (failed) break;
      for (const row of batch.rows) {
        const literal = encode(row);
        if (chars > 0 && chars + literal.length > this.statementChars) await send();
        values.push(literal);
        chars += literal.length + 1;
      }
      rows += batch.rows.length;
    }
    if (chars > 0 && !failed) await send();
    if (pending) await pending;
    if (failed) throw failed.err;
    return { rows, rejects: [] };
  }

  /**
   * LOAD DATA LOCAL INFILE fed from the batches: about a third less server work than INSERT.
   * With LOCAL the server downgrades every refused value to a warning (and stores something
   * else), so any warning fails the chunk, which the transaction then rolls back.
   */
  private async loadAll(conn: Connection, table: TargetTable, batches: AsyncIterable<RowBatch>): Promise<WriteResult> {
    const format = loadDataFormat(table.columns);
    const chunkChars = Math.min(LOAD_CHUNK_CHARS, this.statementChars);
    let rows = 0;
    // the most UTF-8 bytes a piece of chunkChars characters takes; a larger value goes in
    // pieces of this size too
    const pieceBytes = 3 * chunkChars;
    async function* content(ended: AbortSignal): AsyncGenerator<Buffer> {
      const out = new LoadContent();
      const pieces = async function* () {
        for (const piece of out.take(pieceBytes)) {
          yield piece;
          await socketDrained(conn);
        }
      };
      for await (const batch of batches) {
        // the statement failed meanwhile (a dropped connection): the rest of the read would go nowhere
        if (ended.aborted) return;
        for (const row of batch.rows) {
          format.encodeRow(row, out);
          if (out.size >= chunkChars) yield* pieces();
        }
        rows += batch.rows.length;
      }
      if (out.size > 0) yield* pieces();
    }
    const sql =
      `LOAD DATA LOCAL INFILE 'ferry' INTO TABLE ${quoteIdent(table.name)} CHARACTER SET utf8mb4 ` +
      `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${format.columns})${format.set}`;
    const result = await runLoad<{ affectedRows: number; warningStatus: number }>(conn, sql, (ended) =>
      Readable.from(content(ended), { objectMode: false }),
    );
    if (result.warningStatus > 0) {
      const [first] = await run<{ Message: string }[]>(conn, 'SHOW WARNINGS LIMIT 1');
      throw new FerryError(
        'WRITE_FAILED',
        `MySQL write ${table.name} failed: ${first?.Message ?? `${result.warningStatus} warnings`}`,
        'fix the cause named by the server and run again (ferry checks values first; an isolated run names the refused rows)',
      );
    }
    if (result.affectedRows !== rows)
      throw new FerryError(
        'WRITE_FAILED',
        `MySQL write ${table.name} stored ${result.affectedRows} of ${rows} rows`,
        'run the chunk again',
      );
    return { rows, rejects: [] };
  }

  /** Groups of rows under savepoints; a refused group is split until the refused rows are alone. */
  private async insertIsolated(
    conn: Connection,
    table: TargetTable,
    batches: AsyncIterable<RowBatch>,
  ): Promise<WriteResult> {
    const insert = insertHead(table);
    const encode = rowEncoder(table.columns);
    let rows = 0;
    const rejects: Reject[] = [];
    // a deadlock or a lost connection ends the transaction: that is a failure of the chunk, not of rows
    let broken: unknown;
    const attempt = async (group: unknown[][]) => {
      if (broken !== undefined) throw broken;
      await run(conn, 'SAVEPOINT ferry_group');
      try {
        await run(conn, insert + group.map(encode).join(','));
      } catch (err) {
        if (isTransient(err) || isFatal(err)) broken = err;
        else await run(conn, 'ROLLBACK TO SAVEPOINT ferry_group');
        throw err;
      }
      await run(conn, 'RELEASE SAVEPOINT ferry_group');
    };
    for await (const batch of batches) {
      const refused = await writeIsolated(batch.rows, ISOLATE_GROUP, attempt, reasonOf);
      if (broken !== undefined) throw broken;
      rows += batch.rows.length - refused.length;
      rejects.push(...refused);
    }
    return { rows, rejects };
  }

  /** Names of the table's indexes or foreign keys that exist already (a resumed run repeats these steps). */
  private async existing(conn: Connection, table: string, what: 'indexes' | 'foreignKeys'): Promise<Set<string>> {
    const sql =
      what === 'indexes'
        ? 'SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?'
        : 'SELECT CONSTRAINT_NAME AS name FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?';
    return new Set((await run<{ name: string }[]>(conn, sql, [table])).map((r) => r.name));
  }

  async finishTable(table: TargetTable): Promise<void> {
    const native = new Map(table.columns.map((c) => [c.name, c.nativeType]));
    const wanted: [name: string, clause: (name: string) => string][] = [];
    for (const key of table.uniqueKeys) {
      if (key.join() === table.primaryKey.join()) continue;
      wanted.push([
        clip(`${table.name}_${key.join('_')}_key`),
        (n) => `ADD UNIQUE KEY ${quoteIdent(n)} (${columnList(key)})`,
      ]);
    }
    const auto = autoColumn(table);
    for (const idx of table.indexes) {
      if (auto && auto.name !== table.primaryKey[0] && idx.columns.join() === auto.name) continue;
      if (idx.expression) {
        this.log.warn(
          { table: table.name, index: idx.name, expression: idx.expression },
          'index is not a plain column index and is not created in MySQL',
        );
        continue;
      }
      wanted.push([
        clip(idx.name),
        (n) =>
          idx.unique
            ? `ADD UNIQUE INDEX ${quoteIdent(n)} (${columnList(idx.columns)})`
            : `ADD INDEX ${quoteIdent(n)} (${prefixedIndexColumns(idx.columns, native)})`,
      ]);
    }
    const name = quoteIdent(table.name);
    await this.pool
      .use(async (conn) => {
        const have = await this.existing(conn, table.name, 'indexes');
        const clauses = wanted.filter(([n]) => !have.has(n)).map(([n, clause]) => clause(n));
        if (clauses.length) await run(conn, `ALTER TABLE ${name} ${clauses.join(', ')}`);
        if (auto) await setCounter(conn, name, auto.name, 1n);
      })
      .catch((err) => {
        throw toFerryError(err, this.pool.ep, 'write', table.name);
      });
  }

  async setSequences(table: TargetTable, next: Record<string, bigint>): Promise<void> {
    const auto = autoColumn(table);
    if (!auto) return;
    await this.pool
      .use((conn) => setCounter(conn, quoteIdent(table.name), auto.name, next[auto.name] ?? 1n))
      .catch((err) => {
        throw toFerryError(err, this.pool.ep, 'write', table.name);
      });
  }

  async addForeignKeys(table: TargetTable): Promise<void> {
    if (!table.foreignKeys.length) return;
    const rule = (on: string, r?: string) => (r && FK_RULES.has(r.toUpperCase()) ? ` ON ${on} ${r.toUpperCase()}` : '');
    await this.pool
      .use(async (conn) => {
        const have = await this.existing(conn, table.name, 'foreignKeys');
        const missing = table.foreignKeys.filter((fk) => !have.has(clip(fk.name)));
        const clauses = (keys: typeof missing) =>
          keys.map(
            (fk) =>
              `ADD CONSTRAINT ${quoteIdent(clip(fk.name))} FOREIGN KEY (${columnList(fk.columns)}) REFERENCES ${quoteIdent(fk.refTable)} (${columnList(fk.refColumns)})` +
              rule('DELETE', fk.onDelete) +
              rule('UPDATE', fk.onUpdate),
          );
        const checked = clauses(missing.filter((fk) => !fk.notValid));
        // added with the session's checks off, InnoDB does not check the rows there (NOT VALID)
        const unchecked = clauses(missing.filter((fk) => fk.notValid));
        if (unchecked.length) await run(conn, `ALTER TABLE ${quoteIdent(table.name)} ${unchecked.join(', ')}`);
        if (!checked.length) return;
        // checked now: the rows already written must satisfy the keys
        await run(conn, 'SET foreign_key_checks = 1');
        try {
          await run(conn, `ALTER TABLE ${quoteIdent(table.name)} ${checked.join(', ')}`);
        } finally {
          await run(conn, 'SET foreign_key_checks = 0');
        }
      })
      .catch((err) => {
        throw toFerryError(err, this.pool.ep, 'write', table.name);
      });
  }

  readBack(table: TargetTable, range: KeyRange, batchRows: number): AsyncIterable<RowBatch> {
    const conditions = table.key.length ? rangeConditions(keyColumns(table.name, table.columns, table.key), range) : [];
    return this.reading(table, (conn) => readRows(conn, table.name, table.columns, conditions, undefined, batchRows));
  }

  /** A read on a connection of the pool, given back when the read ends. */
  private async *reading(
    table: TargetTable,
    read: (conn: Connection) => AsyncIterable<RowBatch>,
  ): AsyncIterable<RowBatch> {
    const conn = await this.pool.acquire();
    let failure: unknown;
    try {
      yield* read(conn);
    } catch (err) {
      failure = err;
      throw toFerryError(err, this.pool.ep, 'read', table.name);
    } finally {
      this.pool.release(conn, failure);
    }
  }

  digestsColumn(column: Column, as: CanonicalType): boolean {
    return digestsColumn(column, as);
  }

  async rangeDigest(table: TargetTable, range: KeyRange, columns: DigestColumn[]): Promise<Digest | undefined> {
    const conditions = table.key.length ? rangeConditions(keyColumns(table.name, table.columns, table.key), range) : [];
    try {
      return await this.pool.use((conn) => rangeDigest(conn, table, conditions, columns));
    } catch (err) {
      throw toFerryError(err, this.pool.ep, 'read', table.name);
    }
  }

  digestRead(
    table: TargetTable,
    range: KeyRange,
    columns: DigestColumn[],
    _hash: DigestHash,
    rest: Column[],
    batchRows: number,
  ): DigestRead {
    const conditions = table.key.length ? rangeConditions(keyColumns(table.name, table.columns, table.key), range) : [];
    const sql = digestReadSql(table, conditions, columns, rest);
    return hashedRows(this.reading(table, (conn) => readSelect(conn, sql, rest, batchRows)));
  }

  async count(table: TargetTable, range: KeyRange): Promise<number> {
    const conditions = table.key.length ? rangeConditions(keyColumns(table.name, table.columns, table.key), range) : [];
    try {
      const rows = await this.pool.use((conn) =>
        run<unknown[][]>(
          conn,
          `SELECT COUNT(*) FROM ${quoteIdent(table.name)}${whereClause(conditions)}`,
          [],
          'arrays',
        ),
      );
      return Number(rows[0]![0]);
    } catch (err) {
      throw toFerryError(err, this.pool.ep, 'read', table.name);
    }
  }

  valueCheck(column: Column): ((v: unknown) => string | undefined) | undefined {
    return valueCheckFor(column, this.traits.maxPacket);
  }

  applyChanges(changes: AppliedChange[], stream: string, position: string): Promise<void> {
    return this.changes.applyChanges(changes, stream, position);
  }

  appliedPosition(stream: string): Promise<string | undefined> {
    return this.changes.appliedPosition(stream);
  }

  forgetStream(stream: string): Promise<void> {
    return this.changes.forgetStream(stream);
  }

  async addColumn(table: TargetTable, column: Column): Promise<void> {
    // MySQL has no ADD COLUMN IF NOT EXISTS (MariaDB has): a run stopped after adding it finds it there
    await this.pool
      .use(async (conn) => {
        const found = await run<unknown[]>(
          conn,
          'SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?',
          [table.name, column.name],
        );
        if (found.length === 0)
          await run(conn, `ALTER TABLE ${quoteIdent(table.name)} ADD COLUMN ${this.columnDef(column, false)}`);
      })
      .catch((err) => {
        throw toFerryError(err, this.pool.ep, 'write', table.name);
      });
  }

  async drop(table: TargetTable): Promise<void> {
    // the session runs without foreign key checks, so tables referring to this one do not stop it
    await this.pool
      .use((conn) => run(conn, `DROP TABLE IF EXISTS ${quoteIdent(table.name)}`))
      .catch((err) => {
        throw toFerryError(err, this.pool.ep, 'write', table.name);
      });
  }

  /** The row count and CHECKSUM TABLE (a sum of per-row checksums of the content: any change moves it). */
  async fingerprint(table: TargetTable): Promise<TableFingerprint | undefined> {
    try {
      return await this.pool.use(async (conn) => {
        const found = await run<unknown[]>(
          conn,
          'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
          [table.name],
        );
        if (!found.length) return undefined;
        const [sum] = await run<{ Checksum: string | number | null }[]>(
          conn,
          `CHECKSUM TABLE ${quoteIdent(table.name)} EXTENDED`,
        );
        const count = await run<unknown[][]>(conn, `SELECT COUNT(*) FROM ${quoteIdent(table.name)}`, [], 'arrays');
        return { rows: Number(count[0]![0]), hash: `checksum:${String(sum?.Checksum)}` };
      });
    } catch (err) {
      throw toFerryError(err, this.pool.ep, 'read', table.name);
    }
  }
}

const DATE_PART = /^(\d{4})-(\d\d)-(\d\d)/;
const TIMESTAMP_MIN = '1970-01-01 00:00:01';
const TIMESTAMP_MAX = '2038-01-19 03:14:07.999999';
const TIME_MAX_SECONDS = 838 * 3600 + 59 * 60 + 59;
const LONG_TYPES = /^(text|mediumtext|longtext|blob|mediumblob|longblob|json)\b/i;

/** MySQL DATE/DATETIME take years 0000 to 9999 (MariaDB and MySQL accept years before the documented 1000) and no zero month or day. */
function dateProblem(s: string): string | undefined {
  const m = DATE_PART.exec(s);
  if (!m) return `${s} is outside MySQL's date range 0000-01-01..9999-12-31`;
  if (m[2] === '00' || m[3] === '00') return `${s} has a zero month or day, which MySQL refuses in strict mode`;
  return undefined;
}

/** Checks for what MySQL cannot hold beyond the canonical type (see Target.valueCheck). */
export function valueCheckFor(column: Column, maxPacket: number): ((v: unknown) => string | undefined) | undefined {
  const native = column.nativeType;
  switch (column.type.kind) {
    case 'float':
      return (v) => {
        if (typeof v !== 'number') return undefined;
        if (!Number.isFinite(v)) return `${v} cannot be stored: MySQL ${native} has no NaN or infinity`;
        return Object.is(v, -0)
          ? `-0 cannot be stored: MySQL ${native} keeps no negative zero (it would read back as 0)`
          : undefined;
      };
    case 'date':
      return (v) => dateProblem(String(v));
    case 'timestamp':
      if (/^timestamp\b/i.test(native))
        return (v) => {
          const s = String(v).replace(/Z$/, '');
          return s < TIMESTAMP_MIN || s > TIMESTAMP_MAX
            ? `${s} UTC is outside MySQL's TIMESTAMP range ${TIMESTAMP_MIN}..${TIMESTAMP_MAX} UTC`
            : undefined;
        };
      return (v) => dateProblem(String(v));
    case 'time':
      return (v) => {
        const m = /^(-)?(\d+):(\d\d):(\d\d)(\.\d*[1-9])?/.exec(String(v));
        if (!m) return undefined;
        const secs = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
        return secs > TIME_MAX_SECONDS || (secs === TIME_MAX_SECONDS && m[5])
          ? `time ${v} is outside MySQL's range -838:59:59..838:59:59`
          : undefined;
      };
    case 'string':
    case 'bytes':
    case 'json':
    case 'array': {
      if (!LONG_TYPES.test(native)) return undefined;
      // a value travels inside one statement: hex doubles bytes, escapes can double text
      const limit = maxPacket - 4096;
      const tooBig = (n: number) =>
        `a value of ${n} bytes does not fit in one statement under the server's max_allowed_packet (${maxPacket} bytes): raise max_allowed_packet`;
      return (v) => {
        if (v instanceof Uint8Array) return v.byteLength * 2 > limit ? tooBig(v.byteLength) : undefined;
        if (typeof v !== 'string' || v.length * 2 <= limit / 3) return undefined;
        const n = Buffer.byteLength(v);
        return n * 2 > limit ? tooBig(n) : undefined;
      };
    }
    default:
      return undefined;
  }
}
