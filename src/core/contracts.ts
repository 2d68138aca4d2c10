// The contracts between the pipeline and the connectors. The pipeline knows connectors
// only through these; a connector knows only core/.
import type { ChangeTransaction, TargetChange } from './changes.js';
import type { ColumnBatch } from './columns.js';
import type { Digest } from './digest.js';
import type { DigestColumn, DigestHash, DigestRead } from './range-digest.js';
import type { CanonicalType, Column, Finding, ForeignKey, IndexInfo, KeyRange, RowBatch, SchemaInfo } from './types.js';
import type { Logger } from './log.js';
import type { NameRules } from './names.js';
import type { Plan, PlanNote } from './plan.js';
import type { ProfileAnswer, ProfileAnswers, ProfileAsk, ProfileTable } from './profile.js';

/** What the pipeline acts on about an engine beyond its types. */
export interface Capabilities {
  /**
   * Key types whose order is the same in this engine and in every other: the planner chunks a
   * table by range only on a key of these kinds in both the source and the target.
   */
  portableKeyKinds: CanonicalType['kind'][];
  /**
   * The engine can hold dates with zero parts (MySQL's 0000-00-00): assess says so for its date
   * and timestamp columns, and the mapping applies the plan's source.zeroDates policy to them.
   */
  zeroDates?: boolean;
  /**
   * A column may hold values its declared type does not describe (SQLite's dynamic typing): assess
   * counts each column's storage classes and the plan gives a column a type that holds them all;
   * the mapping converts a value by its own class, checks each value of a date or time column
   * against its type, and applies the plan's source.numericDates to the numbers in date and
   * timestamp columns.
   */
  looseValues?: boolean;
  /**
   * A boolean column may hold other integers (MySQL's tinyint(1), SQLite's):
   * assess counts them, and the plan gives a column that holds any an integer type.
   */
  looseBooleans?: boolean;
  /**
   * Time columns hold durations (MySQL's TIME: -838:59:59..838:59:59). As a source: assess counts
   * the values that are no time of day, and the plan makes such a column an interval in a target
   * without durations. As a target: its time columns take them.
   */
  durations?: boolean;
  /**
   * As a target: a foreign key can be added without checking the rows already there, and is
   * enforced for rows written after (PostgreSQL's NOT VALID; MySQL adds it with foreign_key_checks
   * off; SQLite leaves it out of the check after the data): the plan's `onOrphans: not-valid`.
   */
  notValidForeignKeys?: boolean;
  /**
   * As a target: a primary or unique key takes only text and bytes of a bounded length, at most
   * `bytes` in all, a character counting `bytesPerChar` (MySQL: 3072, utf8mb4's 4), a column of
   * another type `columnBytes(native type)` (MariaDB's uuid: 16). The planner gives such key
   * columns a length from their longest values (`plan/key-types.ts`).
   */
  keyLimit?: { bytes: number; bytesPerChar: number; columnBytes(native: string): number };
  /**
   * As a target: a key value cannot be an empty text or bytes (DynamoDB). The planner counts the
   * empty values of the text and bytes columns of each table's keys (`emptyValues`) and gives the
   * counts to the target's `proposePlan`, which makes keys that are never empty.
   */
  nonEmptyKeys?: boolean;
  /**
   * What names this engine accepts as a target (length, characters, case) and where they must be
   * unique: the planner gives every target name it writes a form these rules take
   * (`pipeline/plan/names.ts`). Absent: any name.
   */
  names?: NameRules;
  /**
   * As a target: what it does once a table's data is in, as run, status, the dashboard and the
   * report name it (`finish`; object storage writes its manifest), and whether foreign keys come
   * after (`foreignKeys: false`: none; a finished table is then done). Absent: indexes, then
   * foreign keys.
   */
  afterData?: { finish: string; foreignKeys: boolean };
}

export interface ConnectOptions {
  /** the endpoint URL with secrets already resolved; never log it, use `redactUrl` */
  url: string;
  log: Logger;
  /** how many connections the caller will use at once */
  poolSize?: number;
  /** the plan's target.options, for connectors that take any (validate them and say what is wrong) */
  options?: Record<string, unknown>;
}

/** The native type a target creates for a canonical type. */
export interface NativeTypeChoice {
  native: string;
  /** set when the native type cannot hold every value of the canonical type */
  note?: string;
}

/** A source table as the pipeline reads it: the selected columns in order, the chunk key. */
export interface SourceTable {
  name: string;
  columns: Column[];
  /** chunk key columns (source names); empty when the table is read as one chunk */
  key: string[];
  /** row filter in the source's SQL dialect */
  where?: string;
}

/** A foreign key as a target adds it. */
export interface TargetForeignKey extends ForeignKey {
  /** the rows already in the table are not checked (only with capabilities.notValidForeignKeys) */
  notValid?: boolean;
}

/** A target table as the pipeline writes it (names and types after mapping). */
export interface TargetTable {
  name: string;
  columns: Column[];
  primaryKey: string[];
  /** chunk key columns (target names); empty when the table is written as one chunk */
  key: string[];
  uniqueKeys: string[][];
  indexes: IndexInfo[];
  foreignKeys: TargetForeignKey[];
  /** the table plan's options, for targets that take any */
  options?: Record<string, unknown>;
}

/** A consistent read view shared by all readers of one run. Opaque to the pipeline. */
export interface ReadView {
  readonly parallelism: number;
  /**
   * The view's name for other processes, which open a view of the same moment with
   * `Source.importView` while this one is held (PostgreSQL: the exported snapshot's id). Absent
   * when the view cannot be shared (a queued run is then refused).
   */
  readonly exported?: string;
  release(): Promise<void>;
}

export interface Source {
  /** opens a consistent view for `parallelism` concurrent readers */
  snapshot(parallelism: number): Promise<ReadView>;
  /**
   * Opens a view of the moment another process's view names (`ReadView.exported`), which that
   * process holds meanwhile: a queue's workers read the coordinator's snapshot. Without it, a
   * queued run is refused for this source.
   */
  importView?(exported: string, parallelism: number): Promise<ReadView>;
  /** half-open ranges of about rowsPerChunk rows each, by keyset quantiles (or, for a dense integer key, equal spans of it: core/split.ts), covering `within` (or everything) */
  split(table: SourceTable, rowsPerChunk: number, view: ReadView, within?: KeyRange): Promise<KeyRange[]>;
  read(table: SourceTable, range: KeyRange, view: ReadView, batchRows: number): AsyncIterable<RowBatch>;
  count(table: SourceTable, range: KeyRange, view: ReadView): Promise<number>;
  /**
   * Why the table's row filter (`table.where`) cannot be used, or undefined when it can: it is
   * not one boolean expression that stays inside the parentheses it is placed in
   * (core/sql-filter.ts), or the engine refuses it (checked in a read-only transaction, never
   * run). Without it, a plan's where filter is refused for this source.
   */
  checkWhere?(table: SourceTable): Promise<string | undefined>;
  /**
   * Answers questions about the data of a table (core/profile.ts): an answer for each ask the
   * engine answers (the others are left out), with its ask. It reads the whole table, outside
   * any read view (one scan for the questions about columns, a query per foreign key): assess
   * and plan ask it, a run never does. Without it, the planner decides from the schema alone.
   */
  profile?(table: ProfileTable, asks: ProfileAsk[]): Promise<ProfileAnswer[]>;
  /**
   * The rows read() gives, as column batches (core/columns.ts); undefined when a column of the
   * table has no columnar form in this source. A value met that has none (an infinite date, …)
   * fails the read: the pipeline then reads the chunk as rows. So does a value a row policy of
   * the plan acts on (MySQL's zero dates): column readers never give one.
   */
  readColumns?(
    table: SourceTable,
    range: KeyRange,
    view: ReadView,
    batchRows: number,
  ): AsyncIterable<ColumnBatch> | undefined;
  /**
   * The form readRaw() gives the table's rows in: a name of the engine's own wire format and of
   * each column's form in it, or undefined when it gives none. When the target's rawFormat() of
   * the mapped table is the same string and the mapping changes no value, the pipeline streams
   * the chunks from readRaw() into the target's writeRaw() without decoding them.
   */
  rawFormat?(table: SourceTable): Promise<string | undefined>;
  /**
   * The rows of a range as the bytes of rawFormat(), whole (a header and a trailer, if the
   * format has them), in pieces of any size.
   */
  readRaw?(table: SourceTable, range: KeyRange, view: ReadView): AsyncIterable<Uint8Array>;
  /**
   * Whether rangeDigest renders the values of `column` in SQL as their canonical text under
   * `as` (the target column's type), exactly, for every value the column can hold.
   */
  digestsColumn?(column: Column, as: CanonicalType): boolean;
  /**
   * The digest of a range (core/range-digest.ts) over `columns` (with the hash `canonical`, the
   * default, each one digestsColumn takes; with `engine`, each one with a digestForms form),
   * computed in the engine: only the digest crosses the wire; undefined when a value of the
   * range is one the engine does not render so (MySQL's zero dates, PostgreSQL's dates before
   * year 1): verify then reads that range. Verify uses it for the columns both sides take;
   * without it, verify reads the rows.
   */
  rangeDigest?(
    table: SourceTable,
    range: KeyRange,
    view: ReadView,
    columns: DigestColumn[],
    hash?: DigestHash,
  ): Promise<Digest | undefined>;
  /**
   * One scan of a range for verify, where rangeDigest of `columns` and read() of `rest` would
   * scan it twice: the rows of `rest` as read() gives them, and rangeDigest's digest of
   * `columns` from the same rows (each row's hash computed in the engine, summed in ferry).
   * A source with rangeDigest has it.
   */
  digestRead?(
    table: SourceTable,
    range: KeyRange,
    view: ReadView,
    columns: DigestColumn[],
    hash: DigestHash,
    rest: Column[],
    batchRows: number,
  ): DigestRead;
  /**
   * Per column of `table`, the form under which rangeDigest with the hash `engine` digests its
   * values (core/range-digest.ts), or undefined where it has none: verify uses that hash for the
   * columns to which both sides give the same form. Without it, only `canonical`.
   */
  digestForms?(table: SourceTable, view: ReadView): Promise<(string | undefined)[]>;
  /**
   * The source's change log, for `ferry run --follow` (live changes, core/changes.ts). Without
   * it, following changes is refused for this source.
   */
  changeLog?(settings: ChangeLogSettings): ChangeLog;
  /**
   * Freezes the application's writes for a cutover (`ferry cutover`): once it returns, no write of
   * the frozen accounts can commit, their open sessions included; ferry's own account stays
   * writable. The handle undoes it. Without it, cutover is refused for this source.
   */
  freezeWrites?(opts: FreezeOptions, record: (undo: FreezeUndo) => void): Promise<WriteFreeze>;
  /**
   * Undoes a freeze from what it recorded (a process killed while the source was frozen leaves
   * the record behind): the settings put back as they were. Safe to call twice.
   */
  thawWrites?(undo: FreezeUndo): Promise<void>;
  /**
   * Whether ferry's account can freeze the writes and write while they are frozen (the way back
   * writes into a frozen source), checked before anything is frozen; none: nothing to check.
   */
  freezeCheck?(): Promise<Finding[]>;
  /** the next value each auto-increment counter of the table would give, by source column name */
  sequenceValues?(table: SourceTable): Promise<Record<string, bigint>>;
}

/** Whose writes a freeze stops. */
export interface FreezeOptions {
  /** only these accounts (roles, users); absent: every account but ferry's own */
  accounts?: string[];
  /** end the sessions of the accounts the freeze cannot stop (MySQL: SUPER, READ ONLY ADMIN) too */
  endUnstoppable?: boolean;
}

/**
 * What a freeze changes, as its connector describes it for undoing it (plain JSON, no secret).
 * freezeWrites hands it to `record` before each change it makes, so that the description is
 * kept (in the state folder) before the source is frozen: another process undoes it with
 * thawWrites.
 */
export type FreezeUndo = Record<string, unknown>;

/** A freeze in force (Source.freezeWrites). */
export interface WriteFreeze {
  /** what was done, in one line per step, for the audit log and the report */
  steps: string[];
  /** accounts with open sessions whose writes the freeze does not stop, and whether their sessions were ended */
  unstoppable: { account: string; ended: boolean }[];
  /** makes the source writable again as it was before; safe to call twice */
  undo(): Promise<void>;
}

/** What a plan's stream of changes is named by on the source, and how it is read (the plan's cdc section). */
export interface ChangeLogSettings {
  /** PostgreSQL: the replication slot's name */
  slot: string;
  /** PostgreSQL: the publication's name */
  publication: string;
  /** how often the stream says where the log stands when no change comes (and, PostgreSQL, writes a heartbeat into it) */
  heartbeatSeconds: number;
}

/** A source's change log, as one plan follows it. */
export interface ChangeLog {
  /** whether the source can give its changes (server settings, privileges, table settings), with what to do */
  check(tables: SourceTable[]): Promise<Finding[]>;
  /**
   * Makes what the stream needs on the source (a slot, a publication: idempotent), and opens a
   * consistent view for `parallelism` readers at a known position of the log: the rows the view
   * reads and the changes stream(from: position) gives are the source's history, with no gap
   * and no overlap.
   */
  snapshot(tables: SourceTable[], parallelism: number): Promise<{ view: ReadView; position: string }>;
  /**
   * The changes to `tables` committed after `from`, whole transactions in commit order, and
   * heartbeats (transactions without changes) while none come. Reading stops while the caller
   * does not pull: the source's log holds what is not read yet. A column a table gets on the
   * source (ADD COLUMN) is described in the transaction it first comes with (`added`), and its
   * rows hold it from then on; `columns` says, per table, which of its columns are not new.
   */
  stream(tables: SourceTable[], from: string, columns?: Map<string, StreamedColumns>): ChangeStream;
  /** where the log stands now, and how much of it the source keeps for this stream (bytes) */
  status(): Promise<{ position: string; retainedBytes?: number }>;
  /** removes what snapshot() made on the source; nothing when there is nothing */
  drop(): Promise<void>;
  /** orders two positions of this log (negative: a is before b); cutover needs it */
  comparePositions?(a: string, b: string): number;
  /**
   * Where the log stands once everything committed before the call is in it: a stream reaches
   * this position even when nothing is written after (PostgreSQL writes a logical message).
   */
  mark?(): Promise<string>;
}

/** What a stream is told of a table's columns beside the SourceTable's. */
export interface StreamedColumns {
  /** columns the caller leaves out: not taken for new ones */
  leftOut: string[];
  /** columns of the SourceTable added while the table was followed: NULL in rows logged before */
  added: string[];
}

export interface ChangeStream extends AsyncIterable<ChangeTransaction> {
  /** everything up to `position` is durable in the target: the source may forget it */
  acknowledge(position: string): Promise<void>;
  close(): Promise<void>;
  /** gives a heartbeat at where the log stands as soon as it can, not after heartbeatSeconds (a cutover drains) */
  pulse?(): void;
}

export type IfExists = 'fail' | 'drop' | 'truncate';

export interface ChunkWrite {
  table: TargetTable;
  range: KeyRange;
  /** the target may already hold rows of this chunk from an interrupted attempt: replace them */
  replace: boolean;
  /** write row by row (savepoints, splitting failed groups) and return the rows the target refuses */
  isolate: boolean;
  /**
   * the rows hold each value of the table's primary key once, by construction: a source's raw
   * bytes or column batches of its own unique chunk key, which the table's primary key is (no
   * value changed on the way); a target may write them before it builds the key
   */
  keyUnique?: boolean;
}

export interface Reject {
  row: unknown[];
  reason: string;
}

export interface WriteResult {
  rows: number;
  rejects: Reject[];
  /**
   * For a target whose fingerprint() reads the whole table: the digest of what this chunk left
   * in the table, as fingerprint() counts it. The pipeline adds the chunks' digests up into the
   * fingerprint it records when a run finishes the table, instead of reading the table again.
   */
  digest?: Digest;
}

/** A change as applyChanges takes it: the target table and the change in its columns. */
export interface AppliedChange {
  table: TargetTable;
  change: TargetChange;
}

/** What compacting a table did. */
export interface CompactResult {
  table: string;
  /** rows of the new snapshot */
  rows: number;
  /** change files taken into it (0: the table had none, and was left as it was) */
  changeFiles: number;
  /** data files of the table now */
  files: number;
}

/** What a table holds at one moment, to tell later whether anything changed it. */
export interface TableFingerprint {
  rows: number;
  /** changes whenever a row is inserted, updated or deleted (engine-specific; compare only with the same target) */
  hash: string;
}

/** Who holds a lock, for the one line that refuses a second command. */
export interface LockHolder {
  /** the machine: its host name, or (seen from a database server) the client's address */
  host: string;
  /** the process, when the lock's keeper can tell */
  pid?: number;
  /** when the lock was taken (ISO 8601, UTC) */
  since: string;
  /** the ferry command that holds it (run, verify, …), when known */
  command?: string;
}

/** A lock held; released when the command ends (a process that dies releases it by its lease or its connection). */
export interface Lease {
  release(): Promise<void>;
}

/** A lock taken, or who holds it (undefined when its keeper cannot tell). */
export type LockOutcome = { lease: Lease } | { heldBy: LockHolder | undefined };

export interface Target {
  /** compatibility findings before any write */
  check(tables: TargetTable[]): Promise<Finding[]>;
  /**
   * creates the table (no secondary indexes or foreign keys yet) with its primary key, or with
   * the key built later: before any write that is not a first one of `keyUnique` rows (the
   * rejects of duplicate keys and the delete-range of a replayed chunk need it), at the latest
   * in finishTable
   */
  prepare(table: TargetTable, ifExists: IfExists): Promise<void>;
  /** writes one chunk atomically: all rows, or (isolate) all rows but the returned rejects */
  writeChunk(chunk: ChunkWrite, batches: AsyncIterable<RowBatch>): Promise<WriteResult>;
  /**
   * an isolated writeChunk() costs this target no more than one that is not (it writes without
   * transactions and knows most refused rows before sending them): the pipeline isolates every
   * chunk from its first attempt, so a chunk with a refused row is not read a second time
   */
  readonly isolatesFree?: boolean;
  /** whether writeColumns() takes this table: every column has a layout this target writes as it is */
  takesColumns?(table: TargetTable): boolean;
  /**
   * writeChunk() for column batches of the table's columns, for a chunk that is not isolated;
   * a value it cannot write fails the chunk (the pipeline then writes it as rows, isolated).
   */
  writeColumns?(chunk: ChunkWrite, batches: AsyncIterable<ColumnBatch>): Promise<WriteResult>;
  /** the raw format (Source.rawFormat) writeRaw() takes for this table, or undefined */
  rawFormat?(table: TargetTable): Promise<string | undefined>;
  /**
   * writeChunk() for the bytes of a source's readRaw() in the format both sides named, for a
   * chunk that is not isolated; returns the rows stored. A value it cannot store fails the
   * chunk (the pipeline then copies it by the other paths, which isolate the refused rows).
   */
  writeRaw?(chunk: ChunkWrite, data: AsyncIterable<Uint8Array>): Promise<WriteResult>;
  /** after the data: the primary key if prepare() left it for later, secondary indexes, unique keys, identity/sequence counters */
  finishTable(table: TargetTable): Promise<void>;
  /**
   * after finishTable: the statistics the target's query planner needs (PostgreSQL's ANALYZE),
   * for a table the run leaves ready to serve
   */
  analyze?(table: TargetTable): Promise<void>;
  /** after every table of the plan is finished */
  addForeignKeys(table: TargetTable): Promise<void>;
  /** rows of a range as canonical values of the target columns, for verify */
  readBack(table: TargetTable, range: KeyRange, batchRows: number): AsyncIterable<RowBatch>;
  count(table: TargetTable, range: KeyRange): Promise<number>;
  /** Source.digestsColumn, for a column of a target table (`as`: its own type) */
  digestsColumn?(column: Column, as: CanonicalType): boolean;
  /** Source.rangeDigest, on the target's table as it is now */
  rangeDigest?(
    table: TargetTable,
    range: KeyRange,
    columns: DigestColumn[],
    hash?: DigestHash,
  ): Promise<Digest | undefined>;
  /** Source.digestRead, on the target's table as it is now (rows as readBack() gives them) */
  digestRead?(
    table: TargetTable,
    range: KeyRange,
    columns: DigestColumn[],
    hash: DigestHash,
    rest: Column[],
    batchRows: number,
  ): DigestRead;
  /** Source.digestForms, for the columns of a target table */
  digestForms?(table: TargetTable): Promise<(string | undefined)[]>;
  /** a check for limits of this engine beyond the canonical type (MySQL has no NaN, …); undefined when none */
  valueCheck?(column: Column): ((v: unknown) => string | undefined) | undefined;
  /**
   * Removes the table and what prepare() made for it (types, sequences, storage no other table
   * uses); nothing when it does not exist. Rollback and dry-run cleanup need it: without it
   * they are not available.
   */
  drop?(table: TargetTable): Promise<void>;
  /**
   * The table's fingerprint, pushed down into the engine; undefined when the table does not
   * exist. Without it, the pipeline digests readBack() of the whole table instead. A target
   * whose writeChunk() returns digests gives digestFingerprint() of the table's digest here.
   */
  fingerprint?(table: TargetTable): Promise<TableFingerprint | undefined>;
  /**
   * Whether the target holds the table already, as prepare(table, 'fail') sees it: it refuses
   * exactly then. For targets where that is more than a table of that name in introspect (a
   * folder holding any object; a DynamoDB entity in a shared table: its items). Without it,
   * the pipeline asks introspect for the name.
   */
  exists?(table: TargetTable): Promise<boolean>;
  /**
   * Applies live changes of several tables, in the source's commit order, and stores `position`
   * under `stream`, all in one transaction where the engine has them, so that the changes a
   * target holds and the position it holds never disagree. Without it, following changes into
   * this target is refused.
   */
  applyChanges?(changes: AppliedChange[], stream: string, position: string): Promise<void>;
  /** the position applyChanges last stored under `stream`; undefined before the first */
  appliedPosition?(stream: string): Promise<string | undefined>;
  /**
   * Forgets the position applyChanges stored under `stream`, and removes where positions are
   * kept once no stream is left (a SQL target's positions table): `ferry cutover --finish`.
   * Without it, the position stays.
   */
  forgetStream?(stream: string): Promise<void>;
  /**
   * Adds a column the source table was given while it is followed (ALTER TABLE … ADD COLUMN),
   * empty in the rows the table holds, or with `column.default` (a literal as a quoted string,
   * which every SQL engine converts to the column's type) when it has one: the value the source's rows took. A target that
   * cannot give its rows a default refuses with a FerryError. Nothing when the table has the
   * column already (a run stopped between adding it and keeping it). Without it, a column added
   * on the source stops following.
   */
  addColumn?(table: TargetTable, column: Column): Promise<void>;
  /**
   * For a target that keeps live changes beside the copy (object storage's change files):
   * writes each table as it is now as its new snapshot, and removes the changes it took in.
   * Without it, `ferry compact` is refused (the other targets apply changes in place).
   */
  compact?(tables: TargetTable[]): Promise<CompactResult[]>;
  /**
   * Takes the lock `name` on the target, without waiting, for one command at a time across
   * machines: a lock every runner of the plan sees (PostgreSQL: an advisory lock on a session
   * kept open for the command; MySQL: GET_LOCK on one; SQLite: a lock file beside the
   * database). It lives until released, or until its holder's process or connection is gone.
   * `me` is what a refused command is told. Without it, the pipeline locks the plan in the
   * state folder only (one machine, one state folder).
   */
  lock?(name: string, me: LockHolder): Promise<LockOutcome>;
  /**
   * The table a dry run writes its sample of `table` to. Every name the target creates for it
   * (tables, folders, indexes, keys) carries `suffix`, so nothing of the real table is touched;
   * tables that share storage share their scratch storage. Without it, the pipeline renames
   * the table, its indexes and its foreign keys with the suffix.
   */
  scratch?(table: TargetTable, suffix: string): TargetTable;
  /**
   * Sets each auto-increment counter of the table (target column names) to give at least the
   * value in `next` and more than the largest key the table holds (a cutover, so that the
   * application's inserts without a key succeed). Without it, cutover leaves counters as they are
   * and says so.
   */
  setSequences?(table: TargetTable, next: Record<string, bigint>): Promise<void>;
}

/** What a run will ask of an account, for Connector.privileges. */
export type PrivilegeNeeds =
  /** reads the tables (names as introspect reports them) */
  | { role: 'source'; tables: string[] }
  /** creates (or, by ifExists, drops or empties) and writes the tables, then their indexes and keys */
  | { role: 'target'; tables: TargetTable[]; ifExists: IfExists };

export interface Connector {
  readonly kind: string;
  readonly capabilities: Capabilities;
  /** version and name of the server, for reports */
  introspect(filter?: { tables?: string[] }): Promise<SchemaInfo>;
  /** the native type this engine would create for a canonical type */
  nativeType(t: CanonicalType): NativeTypeChoice;
  /** the canonical type of a native type as written in a plan ("numeric(10,2)") */
  canonicalType(native: string): CanonicalType;
  /**
   * Whether a native type is one of this engine's own that no canonical type describes
   * (PostgreSQL's inet, tsvector, ranges, …): its values travel as the engine's text for it. The
   * planner keeps such a type between two databases of this engine, and into another engine
   * stores that text (a finding says so). Without it, every native type has a canonical one.
   */
  ownType?(native: string): boolean;
  /**
   * Whether a native type is a large-object type: its values live outside the row (PostgreSQL's
   * lo and oid, references into pg_largeobject) or may take gigabytes (MySQL's longblob,
   * longtext). Assess lists such columns; without it an engine has none.
   */
  largeObject?(native: string): boolean;
  /** the Source side; absent for a connector that can only be written to (object stores, DynamoDB) */
  source?(): Source;
  /** the Target side; absent for a connector that can only be read from */
  target?(): Target;
  close(): Promise<void>;
  /**
   * Least privilege, checked before any write. As a source: a warning when the account can
   * write (a read-only account is safer), an error when it cannot read a table. As a target:
   * an error for each privilege the run needs and lacks, with the GRANT to run as the action.
   * Connectors without it are not checked.
   */
  privileges?(needs: PrivilegeNeeds): Promise<Finding[]>;
  /**
   * How many more connections this account may open on the server now (its connection limits
   * less the connections in use), for the run's bounds. Without it, connections are not limited.
   */
  connectionRoom?(): Promise<ConnectionRoom>;
  /**
   * Runs one statement of the application's in a read-only transaction (`ferry perf`), on the
   * source or the target alike. SQL engines have it; without it the pipeline refuses ("perf
   * needs a SQL target").
   */
  runQuery?(sql: string): Promise<QueryResult>;
  /** the engine's plan for a statement, as text (EXPLAIN); with runQuery */
  explain?(sql: string): Promise<string>;
  /**
   * The `limit` statements the engine's statistics rank costliest by total time (pg_stat_statements,
   * performance_schema digests), any kind; a FerryError saying how to turn the statistics on when
   * they are off. Without it, `ferry perf --from-stats` is refused for this source.
   */
  rankedStatements?(limit: number): Promise<RankedStatement[]>;
  /** the layouts `ferry plan --design` may ask of this target, the default first */
  readonly designs?: string[];
  /**
   * Target-specific content for a plan the planner has built (keys, layout, table and target
   * options), in the chosen design; for targets that take options. `measured` answers what the
   * planner asked of the data for this target (the empty values of key columns); `notes` are the
   * comments the plan writer puts beside what the proposal decided from it.
   */
  proposePlan?(plan: Plan, schema: SchemaInfo, design: string | undefined, measured: ProfileAnswers): Proposal;
}

/** A target's proposal for a plan (`Connector.proposePlan`). */
export interface Proposal {
  plan: Plan;
  notes: PlanNote[];
}

/** Room for more connections on a server (`Connector.connectionRoom`). */
export interface ConnectionRoom {
  /** the server ("PostgreSQL at host:port"): two endpoints on one server share its room */
  server: string;
  /** connections the account may still open */
  free: number;
  /** what limits it, for messages ("max_connections 100, 97 in use") */
  limit: string;
}

/** A query's answer, for `ferry perf`: its columns with their canonical types, its rows as canonical values. */
export interface QueryResult {
  columns: { name: string; type: CanonicalType }[];
  rows: unknown[][];
  /** how long the statement itself took, in milliseconds (not the transaction around it, nor the type lookups) */
  ms: number;
}

/** A statement the engine's own statistics rank among the costliest, for `ferry perf --from-stats`. */
export interface RankedStatement {
  /** as the statistics keep it: constants may be placeholders ($1, ?) */
  sql: string;
  calls: number;
  totalMs: number;
}

export interface ConnectorFactory {
  /** URL schemes this connector answers, without the colon */
  schemes: string[];
  connect(opts: ConnectOptions): Promise<Connector>;
}
