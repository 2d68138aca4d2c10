// Least privilege: what the account may do, from the catalog's privilege functions, against
// what a run needs. A source account that can write is a warning; a target privilege the run
// needs and lacks is an error whose action is the GRANT to run.
import type pg from 'pg';
import type { IfExists, PrivilegeNeeds, TargetTable } from '../../core/contracts.js';
import type { Finding } from '../../core/types.js';
import { quoteIdent, tableRef, type TableRef } from './sql.js';

interface Account {
  user: string;
  superuser: boolean;
  database: string;
  createSchemas: boolean;
}

interface TableRights {
  exists: boolean;
  owner: boolean;
  select: boolean;
  insert: boolean;
  update: boolean;
  delete: boolean;
  truncate: boolean;
  references: boolean;
}

interface SchemaRights {
  exists: boolean;
  usage: boolean;
  create: boolean;
}

/** Table privileges that change data. */
const WRITES = ['insert', 'update', 'delete', 'truncate'] as const;
/** How many table names a message lists before "…". */
const NAMES_SHOWN = 5;

async function account(client: pg.ClientBase): Promise<Account> {
  const r = await client.query<Account>(
    `SELECT current_user AS "user", r.rolsuper AS superuser, current_database() AS database, has_database_privilege(current_database(), 'CREATE') AS "createSchemas"
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  return r.rows[0]!;
}

/** Rights of the current user on each table (column-level grants count for reading and writing). */
async function tableRights(client: pg.ClientBase, refs: TableRef[]): Promise<TableRights[]> {
  const r = await client.query<TableRights>(
    `SELECT c.oid IS NOT NULL AS exists,
            coalesce(pg_has_role(c.relowner, 'USAGE'), false) AS owner,
            coalesce(has_any_column_privilege(c.oid, 'SELECT'), false) AS select,
            coalesce(has_any_column_privilege(c.oid, 'INSERT'), false) AS insert,
            coalesce(has_any_column_privilege(c.oid, 'UPDATE'), false) AS update,
            coalesce(has_table_privilege(c.oid, 'DELETE'), false) AS delete,
            coalesce(has_table_privilege(c.oid, 'TRUNCATE'), false) AS truncate,
            coalesce(has_any_column_privilege(c.oid, 'REFERENCES'), false) AS references
       FROM unnest($1::text[]) WITH ORDINALITY AS t(ref, i) LEFT JOIN pg_class c ON c.oid = to_regclass(t.ref)
      ORDER BY t.i`,
    [refs.map((r) => r.sql)],
  );
  return r.rows;
}

async function schemaRights(client: pg.ClientBase, schemas: string[]): Promise<Map<string, SchemaRights>> {
  const r = await client.query<SchemaRights & { name: string }>(
    `SELECT s.name, n.oid IS NOT NULL AS exists,
            coalesce(has_schema_privilege(n.oid, 'USAGE'), false) AS usage,
            coalesce(has_schema_privilege(n.oid, 'CREATE'), false) AS create
       FROM unnest($1::text[]) AS s(name) LEFT JOIN pg_namespace n ON n.nspname = s.name`,
    [schemas],
  );
  return new Map(r.rows.map((row) => [row.name, row]));
}

function names(list: string[]): string {
  return list.length <= NAMES_SHOWN
    ? list.join(', ')
    : `${list.slice(0, NAMES_SHOWN).join(', ')} and ${list.length - NAMES_SHOWN} more`;
}

function tablesPhrase(list: string[]): string {
  return `${list.length === 1 ? 'table' : `${list.length} tables`} (${names(list)})`;
}

export async function privileges(
  client: pg.ClientBase,
  defaultSchema: string,
  needs: PrivilegeNeeds,
): Promise<Finding[]> {
  const who = await account(client);
  if (needs.role === 'source') return sourceFindings(client, defaultSchema, who, needs.tables);
  return who.superuser ? [] : targetFindings(client, defaultSchema, who, needs.tables, needs.ifExists);
}

async function sourceFindings(
  client: pg.ClientBase,
  defaultSchema: string,
  who: Account,
  tables: string[],
): Promise<Finding[]> {
  const refs = tables.map((t) => tableRef(t, defaultSchema));
  const rights = await tableRights(client, refs);
  const schemas = await schemaRights(client, [...new Set(refs.map((r) => r.schema))]);
  const role = quoteIdent(who.user);
  const findings: Finding[] = [];
  const readOnly = `use a read-only account for the source, e.g. CREATE ROLE ferry_reader LOGIN; GRANT pg_read_all_data TO ferry_reader (PostgreSQL 14+; or GRANT SELECT on the tables)`;
  if (who.superuser) {
    findings.push({
      severity: 'warning',
      code: 'SOURCE_CAN_WRITE',
      message: `the source account ${who.user} is a superuser: it can write to and drop every table`,
      action: readOnly,
    });
  } else {
    const writable = tables.filter((_, i) => rights[i]!.exists && WRITES.some((w) => rights[i]![w]));
    if (writable.length > 0) {
      const can = WRITES.filter((w) => rights.some((r) => r.exists && r[w])).map((w) => w.toUpperCase());
      const owned = tables.filter((_, i) => rights[i]!.owner);
      findings.push({
        severity: 'warning',
        code: 'SOURCE_CAN_WRITE',
        message: `the source account ${who.user} can write: ${can.join(', ')} on ${writable.length} of ${tables.length} tables (${names(writable)})${owned.length > 0 ? `, and owns ${owned.length} (may ALTER and DROP them)` : ''}`,
        action:
          owned.length > 0
            ? readOnly
            : `${readOnly}; or REVOKE ${can.join(', ')} ON ${writable.map((t) => tableRef(t, defaultSchema).sql).join(', ')} FROM ${role}`,
      });
    }
  }
  const unreadable = tables.filter(
    (_, i) => rights[i]!.exists && (!rights[i]!.select || !schemas.get(refs[i]!.schema)?.usage),
  );
  if (unreadable.length > 0) {
    const noUsage = [...new Set(unreadable.map((t) => tableRef(t, defaultSchema).schema))].filter(
      (s) => !schemas.get(s)?.usage,
    );
    const grants = [
      ...noUsage.map((s) => `GRANT USAGE ON SCHEMA ${quoteIdent(s)} TO ${role}`),
      `GRANT SELECT ON ${unreadable.map((t) => tableRef(t, defaultSchema).sql).join(', ')} TO ${role}`,
    ];
    findings.push({
      severity: 'error',
      code: 'SOURCE_CANNOT_READ',
      message: `the source account ${who.user} cannot read ${tablesPhrase(unreadable)}`,
      action: grants.join('; '),
    });
  }
  return findings;
}

/** Missing privileges collected per object, so that one finding (and one GRANT) covers each. */
class Missing {
  private readonly byObject = new Map<
    string,
    { privileges: Set<string>; grantOn: string; what: string; tables: Set<string> }
  >();

  add(what: string, grantOn: string, privilege: string, table: string): void {
    let m = this.byObject.get(grantOn);
    if (!m) this.byObject.set(grantOn, (m = { privileges: new Set(), grantOn, what, tables: new Set() }));
    m.privileges.add(privilege);
    m.tables.add(table);
  }

  findings(role: string, user: string): Finding[] {
    return [...this.byObject.values()].map((m) => {
      const privs = [...m.privileges].join(', ');
      const tables = [...m.tables];
      return {
        severity: 'error',
        code: 'TARGET_PRIVILEGE',
        ...(tables.length === 1 ? { table: tables[0] } : {}),
        message: `the target account ${user} lacks ${privs} on ${m.what}, which the run needs for ${tablesPhrase(tables)}`,
        action: `GRANT ${privs} ON ${m.grantOn} TO ${role}`,
      };
    });
  }
}

/** Whether finishing the table (indexes, unique keys, counters, foreign keys) alters it: only its owner may. */
function altersAfterData(t: TargetTable): boolean {
  return (
    t.indexes.length > 0 ||
    t.uniqueKeys.length > 0 ||
    t.foreignKeys.length > 0 ||
    t.columns.some((c) => c.autoIncrement)
  );
}

async function targetFindings(
  client: pg.ClientBase,
  defaultSchema: string,
  who: Account,
  tables: TargetTable[],
  ifExists: IfExists,
): Promise<Finding[]> {
  const refs = tables.map((t) => tableRef(t.name, defaultSchema));
  const rights = await tableRights(client, refs);
  const role = quoteIdent(who.user);
  const missing = new Missing();
  const findings: Finding[] = [];
  const created = new Set<string>();
  const schemasUsed = new Map<string, string[]>();
  tables.forEach((t, i) => {
    const ref = refs[i]!;
    const r = rights[i]!;
    schemasUsed.set(ref.schema, [...(schemasUsed.get(ref.schema) ?? []), t.name]);
    if (!r.exists || ifExists === 'drop') {
      created.add(ref.sql);
      if (r.exists && !r.owner)
        findings.push({
          severity: 'error',
          code: 'TARGET_PRIVILEGE',
          table: t.name,
          message: `the target account ${who.user} does not own table ${t.name}, which target.ifExists: drop drops`,
          action: `ALTER TABLE ${ref.sql} OWNER TO ${role} (as its owner), or drop the table first`,
        });
      return;
    }
    // a table kept (truncate, or resumed): written, read back, emptied by range
    const needed: [boolean, string][] = [
      [r.select, 'SELECT'],
      [r.insert, 'INSERT'],
      [r.delete, 'DELETE'],
      [r.truncate || ifExists !== 'truncate', 'TRUNCATE'],
    ];
    for (const [has, privilege] of needed) if (!has) missing.add(`table ${t.name}`, ref.sql, privilege, t.name);
    if (!r.owner && altersAfterData(t))
      findings.push({
        severity: 'error',
        code: 'TARGET_PRIVILEGE',
        table: t.name,
        message: `the target account ${who.user} does not own table ${t.name}, and only its owner may add its indexes, keys and counters`,
        action: `ALTER TABLE ${ref.sql} OWNER TO ${role} (as its owner), or use target.ifExists: drop`,
      });
  });
  const schemas = await schemaRights(client, [...schemasUsed.keys()]);
  for (const [schema, names] of schemasUsed) {
    const s = schemas.get(schema)!;
    const creating = names.filter((n) => created.has(tableRef(n, defaultSchema).sql));
    if (!s.exists) {
      if (!who.createSchemas)
        findings.push({
          severity: 'error',
          code: 'TARGET_PRIVILEGE',
          message: `schema ${schema} does not exist and the target account ${who.user} lacks CREATE on database ${who.database} to create it`,
          action: `CREATE SCHEMA ${quoteIdent(schema)} AUTHORIZATION ${role} (as a superuser or the database owner)`,
        });
      continue;
    }
    if (!s.usage) for (const n of names) missing.add(`schema ${schema}`, `SCHEMA ${quoteIdent(schema)}`, 'USAGE', n);
    if (!s.create)
      for (const n of creating) missing.add(`schema ${schema}`, `SCHEMA ${quoteIdent(schema)}`, 'CREATE', n);
  }
  // foreign keys to tables this run does not create need REFERENCES on them
  const outside = tables
    .flatMap((t) => t.foreignKeys.map((fk) => ({ table: t.name, ref: tableRef(fk.refTable, defaultSchema) })))
    .filter((x) => !created.has(x.ref.sql));
  if (outside.length > 0) {
    const refRights = await tableRights(
      client,
      outside.map((x) => x.ref),
    );
    outside.forEach((x, i) => {
      if (refRights[i]!.exists && !refRights[i]!.references)
        missing.add(
          `table ${x.ref.schema === defaultSchema ? x.ref.table : `${x.ref.schema}.${x.ref.table}`}`,
          x.ref.sql,
          'REFERENCES',
          x.table,
        );
    });
  }
  return [...findings, ...missing.findings(role, who.user)];
}
