// The target side: tables created bare (the primary key built after the raw chunks, as
// pg_dump's restore does, or before the first write that needs it), chunks written with COPY
// in one transaction each (delete-range + copy when replaying), indexes, counters and foreign
// keys after the data.
import type pg from 'pg';
import type {
  AppliedChange,
  ChunkWrite,
  IfExists,
  LockHolder,
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
import { columnLayout, type ColumnBatch } from '../../core/columns.js';
import {
  arrayEncoder,
  binaryCopyEnd,
  binaryCopyWriter,
  float4Misfit,
  scalarEncoder,
  type Encoder,
} from './binary-write.js';
import { PgApply } from './apply.js';
import { columnEncoderFor, encodeColumns, type ColumnEncoder } from './column-write.js';
import { decoderFor, type Decoder } from './binary-read.js';
import { digestOfRow, digestReadList, digestSelect, digestsColumn, engineForms } from './digest.js';
import { CopyIn, copyOut } from './copy.js';
import { isTransientPgError, pgReason, queryError } from './errors.js';
import { catalogColumns, liveFamily, nativeOf, type CatalogColumn } from './introspect.js';
import { IDENTIFIER, keyRangeConditions, quoteIdent, selectList, tableRef, whereClause, type TableRef } from './sql.js';
import { ValueError } from './temporal.js';
import { copyTextEncoder, sqlLiteral } from './text-write.js';
import { describeNative } from './typemap.js';
import { castName, familyOf, rawColumnForm, rawFormatOf, type Family, type ScalarFamily } from './wire.js';

/** the first oid of a database's own objects: types below it are built in, the same in every database */
const FIRST_USER_OID = 16384;
/** PostgreSQL truncates longer identifiers. */
const MAX_IDENTIFIER_BYTES = 63;
/** rows per attempt when isolating refused rows (halved down to single rows on failure) */
const ISOLATE_GROUP = 500;
const FK_ACTIONS = new Set(['CASCADE', 'SET NULL', 'SET DEFAULT', 'RESTRICT', 'NO ACTION']);

type Emit = (data: Buffer | string) => Promise<void>;

/** How rows become the data of one COPY into a table. */
interface RowFormat {
  command: string;
  /** an encoder for one COPY: `rows` hands out data in pieces of a few hundred kilobytes, `end` the rest */
  start(): { rows(rows: unknown[][], emit: Emit): Promise<void>; end(emit: Emit): Promise<void> };
  /** binary COPY's encoders of column batches, when every column's values go into its live type as they are */
  columns?: ColumnEncoder[];
}

export interface PgPool {
  /** a pooled connection with ferry's session settings */
  connect(): Promise<pg.PoolClient>;
  /** takes a lock on a session of its own (lock.ts) */
  lock(name: string, me: LockHolder): Promise<LockOutcome>;
  schema: string;
  log: Logger;
}

function identifierFits(name: string): boolean {
  return Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES;
}

/** A name derived from others (an enum type's, a sequence's, an index's): within PostgreSQL's limit, two names stay two. */
function shortName(name: string): string {
  return fitName(name, IDENTIFIER);
}

/** enum(...) natives (and arrays of them) become an enum type named after the table and column. */
const ENUM_NATIVE = /^enum\s*\(.*\)((?:\[\])*)$/is;

function enumTypeRef(ref: TableRef, column: string): string {
  return `${quoteIdent(ref.schema)}.${quoteIdent(shortName(`${ref.table}_${column}`))}`;
}

/** Counters on integer columns are identities; on others (numeric(20,0)) an owned sequence. */
function isIdentity(c: Column): boolean {
  return !!c.autoIncrement && ['int2', 'int4', 'int8'].includes(familyOf(describeNative(c.nativeType).type));
}

/** Sets each sequence of the table's auto-increment columns past its largest key, and to at least `next`'s value for it. */
async function setCounters(
  client: pg.PoolClient,
  table: TargetTable,
  ref: TableRef,
  next: Record<string, bigint>,
): Promise<void> {
  for (const c of table.columns) {
    if (!c.autoIncrement) continue;
    const col = quoteIdent(c.name);
    await client.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), greatest(coalesce(max(${col}), 0) + 1, $3::int8, 1)::int8, false) FROM ${ref.sql}`,
      [ref.sql, c.name, String(next[c.name] ?? 1n)],
    );
  }
}

export class PgTarget implements Target {
  /** formats by table, from the live column types; forgotten when prepare() changes the table */
  private readonly formats = new Map<string, Promise<RowFormat>>();
  /** tables known to hold their primary key (or to need none): the catalog is asked once per table */
  private readonly keyed = new Set<string>();
  private readonly changes: PgApply;

  constructor(private readonly db: PgPool) {
    this.changes = new PgApply({ withClient: (fn) => this.withClient(fn), schema: db.schema });
  }

  lock(name: string, me: LockHolder): Promise<LockOutcome> {
    return this.db.lock(name, me);
  }

  private ref(name: string): TableRef {
    return tableRef(name, this.db.schema);
  }

  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.db.connect();
    let broken = false;
    try {
      return await fn(client);
    } catch (e) {
      broken = true;
      throw e;
    } finally {
      client.release(broken);
    }
  }

  private async inTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
    await client.query('BEGIN');
    try {
      const out = await fn();
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }

  async check(tables: TargetTable[]): Promise<Finding[]> {
    const findings: Finding[] = [];
    const natives = new Set<string>();
    for (const t of tables) {
      for (const name of [t.name, ...t.columns.map((c) => c.name)])
        if (!identifierFits(name))
          findings.push({
            severity: 'error',
            code: 'NAME_TOO_LONG',
            table: t.name,
            message: `the name "${name}" is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit`,
            action: 'rename it in the plan (target names)',
          });
      for (const c of t.columns) if (!/^enum\s*\(/i.test(c.nativeType)) natives.add(c.nativeType);
    }
    if (natives.size === 0) return findings;
    const unknown = new Set<string>();
    await this.withClient(async (c) => {
      for (const native of natives) {
        // to_regtype answers NULL for an unknown name and raises for one that does not parse
        const known = await c.query<{ known: boolean }>('SELECT to_regtype($1) IS NOT NULL AS known', [native]).then(
          (r) => r.rows[0]!.known,
          () => false,
        );
        if (!known) unknown.add(native);
      }
    });
    for (const t of tables)
      for (const c of t.columns)
        if (unknown.has(c.nativeType))
          findings.push({
            severity: 'error',
            code: 'UNKNOWN_TYPE',
            table: t.name,
            column: c.name,
            message: `PostgreSQL has no type ${c.nativeType} (column ${t.name}.${c.name})`,
            action: 'change the column type in the plan to a PostgreSQL type',
          });
    return findings;
  }

  /** `notNull`: a primary key column, NOT NULL as the key will make it (then attaching the key scans nothing) */
  private columnSql(ref: TableRef, c: Column, notNull = false): string {
    const enumType = ENUM_NATIVE.exec(c.nativeType.trim());
    const type = enumType ? `${enumTypeRef(ref, c.name)}${enumType[1]}` : c.nativeType;
    let extra = '';
    if (isIdentity(c)) extra = ' GENERATED BY DEFAULT AS IDENTITY';
    else if (c.default !== undefined && !c.autoIncrement) extra = ` DEFAULT ${c.default}`;
    if (!c.nullable || notNull) extra += ' NOT NULL';
    return `${quoteIdent(c.name)} ${type}${extra}`;
  }

  async prepare(table: TargetTable, ifExists: IfExists): Promise<void> {
    const ref = this.ref(table.name);
    this.formats.delete(table.name);
    this.keyed.delete(table.name);
    await this.withClient(async (client) => {
      const exists =
        (
          await client.query(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
            [ref.schema, ref.table],
          )
        ).rowCount! > 0;
      if (exists && ifExists === 'fail')
        throw new FerryError(
          'TABLE_EXISTS',
          `table ${table.name} already exists in the target`,
          'set target.ifExists to drop or truncate in the plan (or drop the table yourself)',
        );
      try {
        await this.inTransaction(client, async () => {
          if (exists && ifExists === 'truncate') {
            // referencing tables are emptied too (their rows would dangle); this table's own
            // foreign keys are dropped and come back after the data, like on a fresh table
            await client.query(`TRUNCATE ${ref.sql} CASCADE`);
            const fks = await client.query<{ conname: string }>(
              "SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'",
              [ref.sql],
            );
            for (const fk of fks.rows)
              await client.query(`ALTER TABLE ${ref.sql} DROP CONSTRAINT ${quoteIdent(fk.conname)}`);
            return;
          }
          if (exists) await client.query(`DROP TABLE ${ref.sql} CASCADE`);
          // CREATE SCHEMA IF NOT EXISTS would need CREATE on the database even when the schema exists
          if ((await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [ref.schema])).rowCount === 0)
            await client.query(`CREATE SCHEMA ${quoteIdent(ref.schema)}`);
          for (const c of table.columns) {
            if (!ENUM_NATIVE.test(c.nativeType.trim())) continue;
            let t = describeNative(c.nativeType).type;
            while (t.kind === 'array') t = t.element;
            const labels = t.kind === 'enum' ? t.values : [];
            await client.query(`DROP TYPE IF EXISTS ${enumTypeRef(ref, c.name)}`);
            await client.query(
              `CREATE TYPE ${enumTypeRef(ref, c.name)} AS ENUM (${labels.map(sqlLiteral).join(', ')})`,
            );
          }
          // without the primary key: maintaining it row by row costs a COPY more than building it after
          const columns = table.columns.map((c) => this.columnSql(ref, c, table.primaryKey.includes(c.name)));
          await client.query(`CREATE TABLE ${ref.sql} (${columns.join(', ')})`);
          for (const c of table.columns) {
            if (!c.autoIncrement || isIdentity(c)) continue;
            // counters on non-integer columns (numeric(20,0) for MySQL's unsigned bigint) are an owned sequence
            const seq = `${quoteIdent(ref.schema)}.${quoteIdent(shortName(`${ref.table}_${c.name}_seq`))}`;
            await client.query(`CREATE SEQUENCE ${seq} OWNED BY ${ref.sql}.${quoteIdent(c.name)}`);
            await client.query(
              `ALTER TABLE ${ref.sql} ALTER ${quoteIdent(c.name)} SET DEFAULT nextval('${seq.replace(/'/g, "''")}')`,
            );
          }
        });
      } catch (e) {
        throw queryError(
          e,
          'WRITE_FAILED',
          `cannot prepare table ${table.name}`,
          'fix the column types or names in the plan',
        );
      }
    });
  }

  private format(table: TargetTable, client: pg.ClientBase): Promise<RowFormat> {
    let f = this.formats.get(table.name);
    if (!f) {
      f = this.buildFormat(table, client);
      this.formats.set(table.name, f);
      f.catch(() => this.formats.delete(table.name));
    }
    return f;
  }

  /** The live columns of the table, in the order of the plan's. */
  private async liveColumns(table: TargetTable, client: pg.ClientBase): Promise<CatalogColumn[]> {
    const ref = this.ref(table.name);
    const relid = await client.query<{ oid: string }>('SELECT $1::regclass::oid::int8 AS oid', [ref.sql]);
    const live = await catalogColumns(client, [Number(relid.rows[0]!.oid)]);
    return table.columns.map((c) => {
      const col = live.find((x) => x.name === c.name);
      if (!col)
        throw new FerryError(
          'PLAN_INVALID',
          `column ${c.name} does not exist in the target table ${table.name}`,
          'prepare the table again (target.ifExists: drop) or fix the plan',
        );
      return col;
    });
  }

  private copyCommand(table: TargetTable, binary: boolean): string {
    const columns = table.columns.map((c) => quoteIdent(c.name)).join(', ');
    return `COPY ${this.ref(table.name).sql} (${columns}) FROM STDIN${binary ? ' (FORMAT binary)' : ''}`;
  }

  /** Binary COPY when every column's live type has a binary codec matching its canonical type, else text. */
  private async buildFormat(table: TargetTable, client: pg.ClientBase): Promise<RowFormat> {
    const live = await this.liveColumns(table, client);
    const encoders: (Encoder | undefined)[] = table.columns.map((c, i) => {
      const col = live[i]!;
      const family = liveFamily(col);
      if (family === undefined || family !== familyOf(c.type)) return undefined;
      return family.startsWith('array:')
        ? arrayEncoder(scalarEncoder(family.slice(6) as ScalarFamily), col.elemOid)
        : scalarEncoder(family as ScalarFamily);
    });
    const names = table.columns.map((c) => c.name);
    if (encoders.every((e) => e !== undefined)) {
      const columns = table.columns.map((c, i) => columnEncoderOf(c.type, liveFamily(live[i]!)));
      return {
        ...binaryFormat(this.copyCommand(table, true), encoders as Encoder[], names),
        ...(columns.every((e) => e !== undefined) ? { columns: columns as ColumnEncoder[] } : {}),
      };
    }
    const encode = copyTextEncoder(table.columns.map((c) => c.type));
    const textRows = async (rows: unknown[][], emit: Emit) => {
      for (let i = 0; i < rows.length; i += 1000) await emit(encode(rows.slice(i, i + 1000)));
    };
    return { command: this.copyCommand(table, false), start: () => ({ rows: textRows, end: async () => {} }) };
  }

  private deleteSql(table: TargetTable, range: KeyRange): string {
    return `DELETE FROM ${this.ref(table.name).sql}${whereClause(keyRangeConditions(table, range))}`;
  }

  async writeChunk(chunk: ChunkWrite, batches: AsyncIterable<RowBatch>): Promise<WriteResult> {
    const { table } = chunk;
    await this.ensurePrimaryKey(table);
    return this.withClient(async (client) => {
      const format = await this.format(table, client).catch((e) => {
        throw queryError(e, 'WRITE_FAILED', `cannot write to ${table.name}`);
      });
      try {
        return await this.inTransaction(client, async () => {
          if (chunk.replace) await client.query(this.deleteSql(table, chunk.range));
          return chunk.isolate
            ? await this.copyIsolated(client, format, batches)
            : { rows: await copyAll(client, format, batches), rejects: [] };
        });
      } catch (e) {
        if (e instanceof SourceError) throw e.original;
        throw writeError(e, table.name);
      }
    });
  }

  /** Column batches go as binary COPY when every column's canonical type has a layout its family takes as it is. */
  takesColumns(table: TargetTable): boolean {
    return table.columns.every((c) => columnEncoderOf(c.type, familyOf(c.type)) !== undefined);
  }

  /**
   * writeChunk() for column batches: one binary COPY encoded from the columns' buffers. Rows
   * whose key is unique by construction (keyUnique) go in before the primary key is built, as
   * writeRaw's do.
   */
  async writeColumns(chunk: ChunkWrite, batches: AsyncIterable<ColumnBatch>): Promise<WriteResult> {
    const { table } = chunk;
    if (chunk.replace || !chunk.keyUnique) await this.ensurePrimaryKey(table);
    return this.withClient(async (client) => {
      const format = await this.format(table, client).catch((e) => {
        throw queryError(e, 'WRITE_FAILED', `cannot write to ${table.name}`);
      });
      const encoders = format.columns;
      if (!encoders)
        throw new FerryError(
          'UNSUPPORTED',
          `the live column types of ${table.name} do not take its column batches as they are`,
          'write the chunk as rows',
        );
      const names = table.columns.map((c) => c.name);
      return this.copyChunk(client, chunk, format.command, async (copy) => {
        const w = binaryCopyWriter();
        const emit = (data: Buffer) => copy.write(data);
        for await (const batch of fromSource(batches)) {
          copy.check();
          await encodeColumns(w, batch, encoders, names, emit);
          batch.recycle?.();
        }
        await emit(binaryCopyEnd(w));
      });
    });
  }

  /** One COPY of a chunk in one transaction, after the chunk's delete-range when it replaces; the rows COPY stored. */
  private async copyChunk(
    client: pg.ClientBase,
    chunk: ChunkWrite,
    command: string,
    feed: (copy: CopyIn) => Promise<void>,
  ): Promise<WriteResult> {
    try {
      return await this.inTransaction(client, async () => {
        if (chunk.replace) await client.query(this.deleteSql(chunk.table, chunk.range));
        const copy = new CopyIn(client, command);
        try {
          await feed(copy);
          return { rows: await copy.end(), rejects: [] };
        } catch (e) {
          await copy.abort(e as Error);
          throw e;
        }
      });
    } catch (e) {
      if (e instanceof SourceError) throw e.original;
      throw writeError(e, chunk.table.name);
    }
  }

  /**
   * Every column's live type takes its canonical type's family in binary (as buildFormat's
   * encoders), an array's element being the family's own type (array_recv checks its oid); or
   * it is the type ferry does not know that the plan names, built in (a binary form that names
   * no oid of this database's own).
   */
  async rawFormat(table: TargetTable): Promise<string | undefined> {
    const live = await this.withClient((client) => this.liveColumns(table, client)).catch((e: unknown) => {
      throw queryError(e, 'WRITE_FAILED', `cannot write to ${table.name}`);
    });
    const forms: string[] = [];
    for (const [i, c] of table.columns.entries()) {
      const col = live[i]!;
      const form = rawColumnForm(c.nativeType, c.type);
      const takes = form.startsWith('own ')
        ? form === `own ${nativeOf(col)}` &&
          col.baseOid < FIRST_USER_OID &&
          (!col.isArray || col.elemOid < FIRST_USER_OID)
        : liveFamily(col) === form &&
          (!col.isArray || (col.elemTyptype === 'b' && `${col.elemTypname}[]` === castName(form as Family)));
      if (!takes) return undefined;
      forms.push(form);
    }
    return rawFormatOf(forms);
  }

  /** writeChunk() for a binary COPY stream as the source's readRaw() gives it: one COPY, undecoded. */
  async writeRaw(chunk: ChunkWrite, data: AsyncIterable<Uint8Array>): Promise<WriteResult> {
    const { table } = chunk;
    if (chunk.replace || !chunk.keyUnique) await this.ensurePrimaryKey(table);
    return this.withClient((client) =>
      this.copyChunk(client, chunk, this.copyCommand(table, true), async (copy) => {
        for await (const piece of fromSource(data)) await copy.write(piece);
      }),
    );
  }

  /**
   * The primary key now, when prepare() left it for after the data and a write needs it (a
   * replayed chunk's delete-range, the rejects of duplicate keys): under a lock that waits for
   * the chunks being written and keeps two writers from building it at once. The table then
   * holds each key once: only first writes of `keyUnique` rows went in without it.
   */
  private async ensurePrimaryKey(table: TargetTable): Promise<void> {
    if (table.primaryKey.length === 0 || this.keyed.has(table.name)) return;
    const ref = this.ref(table.name);
    try {
      await this.withClient(async (client) => {
        if (await hasPrimaryKey(client, ref)) return;
        await this.inTransaction(client, async () => {
          await client.query(`LOCK TABLE ${ref.sql} IN ACCESS EXCLUSIVE MODE`);
          await client.query(INDEX_BUILD_SETTINGS);
          const index = await this.buildKeyIndex(client, table, ref);
          if (index) await attachPrimaryKey(client, ref, index);
        });
      });
    } catch (e) {
      throw queryError(
        e,
        'WRITE_FAILED',
        `cannot add the primary key of ${table.name}`,
        'fix the primary key in the plan, or the rows that repeat a key',
      );
    }
    this.keyed.add(table.name);
  }

  /**
   * The unique index that becomes the primary key (attachPrimaryKey): its name, or undefined
   * when the table has its key already. An index built by an interrupted attempt is taken as it is.
   */
  private async buildKeyIndex(client: pg.ClientBase, table: TargetTable, ref: TableRef): Promise<string | undefined> {
    if (await hasPrimaryKey(client, ref)) return undefined;
    return this.createIndex(client, table, ref, `${ref.table}_pkey`, table.primaryKey, true);
  }

  private async copyIsolated(
    client: pg.ClientBase,
    format: RowFormat,
    batches: AsyncIterable<RowBatch>,
  ): Promise<WriteResult> {
    const rejects: Reject[] = [];
    let rows = 0;
    // a lost connection is not the rows' fault: it ends the isolation instead of refusing every row
    let fatal: unknown;
    const attempt = async (group: unknown[][]) => {
      if (fatal !== undefined) throw fatal;
      await client.query('SAVEPOINT ferry_group');
      try {
        await copyAll(client, format, one(group));
        await client.query('RELEASE SAVEPOINT ferry_group');
      } catch (e) {
        if (isTransientPgError(e)) fatal = e;
        else await client.query('ROLLBACK TO SAVEPOINT ferry_group').catch((r: unknown) => (fatal = r));
        throw e;
      }
    };
    for await (const batch of fromSource(batches)) {
      const refused = await writeIsolated(batch.rows, ISOLATE_GROUP, attempt, pgReason);
      if (fatal !== undefined) throw fatal;
      rows += batch.rows.length - refused.length;
      rejects.push(...refused);
    }
    return { rows, rejects };
  }

  /**
   * The indexes at once, each on a connection of its own (as many as the pool holds: the plan's
   * parallelism), with memory to sort in; then the unique keys (ALTER TABLE waits for the
   * indexes' locks anyway) and the counters.
   */
  async finishTable(table: TargetTable): Promise<void> {
    const ref = this.ref(table.name);
    const fail = (e: unknown) =>
      queryError(
        e,
        'WRITE_FAILED',
        `cannot finish table ${table.name}`,
        'fix the index or key in the plan, or the data that breaks it',
      );
    const build = <T>(fn: (client: pg.ClientBase) => Promise<T>) =>
      this.withClient((client) =>
        this.inTransaction(client, async () => {
          await client.query(INDEX_BUILD_SETTINGS);
          return fn(client);
        }),
      );
    try {
      // the primary key's and the unique keys' indexes beside the others, attached as constraints
      // after them (ALTER TABLE waits for the builds' locks; attaching an index scans nothing)
      const keyed = table.primaryKey.length === 0 || this.keyed.has(table.name);
      // every build ends before a failure is thrown: a retry started while another build still
      // ran would not see its index yet, and fail on the name when that build committed
      const builds = await Promise.allSettled([
        keyed ? undefined : build((client) => this.buildKeyIndex(client, table, ref)),
        ...table.uniqueKeys.map((cols) => build((client) => this.buildUniqueIndex(client, table, ref, cols))),
        ...table.indexes.map((idx) =>
          build((client) => this.createIndex(client, table, ref, idx.name, idx.columns, idx.unique)),
        ),
      ]);
      const failed = builds.find((b) => b.status === 'rejected');
      if (failed) throw failed.reason;
      const [keyIndex, ...uniqueIndexes] = builds.map((b) => (b.status === 'fulfilled' ? b.value : undefined));
      await this.withClient(async (client) => {
        if (keyIndex !== undefined) await attachPrimaryKey(client, ref, keyIndex);
        for (const index of uniqueIndexes.slice(0, table.uniqueKeys.length))
          if (index !== undefined)
            await client.query(`ALTER TABLE ${ref.sql} ADD UNIQUE USING INDEX ${quoteIdent(index)}`);
      });
      this.keyed.add(table.name);
      await this.withClient((client) => setCounters(client, table, ref, {}));
    } catch (e) {
      throw fail(e);
    }
  }

  /**
   * ANALYZE, once the indexes are built (it locks out index builds, and gathers the statistics
   * of expression indexes): `pg_dump | psql` leaves this to autovacuum, whose next round may
   * come after the application has moved to the new database and planned without statistics.
   */
  async analyze(table: TargetTable): Promise<void> {
    const ref = this.ref(table.name);
    await this.withClient(async (client) => {
      try {
        await client.query(`ANALYZE ${ref.sql}`);
      } catch (e) {
        throw queryError(e, 'WRITE_FAILED', `cannot gather the statistics of ${table.name}`);
      }
    });
  }

  async setSequences(table: TargetTable, next: Record<string, bigint>): Promise<void> {
    await this.withClient(async (client) => {
      try {
        await setCounters(client, table, this.ref(table.name), next);
      } catch (e) {
        throw queryError(e, 'WRITE_FAILED', `cannot set the sequences of ${table.name}`);
      }
    });
  }

  /**
   * Index names are per schema in PostgreSQL: a name taken by another table's index gets the
   * table name in front. Returns the index's name (one the table has already is kept).
   */
  private async createIndex(
    client: pg.ClientBase,
    table: TargetTable,
    ref: TableRef,
    name: string,
    columns: string[],
    unique: boolean,
  ): Promise<string> {
    const owner = async (n: string) =>
      (
        await client.query<{ table: string }>(
          'SELECT i.indrelid::regclass::text AS table FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relname = $2',
          [ref.schema, n],
        )
      ).rows[0]?.table;
    let indexName = shortName(name);
    let taken = await owner(indexName);
    const self = (await client.query<{ t: string }>('SELECT $1::regclass::text AS t', [ref.sql])).rows[0]!.t;
    if (taken === self) return indexName;
    if (taken !== undefined) {
      indexName = shortName(`${ref.table}_${name}`);
      taken = await owner(indexName);
      if (taken === self) return indexName;
    }
    await client.query(
      `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(indexName)} ON ${ref.sql} (${columns.map(quoteIdent).join(', ')})`,
    );
    this.db.log.debug({ table: table.name, index: indexName }, 'index created');
    return indexName;
  }

  /**
   * The index that becomes the unique key on `columns` (ALTER TABLE … ADD UNIQUE USING INDEX),
   * named as ADD UNIQUE names one; undefined when the table has that key already.
   */
  private async buildUniqueIndex(
    client: pg.ClientBase,
    table: TargetTable,
    ref: TableRef,
    columns: string[],
  ): Promise<string | undefined> {
    const existing = await client.query<{ cols: string[] }>(
      "SELECT ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) AS cols FROM pg_constraint con WHERE con.conrelid = $1::regclass AND con.contype = 'u'",
      [ref.sql],
    );
    if (existing.rows.some((r) => r.cols.join('\u0000') === columns.join('\u0000'))) return undefined;
    return this.createIndex(client, table, ref, `${ref.table}_${columns.join('_')}_key`, columns, true);
  }

  /**
   * Each foreign key added NOT VALID, then validated in a statement of its own: validating locks
   * neither table against the others' validations (SHARE UPDATE EXCLUSIVE on the table, ROW
   * SHARE on the one it refers to), so the tables' foreign keys are checked at once. A key the
   * rows break is dropped again, and one an interrupted call left unvalidated is validated.
   */
  async addForeignKeys(table: TargetTable): Promise<void> {
    const ref = this.ref(table.name);
    await this.withClient(async (client) => {
      const existing = new Map(
        (
          await client.query<{ conname: string; convalidated: boolean }>(
            "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'",
            [ref.sql],
          )
        ).rows.map((r) => [r.conname, r.convalidated]),
      );
      for (const fk of table.foreignKeys) {
        const name = shortName(fk.name);
        const actions = [
          ['ON DELETE', fk.onDelete],
          ['ON UPDATE', fk.onUpdate],
        ]
          .filter(([, a]) => a && FK_ACTIONS.has(a.toUpperCase()))
          .map(([clause, a]) => ` ${clause} ${a!.toUpperCase()}`)
          .join('');
        const fail = (e: unknown) =>
          queryError(
            e,
            'WRITE_FAILED',
            `cannot add foreign key ${fk.name} of ${table.name}`,
            'fix the rows that have no parent, or remove the foreign key from the plan',
          );
        if (!existing.has(name))
          await client
            .query(
              `ALTER TABLE ${ref.sql} ADD CONSTRAINT ${quoteIdent(name)} FOREIGN KEY (${fk.columns.map(quoteIdent).join(', ')}) REFERENCES ${this.ref(fk.refTable).sql} (${fk.refColumns.map(quoteIdent).join(', ')})${actions} NOT VALID`,
            )
            .catch((e: unknown) => {
              throw fail(e);
            });
        if (fk.notValid || existing.get(name) === true) continue;
        try {
          await client.query(`ALTER TABLE ${ref.sql} VALIDATE CONSTRAINT ${quoteIdent(name)}`);
        } catch (e) {
          if (!isTransientPgError(e))
            await client.query(`ALTER TABLE ${ref.sql} DROP CONSTRAINT ${quoteIdent(name)}`).catch(() => {});
          throw fail(e);
        }
      }
    });
  }

  readBack(table: TargetTable, range: KeyRange, batchRows: number): AsyncIterable<RowBatch> {
    const select = `SELECT ${selectList(table.columns)} FROM ${this.ref(table.name).sql}${whereClause(keyRangeConditions(table, range))}`;
    return this.copyReading(
      table,
      select,
      table.columns.map((c) => decoderFor(c.type)),
      batchRows,
    );
  }

  digestRead(
    table: TargetTable,
    range: KeyRange,
    columns: DigestColumn[],
    hash: DigestHash,
    rest: Column[],
    batchRows: number,
  ): DigestRead {
    const list = digestReadList(selectList(rest), table.columns, columns, hash);
    const select = `SELECT ${list} FROM ${this.ref(table.name).sql}${whereClause(keyRangeConditions(table, range))}`;
    const decoders = [...rest.map((c) => decoderFor(c.type)), decoderFor({ kind: 'string' })];
    return hashedRows(this.copyReading(table, select, decoders, batchRows));
  }

  /** The rows of a COPY … TO of `select`, on a connection of the pool. */
  private async *copyReading(
    table: TargetTable,
    select: string,
    decoders: Decoder[],
    batchRows: number,
  ): AsyncIterable<RowBatch> {
    const client = await this.db.connect();
    let clean = false;
    try {
      yield* copyOut(client, select, decoders, batchRows);
      clean = true;
    } catch (e) {
      throw queryError(e, 'READ_FAILED', `cannot read back ${table.name}`);
    } finally {
      // a COPY left unfinished leaves the connection unusable
      client.release(!clean);
    }
  }

  digestsColumn(column: Column, as: CanonicalType): boolean {
    return digestsColumn(column, as);
  }

  async rangeDigest(
    table: TargetTable,
    range: KeyRange,
    columns: DigestColumn[],
    hash: DigestHash = 'canonical',
  ): Promise<Digest | undefined> {
    const sql = digestSelect(
      `FROM ${this.ref(table.name).sql}`,
      whereClause(keyRangeConditions(table, range)),
      table.columns,
      columns,
      hash,
    );
    try {
      return await this.withClient(async (c) =>
        digestOfRow((await c.query<(string | null)[]>({ text: sql, rowMode: 'array' })).rows[0]!),
      );
    } catch (e) {
      throw queryError(e, 'READ_FAILED', `cannot digest ${table.name}`);
    }
  }

  async digestForms(table: TargetTable): Promise<(string | undefined)[]> {
    const names = table.columns.map((c) => c.name);
    try {
      return await this.withClient((c) => engineForms(c, this.ref(table.name).sql, names));
    } catch (e) {
      throw queryError(e, 'READ_FAILED', `cannot digest ${table.name}`);
    }
  }

  async count(table: TargetTable, range: KeyRange): Promise<number> {
    try {
      const { rows } = await this.withClient((c) =>
        c.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${this.ref(table.name).sql}${whereClause(keyRangeConditions(table, range))}`,
        ),
      );
      return Number(rows[0]!.n);
    } catch (e) {
      throw queryError(e, 'READ_FAILED', `cannot count the rows of ${table.name}`);
    }
  }

  valueCheck(column: Column): ((v: unknown) => string | undefined) | undefined {
    return valueCheckFor(column);
  }

  async applyChanges(changes: AppliedChange[], stream: string, position: string): Promise<void> {
    // upserts name the primary key (ON CONFLICT): a table not finished yet gets it first
    for (const table of new Set(changes.map((c) => c.table))) await this.ensurePrimaryKey(table);
    return this.changes.applyChanges(changes, stream, position);
  }

  appliedPosition(stream: string): Promise<string | undefined> {
    return this.changes.appliedPosition(stream);
  }

  forgetStream(stream: string): Promise<void> {
    return this.changes.forgetStream(stream);
  }

  async addColumn(table: TargetTable, column: Column): Promise<void> {
    const ref = this.ref(table.name);
    this.formats.delete(table.name);
    await this.withClient(async (client) => {
      try {
        await client.query(`ALTER TABLE ${ref.sql} ADD COLUMN IF NOT EXISTS ${this.columnSql(ref, column)}`);
      } catch (e) {
        throw queryError(e, 'WRITE_FAILED', `cannot add column ${column.name} to ${table.name}`);
      }
    });
  }

  async drop(table: TargetTable): Promise<void> {
    const ref = this.ref(table.name);
    this.formats.delete(table.name);
    this.keyed.delete(table.name);
    await this.withClient(async (client) => {
      try {
        await this.inTransaction(client, async () => {
          await client.query(`DROP TABLE IF EXISTS ${ref.sql} CASCADE`);
          // the enum types prepare() made for the table's enum columns (its sequences go with the table)
          for (const c of table.columns)
            if (ENUM_NATIVE.test(c.nativeType.trim()))
              await client.query(`DROP TYPE IF EXISTS ${enumTypeRef(ref, c.name)}`);
        });
      } catch (e) {
        throw queryError(e, 'WRITE_FAILED', `cannot drop table ${table.name}`, 'check that the account owns the table');
      }
    });
  }

  /**
   * The row count and the sum of the rows' creating transaction ids (xmin): an insert, update
   * or delete changes them, VACUUM and freezing do not. An index-free scan, no row is decoded.
   */
  async fingerprint(table: TargetTable): Promise<TableFingerprint | undefined> {
    const ref = this.ref(table.name);
    try {
      return await this.withClient(async (client) => {
        const found = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [ref.sql]);
        if (!found.rows[0]!.found) return undefined;
        const { rows } = await client.query<{ n: string; s: string }>(
          `SELECT count(*)::text AS n, coalesce(sum(xmin::text::int8), 0)::text AS s FROM ${ref.sql}`,
        );
        return { rows: Number(rows[0]!.n), hash: `xmin:${rows[0]!.s}` };
      });
    } catch (e) {
      throw queryError(e, 'READ_FAILED', `cannot read the fingerprint of ${table.name}`);
    }
  }
}

async function hasPrimaryKey(client: pg.ClientBase, ref: TableRef): Promise<boolean> {
  const { rows } = await client.query<{ has: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = $1::regclass AND indisprimary) AS has',
    [ref.sql],
  );
  return rows[0]!.has;
}

/** Makes the unique index the table's primary key (named as the index): its columns are NOT NULL already, nothing is scanned. */
async function attachPrimaryKey(client: pg.ClientBase, ref: TableRef, index: string): Promise<void> {
  if (await hasPrimaryKey(client, ref)) return;
  await client.query(`ALTER TABLE ${ref.sql} ADD PRIMARY KEY USING INDEX ${quoteIdent(index)}`);
}

/**
 * Session settings for an index build: memory to sort in (the default 64 MB spills a table of a
 * few million rows to disk; a build's parallel workers share it). The parallel workers are the
 * server's to give (max_parallel_maintenance_workers, while max_parallel_workers has some left):
 * the builds of a table start together but end apart, and the longest, often one of text whose
 * comparisons cost most, would otherwise finish on one core alone.
 */
const INDEX_BUILD_SETTINGS = "SET LOCAL maintenance_work_mem = '256MB'";

/** a JSON \u0000 escape (not an escaped backslash followed by "u0000") */
const ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

/**
 * PostgreSQL limits beyond the canonical type: no NUL in text, the range of real. (Dates are
 * not checked here: PostgreSQL's range is wider than any other engine's, and an impossible
 * date fails its chunk, whose rows are then isolated with the reason.)
 */
function valueCheckFor(column: Column): ((v: unknown) => string | undefined) | undefined {
  const t = column.type;
  const element = t.kind === 'array' ? t.element : t;
  const scalar = ((): ((v: unknown) => string | undefined) | undefined => {
    switch (element.kind) {
      case 'string':
      case 'enum':
        return (v) =>
          typeof v === 'string' && v.includes('\u0000')
            ? 'PostgreSQL text cannot contain the NUL character (\\0)'
            : undefined;
      case 'set':
        return (v) =>
          Array.isArray(v) && v.some((e) => typeof e === 'string' && e.includes('\u0000'))
            ? 'PostgreSQL text cannot contain the NUL character (\\0)'
            : undefined;
      case 'json':
        return element.binary
          ? (v) =>
              typeof v === 'string' && (v.includes('\u0000') || (v.includes('\\u0000') && ESCAPED_NUL.test(v)))
                ? 'PostgreSQL jsonb cannot contain the NUL character (\\u0000)'
                : undefined
          : (v) =>
              typeof v === 'string' && v.includes('\u0000')
                ? 'PostgreSQL json cannot contain the NUL character (\\0)'
                : undefined;
      case 'float':
        return element.bits === 32 ? (v) => (typeof v === 'number' ? float4Misfit(v) : undefined) : undefined;
      default:
        return undefined;
    }
  })();
  if (!scalar || t.kind !== 'array') return scalar;
  const walk = (v: unknown): string | undefined => {
    if (!Array.isArray(v)) return v === null || v === undefined ? undefined : scalar(v);
    for (const e of v) {
      const why = walk(e);
      if (why) return why;
    }
    return undefined;
  };
  return walk;
}

/** An error of the rows' source, passed through a write unchanged. */
class SourceError extends Error {
  constructor(readonly original: unknown) {
    super('the rows to write could not be read');
  }
}

/** What the source gives, its errors as SourceErrors. */
async function* fromSource<T>(items: AsyncIterable<T>): AsyncIterable<T> {
  const it = items[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<T>;
      try {
        next = await it.next();
      } catch (e) {
        throw new SourceError(e);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await it.return?.();
  }
}

async function* one(rows: unknown[][]): AsyncIterable<RowBatch> {
  yield { rows };
}

/** The encoder of a column of canonical type `t` into a column of `family` from its column batches, if it has one. */
function columnEncoderOf(t: CanonicalType, family: Family | undefined): ColumnEncoder | undefined {
  const layout = columnLayout(t);
  return layout && family === familyOf(t) ? columnEncoderFor(layout, t, family) : undefined;
}

function binaryFormat(command: string, encoders: Encoder[], names: string[]): RowFormat {
  const n = encoders.length;
  const start = () => {
    const w = binaryCopyWriter();
    return {
      async rows(rows: unknown[][], emit: Emit) {
        let i = 0;
        try {
          for (const row of rows) {
            w.ensure(2);
            w.int16(n);
            for (i = 0; i < n; i++) {
              const v = row[i];
              if (v === null || v === undefined) {
                w.ensure(4);
                w.int32(-1);
              } else encoders[i]!(w, v);
            }
            if (w.pos >= w.flushAt) await emit(w.take());
          }
        } catch (e) {
          if (e instanceof ValueError) throw new ValueError(`column ${names[i]}: ${e.message}`);
          throw e;
        }
      },
      async end(emit: Emit) {
        await emit(binaryCopyEnd(w));
      },
    };
  };
  return { command, start };
}

/** Copies every batch in one COPY; returns the rows stored. */
async function copyAll(client: pg.ClientBase, format: RowFormat, batches: AsyncIterable<RowBatch>): Promise<number> {
  const copy = new CopyIn(client, format.command);
  try {
    const encoder = format.start();
    const emit = (data: Buffer | string) => copy.write(data);
    for await (const batch of fromSource(batches)) {
      // rows are sent in pieces of a few hundred kilobytes: a connection dropped meanwhile stops the read here
      copy.check();
      await encoder.rows(batch.rows, emit);
    }
    await encoder.end(emit);
    return await copy.end();
  } catch (e) {
    await copy.abort(e as Error);
    throw e;
  }
}

function writeError(e: unknown, table: string): FerryError {
  if (e instanceof ValueError)
    return new FerryError(
      'WRITE_FAILED',
      `cannot write to ${table}: ${e.message}`,
      'fix the value or change the column type in the plan',
    );
  return queryError(e, 'WRITE_FAILED', `cannot write to ${table}`);
}
