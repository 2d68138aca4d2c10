// Tables, columns, keys, indexes and foreign keys from the catalog, in a fixed number of
// queries however many tables there are. Partitioned tables are reported once, through
// their parent; views, partitions, system and extension tables are left out.
import type pg from 'pg';
import type { Column, ForeignKey, IndexInfo, SchemaInfo, TableInfo } from '../../core/types.js';
import { describeNative, enumNative } from './typemap.js';
import { reportedName } from './sql.js';
import { FAMILY_BY_TYPNAME, type Family } from './wire.js';

/** A column as the catalog describes it, with domains resolved to their base types. */
export interface CatalogColumn {
  relid: number;
  name: string;
  notNull: boolean;
  default: string | null;
  /** identity, or a sequence owned by the column (serial) */
  autoIncrement: boolean;
  /** format_type of the base type */
  baseFormat: string;
  baseOid: number;
  baseTypname: string;
  baseTyptype: string;
  isArray: boolean;
  elemOid: number;
  elemTypname: string | null;
  elemTyptype: string | null;
  elemBaseFormat: string | null;
  labels: string[] | null;
}

// Domains are followed to their base type (the innermost domain carries the type modifier);
// array elements are resolved one level (an enum, or a domain over a base type).
const COLUMNS_SQL = `
WITH RECURSIVE chain AS (
  SELECT a.attrelid, a.attnum, a.atttypid AS typid, a.atttypmod AS typmod, 0 AS depth
  FROM pg_attribute a
  WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT c.attrelid, c.attnum, t.typbasetype, t.typtypmod, c.depth + 1
  FROM chain c JOIN pg_type t ON t.oid = c.typid
  WHERE t.typtype = 'd'
), base AS (
  SELECT DISTINCT ON (attrelid, attnum) attrelid, attnum, typid, typmod
  FROM chain ORDER BY attrelid, attnum, depth DESC
)
SELECT a.attrelid::int8 AS relid, a.attname AS name, a.attnotnull AS not_null,
  CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default,
  a.attidentity <> '' OR EXISTS (
    SELECT 1 FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
    WHERE dep.classid = 'pg_class'::regclass AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype IN ('a', 'i')
  ) AS auto_increment,
  format_type(b.typid, b.typmod) AS base_format, b.typid::int8 AS base_oid,
  t.typname AS base_typname, t.typtype AS base_typtype, t.typcategory = 'A' AS is_array,
  t.typelem::int8 AS elem_oid, e.typname AS elem_typname, e.typtype AS elem_typtype,
  CASE WHEN e.typtype = 'd' THEN format_type(e.typbasetype, e.typtypmod) END AS elem_base_format,
  eb.typname AS elem_base_typname,
  (SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum
    WHERE enumtypid = CASE WHEN t.typtype = 'e' THEN t.oid WHEN e.typtype = 'e' THEN e.oid END) AS labels
FROM pg_attribute a
JOIN base b ON b.attrelid = a.attrelid AND b.attnum = a.attnum
JOIN pg_type t ON t.oid = b.typid
LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
LEFT JOIN pg_type eb ON eb.oid = e.typbasetype
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
ORDER BY a.attrelid, a.attnum`;

interface ColumnRow {
  relid: string;
  name: string;
  not_null: boolean;
  default: string | null;
  auto_increment: boolean;
  base_format: string;
  base_oid: string;
  base_typname: string;
  base_typtype: string;
  is_array: boolean;
  elem_oid: string;
  elem_typname: string | null;
  elem_typtype: string | null;
  elem_base_format: string | null;
  elem_base_typname: string | null;
  labels: string[] | null;
}

export async function catalogColumns(client: pg.ClientBase, relids: number[]): Promise<CatalogColumn[]> {
  const { rows } = await client.query<ColumnRow>(COLUMNS_SQL, [relids]);
  return rows.map((r) => ({
    relid: Number(r.relid),
    name: r.name,
    notNull: r.not_null,
    default: r.default,
    autoIncrement: r.auto_increment,
    baseFormat: r.base_format,
    baseOid: Number(r.base_oid),
    baseTypname: r.base_typname,
    baseTyptype: r.base_typtype,
    isArray: r.is_array,
    elemOid: Number(r.elem_oid),
    elemTypname: r.elem_typtype === 'd' ? r.elem_base_typname : r.elem_typname,
    elemTyptype: r.elem_typtype,
    elemBaseFormat: r.elem_base_format,
    labels: r.labels,
  }));
}

/** The native type ferry reports: enums as their value list, domains as their base type. */
export function nativeOf(c: CatalogColumn): string {
  if (c.baseTyptype === 'e') return enumNative(c.labels ?? []);
  if (c.isArray && c.elemTyptype === 'e') return `${enumNative(c.labels ?? [])}[]`;
  if (c.isArray && c.elemBaseFormat) return `${c.elemBaseFormat}[]`;
  return c.baseFormat;
}

/** The binary family of a live column, or undefined when ferry has no binary codec for it. */
export function liveFamily(c: CatalogColumn): Family | undefined {
  if (c.baseTyptype === 'e') return 'text';
  if (c.isArray) {
    const element = c.elemTyptype === 'e' ? 'text' : c.elemTypname ? FAMILY_BY_TYPNAME[c.elemTypname] : undefined;
    return element && `array:${element}`;
  }
  return FAMILY_BY_TYPNAME[c.baseTypname];
}

const TABLES_SQL = `
SELECT c.oid::int8 AS relid, n.nspname AS schema, c.relname AS name,
  (SELECT coalesce(sum(CASE WHEN pc.reltuples >= 0 THEN pc.reltuples ELSE coalesce(st.n_live_tup, 0) END), 0)::int8
   FROM pg_class pc LEFT JOIN pg_stat_user_tables st ON st.relid = pc.oid
   WHERE pc.oid = c.oid AND c.relkind = 'r'
      OR pc.oid IN (SELECT relid FROM pg_partition_tree(c.oid) WHERE isleaf) AND c.relkind = 'p') AS rows,
  CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree(c.oid))
       ELSE pg_total_relation_size(c.oid) END::int8 AS bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname`;

// constraints of the tables, and the foreign keys declared on the leaf partitions of partitioned tables
const CONSTRAINTS_SQL = `
WITH owners AS (
  SELECT o.oid AS relid, o.oid AS owner FROM unnest($1::oid[]) o(oid)
  UNION ALL
  SELECT p.oid, t.relid FROM unnest($1::oid[]) p(oid) CROSS JOIN LATERAL pg_partition_tree(p.oid) t
  WHERE t.isleaf AND t.relid <> p.oid
)
SELECT ow.relid::int8 AS relid, ow.owner <> ow.relid AS on_leaf, oc.relname AS owner_name, pc.relname AS table_name,
  con.conname AS name, con.contype AS type,
  ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
  rn.nspname AS ref_schema, rc.relname AS ref_table,
  ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns,
  con.confupdtype AS on_update, con.confdeltype AS on_delete
FROM owners ow
JOIN pg_constraint con ON con.conrelid = ow.owner
JOIN pg_class oc ON oc.oid = ow.owner
JOIN pg_class pc ON pc.oid = ow.relid
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'u', 'f') AND con.conparentid = 0 AND (ow.owner = ow.relid OR con.contype = 'f')
ORDER BY ow.relid, con.conname`;

interface ConstraintRow {
  relid: string;
  on_leaf: boolean;
  owner_name: string;
  table_name: string;
  name: string;
  type: string;
  columns: string[];
  ref_schema: string | null;
  ref_table: string | null;
  ref_columns: string[];
  on_update: string;
  on_delete: string;
}

// indexes that back no primary key, unique or exclusion constraint of their table
const INDEXES_SQL = `
SELECT i.indrelid::int8 AS relid, ic.relname AS name, i.indisunique AS unique,
  ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE k.ord <= i.indnkeyatts ORDER BY k.ord) AS columns,
  CASE WHEN i.indexprs IS NOT NULL OR i.indpred IS NOT NULL OR am.amname <> 'btree' THEN pg_get_indexdef(i.indexrelid) END AS expression
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
WHERE i.indrelid = ANY($1::oid[]) AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY i.indrelid, ic.relname`;

const FK_ACTIONS: Record<string, string | undefined> = {
  a: undefined,
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

function foreignKeyOf(c: ConstraintRow, defaultSchema: string): ForeignKey {
  const fk: ForeignKey = {
    name: c.name,
    columns: c.columns,
    refTable: reportedName(c.ref_schema!, c.ref_table!, defaultSchema),
    refColumns: c.ref_columns,
  };
  const onDelete = FK_ACTIONS[c.on_delete];
  const onUpdate = FK_ACTIONS[c.on_update];
  if (onDelete) fk.onDelete = onDelete;
  if (onUpdate) fk.onUpdate = onUpdate;
  return fk;
}

/**
 * Foreign keys declared on the leaf partitions of a partitioned table (Pagila's payment) are
 * the table's, named without the partition's name. One missing on some partition is kept
 * too: the target table is one table, and rows that break it fail addForeignKeys by name.
 */
function leafForeignKeys(own: ConstraintRow[], defaultSchema: string): ForeignKey[] {
  const firstOfEach = new Map<string, ConstraintRow>();
  for (const c of own) {
    if (!c.on_leaf || c.type !== 'f') continue;
    const key = JSON.stringify([c.columns, c.ref_schema, c.ref_table, c.ref_columns, c.on_update, c.on_delete]);
    if (!firstOfEach.has(key)) firstOfEach.set(key, c);
  }
  return [...firstOfEach.values()].map((c) => {
    const name = c.name.startsWith(c.owner_name) ? c.table_name + c.name.slice(c.owner_name.length) : c.name;
    return foreignKeyOf({ ...c, name }, defaultSchema);
  });
}

function byTable<T>(rows: T[], relid: (row: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const r of rows) {
    const list = out.get(relid(r));
    if (list) list.push(r);
    else out.set(relid(r), [r]);
  }
  return out;
}

export async function introspect(
  client: pg.ClientBase,
  defaultSchema: string,
  filter?: { tables?: string[] },
): Promise<SchemaInfo> {
  const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  const all = (
    await client.query<{ relid: string; schema: string; name: string; rows: string; bytes: string }>(TABLES_SQL)
  ).rows;
  const wanted = filter?.tables ? new Set(filter.tables) : undefined;
  const selected = all
    .map((t) => ({ ...t, reported: reportedName(t.schema, t.name, defaultSchema) }))
    .filter((t) => !wanted || wanted.has(t.reported));
  const relids = selected.map((t) => Number(t.relid));
  const columns = byTable(await catalogColumns(client, relids), (c) => c.relid);
  const constraints = byTable((await client.query<ConstraintRow>(CONSTRAINTS_SQL, [relids])).rows, (c) =>
    Number(c.relid),
  );
  const indexes = byTable(
    (
      await client.query<{
        relid: string;
        name: string;
        unique: boolean;
        columns: string[];
        expression: string | null;
      }>(INDEXES_SQL, [relids])
    ).rows,
    (i) => Number(i.relid),
  );
  const tables: TableInfo[] = selected.map((t) => {
    const relid = Number(t.relid);
    const own = constraints.get(relid) ?? [];
    const cols: Column[] = (columns.get(relid) ?? []).map((c) => {
      const nativeType = nativeOf(c);
      const col: Column = { name: c.name, type: describeNative(nativeType).type, nativeType, nullable: !c.notNull };
      // a serial column's sequence need not be owned by it (Pagila's are not): a nextval() default counts too
      if (c.autoIncrement || /^nextval\(/i.test(c.default ?? '')) col.autoIncrement = true;
      else if (c.default !== null) col.default = c.default;
      return col;
    });
    const foreignKeys = [
      ...own.filter((c) => c.type === 'f' && !c.on_leaf).map((c) => foreignKeyOf(c, defaultSchema)),
      ...leafForeignKeys(own, defaultSchema),
    ];
    const tableIndexes: IndexInfo[] = (indexes.get(relid) ?? []).map((i) =>
      i.expression
        ? { name: i.name, columns: i.columns, unique: i.unique, expression: i.expression }
        : { name: i.name, columns: i.columns, unique: i.unique },
    );
    return {
      name: t.reported,
      columns: cols,
      primaryKey: own.find((c) => c.type === 'p')?.columns ?? [],
      uniqueKeys: own.filter((c) => c.type === 'u').map((c) => c.columns),
      indexes: tableIndexes,
      foreignKeys,
      rowEstimate: Number(t.rows),
      bytesEstimate: Number(t.bytes),
    };
  });
  return { engine: 'postgres', version, tables };
}
