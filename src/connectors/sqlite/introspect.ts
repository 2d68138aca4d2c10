// The schema of a SQLite database, from sqlite_schema and the table-valued PRAGMA functions.
import { FerryError } from '../../core/errors.js';
import type { Column, ForeignKey, IndexInfo, SchemaInfo, TableInfo } from '../../core/types.js';
import type { Db } from './db.js';
import { ident } from './sql.js';
import { canonicalType } from './typemap.js';

// dbstat walks every page of a table; past this size the file size is apportioned instead
const DBSTAT_MAX_BYTES = 1024 * 1024 * 1024;

interface ColumnRow {
  name: string;
  type: string;
  notnull: bigint;
  dflt_value: string | null;
  pk: bigint;
  hidden: bigint;
}

interface ForeignKeyRow {
  id: bigint;
  table: string;
  from: string;
  to: string | null;
  on_update: string;
  on_delete: string;
}

function primaryKeyOf(columns: ColumnRow[]): string[] {
  return columns
    .filter((c) => c.pk > 0n)
    .sort((a, b) => Number(a.pk - b.pk))
    .map((c) => c.name);
}

function columnRows(db: Db, table: string): ColumnRow[] {
  return db
    .prepare('SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid')
    .all(table) as ColumnRow[];
}

/** The foreign keys declared on a table, in declaration order. */
export function foreignKeysOf(db: Db, table: string): ForeignKey[] {
  const rows = db
    .prepare(
      'SELECT id, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id DESC, seq',
    )
    .all(table) as ForeignKeyRow[];
  const byId = new Map<bigint, ForeignKeyRow[]>();
  for (const r of rows) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  return [...byId.values()].map((parts) => {
    const first = parts[0]!;
    const columns = parts.map((p) => p.from);
    // "REFERENCES parent" without columns means the parent's primary key
    const refColumns = parts.some((p) => p.to === null)
      ? primaryKeyOf(columnRows(db, first.table))
      : parts.map((p) => p.to!);
    const fk: ForeignKey = { name: `${table}_${columns.join('_')}_fkey`, columns, refTable: first.table, refColumns };
    if (first.on_delete !== 'NO ACTION') fk.onDelete = first.on_delete;
    if (first.on_update !== 'NO ACTION') fk.onUpdate = first.on_update;
    return fk;
  });
}

function indexesOf(db: Db, table: string): { uniqueKeys: string[][]; indexes: IndexInfo[] } {
  const uniqueKeys: string[][] = [];
  const indexes: IndexInfo[] = [];
  const list = db
    .prepare('SELECT name, "unique", origin, partial FROM pragma_index_list(?) ORDER BY seq DESC')
    .all(table) as { name: string; unique: bigint; origin: string; partial: bigint }[];
  for (const ix of list) {
    if (ix.origin === 'pk') continue;
    const parts = db
      .prepare('SELECT cid, name FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno')
      .all(ix.name) as { cid: bigint; name: string | null }[];
    const columns = parts.flatMap((p) => (p.name === null ? [] : [p.name]));
    const unique = ix.unique === 1n;
    if (ix.partial === 1n || parts.some((p) => p.cid === -2n)) {
      const sql = db
        .prepare("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?")
        .pluck()
        .get(ix.name) as string;
      indexes.push({ name: ix.name, columns, unique, expression: sql });
    } else if (unique) uniqueKeys.push(columns);
    else indexes.push({ name: ix.name, columns, unique: false });
  }
  return { uniqueKeys, indexes };
}

/** Row counts from sqlite_stat1 where ANALYZE left them, else count(*) (a local scan). */
function rowCount(db: Db, table: string, hasStats: boolean): number {
  if (hasStats) {
    const stat = db.prepare('SELECT stat FROM sqlite_stat1 WHERE tbl = ? LIMIT 1').pluck().get(table) as
      string | undefined;
    if (stat !== undefined) return Number(stat.split(' ')[0]);
  }
  return Number(
    db
      .prepare(`SELECT count(*) FROM ${ident(table)}`)
      .pluck()
      .get(),
  );
}

/** Bytes of each table's b-tree: dbstat on databases of moderate size, else the file size shared by row count. */
function tableBytes(db: Db, rows: Map<string, number>): Map<string, number> {
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  const total = pageSize * Number(db.pragma('page_count', { simple: true }));
  const bytes = new Map<string, number>();
  if (total <= DBSTAT_MAX_BYTES) {
    try {
      const stmt = db.prepare('SELECT sum(pgsize) FROM dbstat WHERE name = ? AND aggregate = TRUE').pluck();
      for (const name of rows.keys()) bytes.set(name, Number(stmt.get(name) ?? pageSize));
      return bytes;
    } catch {
      // SQLite built without dbstat: apportion below
    }
  }
  const allRows = [...rows.values()].reduce((a, b) => a + b, 0);
  for (const [name, n] of rows)
    bytes.set(name, Math.max(pageSize, allRows === 0 ? 0 : Math.round((total * n) / allRows)));
  return bytes;
}

function describeTable(
  db: Db,
  name: string,
  withoutRowid: boolean,
  rowEstimate: number,
  bytesEstimate: number,
): TableInfo {
  const rows = columnRows(db, name);
  const primaryKey = primaryKeyOf(rows);
  const pkRow = primaryKey.length === 1 ? rows.find((r) => r.name === primaryKey[0]) : undefined;
  // INTEGER PRIMARY KEY is the rowid: never NULL, and assigned when an insert leaves it out
  const rowidKey = !withoutRowid && pkRow?.type.toUpperCase() === 'INTEGER' ? pkRow : undefined;
  const columns: Column[] = rows
    .filter((r) => r.hidden !== 1n)
    .map((r) => {
      const column: Column = {
        name: r.name,
        type: canonicalType(r.type),
        nativeType: r.type,
        nullable: r.notnull === 0n && r !== rowidKey && !(withoutRowid && r.pk > 0n),
      };
      if (r.dflt_value !== null) column.default = r.dflt_value;
      if (r === rowidKey) column.autoIncrement = true;
      return column;
    });
  return {
    name,
    columns,
    primaryKey,
    ...indexesOf(db, name),
    foreignKeys: foreignKeysOf(db, name),
    rowEstimate,
    bytesEstimate,
  };
}

export function introspectDb(db: Db, path: string, filter?: { tables?: string[] }): SchemaInfo {
  const version = String(db.prepare('SELECT sqlite_version()').pluck().get());
  const listed = db
    .prepare(
      "SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .all() as { name: string; wr: bigint }[];
  const chosen = filter?.tables
    ? filter.tables.map((wanted) => {
        const found =
          listed.find((t) => t.name === wanted) ?? listed.find((t) => t.name.toLowerCase() === wanted.toLowerCase());
        if (!found)
          throw new FerryError(
            'TABLE_NOT_FOUND',
            `table ${wanted} does not exist in SQLite database ${path}`,
            'check the table name in the plan',
          );
        return found;
      })
    : listed;
  const hasStats = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").get() !== undefined;
  const rows = new Map(chosen.map((t) => [t.name, rowCount(db, t.name, hasStats)]));
  const bytes = tableBytes(db, rows);
  return {
    engine: 'sqlite',
    version: `SQLite ${version}`,
    tables: chosen.map((t) => describeTable(db, t.name, t.wr === 1n, rows.get(t.name)!, bytes.get(t.name)!)),
  };
}
