// Reads the schema of the connected database from information_schema (no table scans).
import type { Connection } from 'mysql2';
import type { Column, ForeignKey, IndexInfo, SchemaInfo, TableInfo } from '../../core/types.js';
import { run } from './session.js';
import { canonicalTypeOf } from './typemap.js';

export interface ServerInfo {
  version: string;
  mariadb: boolean;
}

const NUMERIC_TYPES = /^(tinyint|smallint|mediumint|int|bigint|decimal|float|double|bit|year)/;

/**
 * The default as a SQL expression. MariaDB reports it so already ('NULL' for a NULL default,
 * quoted literals); MySQL reports literals bare and marks expressions DEFAULT_GENERATED.
 */
function defaultExpr(raw: string | null, extra: string, columnType: string, server: ServerInfo): string | undefined {
  if (raw === null) return undefined;
  if (server.mariadb) return raw === 'NULL' ? undefined : raw;
  if (/DEFAULT_GENERATED/i.test(extra) || NUMERIC_TYPES.test(columnType)) return raw;
  return `'${raw.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

interface ColumnRow {
  tbl: string;
  name: string;
  columnType: string;
  nullable: string;
  dflt: string | null;
  extra: string;
  comment: string;
}

interface IndexRow {
  tbl: string;
  idx: string;
  nonUnique: number | string;
  col: string | null;
  subPart: number | string | null;
  indexType: string;
}

interface ForeignKeyRow {
  tbl: string;
  name: string;
  col: string;
  refSchema: string;
  refTable: string;
  refCol: string;
  pos: number;
}

interface ForeignKeyRuleRow {
  tbl: string;
  name: string;
  onUpdate: string;
  onDelete: string;
}

/** MariaDB stores json as longtext with a json_valid(`col`) check constraint. */
async function jsonColumns(conn: Connection, tables: string[] | undefined): Promise<Set<string>> {
  const out = new Set<string>();
  try {
    const rows = await run<{ tbl: string; clause: string }[]>(
      conn,
      `SELECT TABLE_NAME AS tbl, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()${tables ? ' AND TABLE_NAME IN (?)' : ''}`,
      tables ? [tables] : [],
    );
    for (const r of rows) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(r.clause.trim());
      if (m) out.add(`${r.tbl}\u0000${m[1]!.replace(/``/g, '`')}`);
    }
  } catch {
    // servers before MySQL 8.0.16 have no CHECK_CONSTRAINTS view, and no check constraints
  }
  return out;
}

export async function introspect(
  conn: Connection,
  server: ServerInfo,
  filter?: { tables?: string[] },
): Promise<SchemaInfo> {
  const only = filter?.tables?.length ? filter.tables : undefined;
  if (filter?.tables && !only)
    return { engine: server.mariadb ? 'mariadb' : 'mysql', version: server.version, tables: [] };
  const and = (col: string) => (only ? ` AND ${col} IN (?)` : '');
  const params = only ? [only] : [];
  const [tableRows, columnRows, indexRows, fkRows, fkRules, json] = await Promise.all([
    run<{ tbl: string; rowCount: number | string | null; bytes: number | string | null }[]>(
      conn,
      `SELECT TABLE_NAME AS tbl, TABLE_ROWS AS rowCount, DATA_LENGTH AS bytes FROM information_schema.TABLES
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')${and('TABLE_NAME')} ORDER BY TABLE_NAME`,
      params,
    ),
    run<ColumnRow[]>(
      conn,
      `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS dflt,
              EXTRA AS extra, COLUMN_COMMENT AS comment
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()${and('TABLE_NAME')} ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      params,
    ),
    run<IndexRow[]>(
      conn,
      `SELECT TABLE_NAME AS tbl, INDEX_NAME AS idx, NON_UNIQUE AS nonUnique, COLUMN_NAME AS col, SUB_PART AS subPart, INDEX_TYPE AS indexType
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()${and('TABLE_NAME')} ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
      params,
    ),
    run<ForeignKeyRow[]>(
      conn,
      `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, COLUMN_NAME AS col, REFERENCED_TABLE_SCHEMA AS refSchema,
              REFERENCED_TABLE_NAME AS refTable, REFERENCED_COLUMN_NAME AS refCol, ORDINAL_POSITION AS pos
       FROM information_schema.KEY_COLUMN_USAGE
       WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL${and('TABLE_NAME')}
       ORDER BY TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, ORDINAL_POSITION`,
      params,
    ),
    // a query of its own, not a join: joined, the server opens every database's tables to fill
    // REFERENTIAL_CONSTRAINTS (slow on a server of many databases; MariaDB 10.11 crashed doing
    // it while other databases were dropped)
    run<ForeignKeyRuleRow[]>(
      conn,
      `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, UPDATE_RULE AS onUpdate, DELETE_RULE AS onDelete
       FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()${and('TABLE_NAME')}`,
      params,
    ),
    jsonColumns(conn, only),
  ]);
  const database = (await run<{ db: string }[]>(conn, 'SELECT DATABASE() AS db'))[0]!.db;

  const tables = new Map<string, TableInfo>();
  for (const t of tableRows) {
    tables.set(t.tbl, {
      name: t.tbl,
      columns: [],
      primaryKey: [],
      uniqueKeys: [],
      indexes: [],
      foreignKeys: [],
      rowEstimate: Number(t.rowCount ?? 0),
      bytesEstimate: Number(t.bytes ?? 0),
    });
  }

  for (const c of columnRows) {
    const table = tables.get(c.tbl);
    if (!table) continue;
    const nativeType = json.has(`${c.tbl}\u0000${c.name}`) ? 'json' : c.columnType;
    const column: Column = {
      name: c.name,
      type: canonicalTypeOf(nativeType),
      nativeType,
      nullable: c.nullable === 'YES',
    };
    const dflt = defaultExpr(c.dflt, c.extra, c.columnType, server);
    if (dflt !== undefined) column.default = dflt;
    if (/auto_increment/i.test(c.extra)) column.autoIncrement = true;
    if (c.comment) column.comment = c.comment;
    table.columns.push(column);
  }

  const indexes = new Map<
    string,
    { table: TableInfo; name: string; unique: boolean; columns: string[]; expression?: string }
  >();
  for (const r of indexRows) {
    const table = tables.get(r.tbl);
    if (!table) continue;
    const id = `${r.tbl}\u0000${r.idx}`;
    let idx = indexes.get(id);
    if (!idx) {
      idx = { table, name: r.idx, unique: Number(r.nonUnique) === 0, columns: [] };
      indexes.set(id, idx);
    }
    if (r.col === null) idx.expression = 'functional index';
    else {
      idx.columns.push(r.col);
      if (r.subPart !== null)
        idx.expression = `${idx.expression ? idx.expression + ', ' : ''}prefix of ${r.subPart} on ${r.col}`;
    }
    if (/^(FULLTEXT|SPATIAL)$/i.test(r.indexType)) idx.expression = `${r.indexType.toLowerCase()} index`;
  }
  for (const idx of indexes.values()) {
    if (idx.name === 'PRIMARY') idx.table.primaryKey = idx.columns;
    else if (idx.unique && !idx.expression) idx.table.uniqueKeys.push(idx.columns);
    else {
      const info: IndexInfo = { name: idx.name, columns: idx.columns, unique: idx.unique };
      if (idx.expression) info.expression = idx.expression;
      idx.table.indexes.push(info);
    }
  }

  const rules = new Map(fkRules.map((r) => [`${r.tbl}\u0000${r.name}`, r]));
  const fks = new Map<string, ForeignKey>();
  for (const r of fkRows) {
    const table = tables.get(r.tbl);
    if (!table) continue;
    const id = `${r.tbl}\u0000${r.name}`;
    // information_schema cuts names to 64 characters: the keys MariaDB names <table>_ibfk_<n>
    // after a long table name share one name there, told apart by the table they refer to
    const group = `${id}\u0000${r.refSchema}\u0000${r.refTable}`;
    let fk = fks.get(group);
    if (!fk || Number(r.pos) === 1) {
      const same = table.foreignKeys.filter((f) => f.name === r.name || f.name.startsWith(`${r.name} (`)).length;
      fk = {
        name: same === 0 ? r.name : `${r.name} (${same + 1})`,
        columns: [],
        refTable: r.refSchema === database ? r.refTable : `${r.refSchema}.${r.refTable}`,
        refColumns: [],
        onDelete: rules.get(id)?.onDelete ?? 'RESTRICT',
        onUpdate: rules.get(id)?.onUpdate ?? 'RESTRICT',
      };
      fks.set(group, fk);
      table.foreignKeys.push(fk);
    }
    fk.columns.push(r.col);
    fk.refColumns.push(r.refCol);
  }

  return { engine: server.mariadb ? 'mariadb' : 'mysql', version: server.version, tables: [...tables.values()] };
}
