// The SQLite target: tables created with types that keep canonical values exactly, chunks
// written as multi-row INSERTs in one transaction, keys and foreign keys after the data.
import type {
  AppliedChange,
  ChunkWrite,
  IfExists,
  LockHolder,
  LockOutcome,
  Reject,
  Target,
  TargetTable,
  WriteResult,
} from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { writeIsolated } from '../../core/isolate.js';
import { takeLockFile } from '../../core/lock-file.js';
import type { Logger } from '../../core/log.js';
import type { Column, Finding, KeyRange, RowBatch } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import { SqliteApply } from './apply.js';
import { toFerryError, type Connections, type Db, Serial } from './db.js';
import { Inserter } from './insert.js';
import { foreignKeysOf } from './introspect.js';
import { countRows, readRows } from './read.js';
import { columnSql, createTableSql, ident, identList, rangeFilter, rowidKeyColumn, type TableSpec } from './sql.js';
import { affinity, affinityLoss, nativeType } from './typemap.js';

const ISOLATE_GROUP_ROWS = 100;

const specOf = (table: TargetTable): TableSpec => ({ name: table.name, columns: table.columns, key: table.key });

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

/** An index name of its own: SQLite's index names are per database, other engines' per table. */
function indexName(db: Db, table: string, wanted: string): string {
  const owner = db.prepare('SELECT type, tbl_name FROM sqlite_schema WHERE name = ? COLLATE NOCASE').get(wanted) as
    { type: string; tbl_name: string } | undefined;
  return !owner || (owner.type === 'index' && owner.tbl_name.toLowerCase() === table.toLowerCase())
    ? wanted
    : `${table}_${wanted}`;
}

function createIndex(db: Db, table: string, name: string, columns: string[], unique: boolean): void {
  db.exec(
    `CREATE ${unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${ident(indexName(db, table, name))} ON ${ident(table)} (${identList(columns)})`,
  );
}

export class SqliteTarget implements Target {
  private readonly writes = new Serial();
  private readonly changes = new SqliteApply();

  constructor(
    private readonly conns: Connections,
    private readonly log: Logger,
  ) {}

  /** A lock file beside the database (a private in-memory database has no other writer). */
  async lock(name: string, me: LockHolder): Promise<LockOutcome> {
    if (this.conns.memory) return { lease: { release: async () => {} } };
    // the folder a run would make for the database: the lock is beside where it will be
    this.conns.makeFolder();
    return takeLockFile(`${this.conns.path}.${name}.lock`, me, {
      what: `SQLite database ${this.conns.path}`,
      elsewhere: 'put the database in a folder this user may write',
    });
  }

  async check(tables: TargetTable[]): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const t of tables) {
      const rowidKey = rowidKeyColumn(t);
      if (rowidKey && rowidKey.nativeType.toUpperCase() !== 'INTEGER')
        findings.push({
          severity: 'info',
          code: 'SQLITE_ROWID_KEY',
          table: t.name,
          column: rowidKey.name,
          message: `SQLite generates keys only for an INTEGER PRIMARY KEY, so auto-increment column ${rowidKey.name} becomes INTEGER (int64) instead of ${rowidKey.nativeType}${formatType(rowidKey.type) === 'uint64' ? ' (keys past 9223372036854775807 are refused)' : ''}`,
          action: `set the column's type to int64 in the plan to make this explicit`,
        });
      for (const c of t.columns) {
        if (c === rowidKey) continue;
        const a = affinity(c.nativeType);
        const loss = affinityLoss(c.type, a);
        if (loss)
          findings.push({
            severity: 'warning',
            code: 'SQLITE_AFFINITY',
            table: t.name,
            column: c.name,
            message: `SQLite gives the declared type "${c.nativeType}" ${a} affinity, and for ${formatType(c.type)} values ${loss}`,
            action: `use the native type "${nativeType(c.type)}" for this column in the plan`,
          });
      }
    }
    return findings;
  }

  prepare(table: TargetTable, ifExists: IfExists): Promise<void> {
    return this.writes.run(async () => {
      const db = this.conns.write();
      try {
        const existing = db
          .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE")
          .pluck()
          .get(table.name) as string | undefined;
        if (existing !== undefined && ifExists === 'fail')
          throw new FerryError(
            'TABLE_EXISTS',
            `table ${existing} already exists in SQLite database ${this.conns.path}`,
            'set target.ifExists to drop or truncate in the plan',
          );
        db.transaction(() => {
          if (existing !== undefined && ifExists === 'truncate') {
            db.exec(`DELETE FROM ${ident(existing)}`);
            return;
          }
          if (existing !== undefined) db.exec(`DROP TABLE ${ident(existing)}`);
          db.exec(
            createTableSql(table, table.name, (c) =>
              this.log.warn(
                { table: table.name, column: c.name, default: c.default },
                'SQLite target: column default is not a literal SQLite can take; it is left out',
              ),
            ),
          );
        }).immediate();
      } catch (err) {
        throw toFerryError(err, 'WRITE_FAILED', `creating table ${table.name}`);
      }
    });
  }

  writeChunk(chunk: ChunkWrite, batches: AsyncIterable<RowBatch>): Promise<WriteResult> {
    const { table, range, replace, isolate } = chunk;
    return this.writes.run(async () => {
      const db = this.conns.write();
      try {
        const inserter = new Inserter(db, table);
        db.exec('BEGIN IMMEDIATE');
        if (replace) {
          const filter = rangeFilter(specOf(table), range);
          db.prepare(`DELETE FROM ${ident(table.name)}${filter.sql}`).run(filter.params);
        }
        let rows = 0;
        const rejects: Reject[] = [];
        for await (const batch of batches) {
          if (!isolate) {
            inserter.insert(batch.rows);
            rows += batch.rows.length;
            continue;
          }
          const refused = await writeIsolated(
            batch.rows,
            ISOLATE_GROUP_ROWS,
            async (group) => inserter.insertOrUndo(group),
            firstLine,
          );
          rows += batch.rows.length - refused.length;
          for (const r of refused) rejects.push(r);
        }
        db.exec('COMMIT');
        return { rows, rejects };
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw toFerryError(err, 'WRITE_FAILED', `writing table ${table.name}`);
      }
    });
  }

  /**
   * Unique keys and indexes. Counters need nothing: an INTEGER PRIMARY KEY continues after the
   * largest key, and AUTOINCREMENT's sqlite_sequence follows every key inserted.
   */
  finishTable(table: TargetTable): Promise<void> {
    return this.writes.run(async () => {
      const db = this.conns.write();
      try {
        db.transaction(() => {
          for (const columns of table.uniqueKeys)
            createIndex(db, table.name, `${table.name}_${columns.join('_')}_key`, columns, true);
          for (const ix of table.indexes) {
            if (ix.expression)
              this.log.warn(
                { table: table.name, index: ix.name, expression: ix.expression },
                'SQLite target: expression or partial index is not carried over',
              );
            else createIndex(db, table.name, ix.name, ix.columns, ix.unique);
          }
        }).immediate();
      } catch (err) {
        throw toFerryError(err, 'WRITE_FAILED', `creating the indexes of table ${table.name}`);
      }
    });
  }

  /**
   * prepare() declared the foreign keys already (SQLite cannot add one to an existing table
   * without rebuilding it); this checks the data against them, and rebuilds the table when a
   * foreign key is missing from its declaration.
   */
  addForeignKeys(table: TargetTable): Promise<void> {
    return this.writes.run(async () => {
      if (table.foreignKeys.length === 0) return;
      const db = this.conns.write();
      let violations: { parent: string; rows: bigint }[];
      try {
        const declared = foreignKeysOf(db, table.name);
        const isDeclared = (fk: TargetTable['foreignKeys'][number]) =>
          declared.some(
            (d) =>
              d.refTable.toLowerCase() === fk.refTable.toLowerCase() &&
              d.columns.join() === fk.columns.join() &&
              d.refColumns.join() === fk.refColumns.join(),
          );
        if (!table.foreignKeys.every(isDeclared)) this.rebuild(db, table);
        // a key added NOT VALID holds for rows written later: the rows there now are not checked
        const columnsOf = new Map<number, string>();
        for (const k of db
          .prepare('SELECT id, "from" AS col FROM pragma_foreign_key_list(?) ORDER BY id, seq')
          .all(table.name) as { id: number; col: string }[])
          columnsOf.set(k.id, columnsOf.has(k.id) ? `${columnsOf.get(k.id)},${k.col}` : k.col);
        const unchecked = (parent: string, fkid: number) =>
          table.foreignKeys.some(
            (fk) =>
              fk.notValid &&
              fk.refTable.toLowerCase() === parent.toLowerCase() &&
              fk.columns.join() === columnsOf.get(fkid),
          );
        violations = (
          db
            .prepare('SELECT parent, fkid, count(*) AS rows FROM pragma_foreign_key_check(?) GROUP BY parent, fkid')
            .all(table.name) as { parent: string; fkid: number; rows: bigint }[]
        ).filter((v) => !unchecked(v.parent, v.fkid));
      } catch (err) {
        throw toFerryError(err, 'WRITE_FAILED', `adding the foreign keys of table ${table.name}`);
      }
      if (violations.length > 0) {
        const which = violations.map((v) => `${v.rows} rows refer to rows missing from ${v.parent}`).join('; ');
        throw new FerryError(
          'WRITE_FAILED',
          `foreign keys of table ${table.name} do not hold: ${which}`,
          'copy the missing parent rows, or remove the foreign key from the plan',
        );
      }
    });
  }

  /** SQLite's way to change a table's definition: create the new one, copy, drop, rename. */
  private rebuild(db: Db, table: TargetTable): void {
    db.transaction(() => {
      const dependents = db
        .prepare(
          "SELECT sql FROM sqlite_schema WHERE tbl_name = ? COLLATE NOCASE AND type IN ('index', 'trigger') AND sql IS NOT NULL",
        )
        .pluck()
        .all(table.name) as string[];
      const rebuilt = `${table.name}_ferry_rebuild`;
      const columns = identList(table.columns.map((c) => c.name));
      db.exec(`DROP TABLE IF EXISTS ${ident(rebuilt)}`);
      // defaults SQLite cannot take were reported when the table was prepared
      db.exec(createTableSql(table, rebuilt, () => undefined));
      db.exec(`INSERT INTO ${ident(rebuilt)} (${columns}) SELECT ${columns} FROM ${ident(table.name)}`);
      db.exec(`DROP TABLE ${ident(table.name)}`);
      db.exec(`ALTER TABLE ${ident(rebuilt)} RENAME TO ${ident(table.name)}`);
      for (const sql of dependents) db.exec(sql);
    }).immediate();
  }

  async *readBack(table: TargetTable, range: KeyRange, batchRows: number): AsyncIterable<RowBatch> {
    // on a connection of its own: a statement iterating keeps its connection busy, and other
    // reads (introspect as the next table is prepared, counts) go on meanwhile
    const db = this.conns.openView();
    try {
      yield* readRows(db, specOf(table), range, batchRows);
    } finally {
      this.conns.closeView(db);
    }
  }

  async count(table: TargetTable, range: KeyRange): Promise<number> {
    return countRows(this.conns.read(), specOf(table), range);
  }

  applyChanges(changes: AppliedChange[], stream: string, position: string): Promise<void> {
    return this.writes.run(async () => this.changes.applyChanges(this.conns.write(), changes, stream, position));
  }

  /** ALTER TABLE … ADD COLUMN; a literal default is what the rows the table holds read (as the source's do). */
  addColumn(table: TargetTable, column: Column): Promise<void> {
    return this.writes.run(async () => {
      const db = this.conns.write();
      try {
        const has = db
          .prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ? COLLATE NOCASE')
          .get(table.name, column.name);
        if (has !== undefined) return;
        db.exec(
          `ALTER TABLE ${ident(table.name)} ADD COLUMN ${columnSql(column, () => {
            throw new FerryError(
              'UNSUPPORTED',
              `column ${column.name} has the default ${column.default}, which SQLite cannot take`,
              'add the column without a default on the source, then set its values with an UPDATE',
            );
          })}`,
        );
      } catch (err) {
        throw toFerryError(err, 'WRITE_FAILED', `adding column ${column.name} to ${table.name}`);
      }
    });
  }

  async appliedPosition(stream: string): Promise<string | undefined> {
    let db: Db;
    try {
      db = this.conns.read();
    } catch (err) {
      // reading creates no file: a database not made yet has no position
      if (err instanceof FerryError && err.code === 'DATABASE_NOT_FOUND') return undefined;
      throw err;
    }
    return this.changes.appliedPosition(db, stream);
  }

  drop(table: TargetTable): Promise<void> {
    return this.writes.run(async () => {
      try {
        this.conns.write().exec(`DROP TABLE IF EXISTS ${ident(table.name)}`);
      } catch (err) {
        throw toFerryError(err, 'WRITE_FAILED', `dropping table ${table.name}`);
      }
    });
  }
}
