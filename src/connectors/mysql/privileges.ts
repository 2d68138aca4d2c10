// Least privilege: the account's grants (SHOW GRANTS, which unlike information_schema includes
// the privileges of its active roles) against what a run needs. A source account that can
// write is a warning; a target privilege the run needs and lacks is an error whose action is
// the GRANT to run.
import type { Connection } from 'mysql2';
import type { IfExists, PrivilegeNeeds, TargetTable } from '../../core/contracts.js';
import type { Finding } from '../../core/types.js';
import { run } from './session.js';
import { quoteIdent } from './codec.js';

/** A privilege level of a grant: *.*, `db`.* (db may be a LIKE pattern) or `db`.`table`. */
interface Grant {
  db?: RegExp;
  table?: string;
  privileges: Set<string>;
}

const ALL = 'ALL PRIVILEGES';
/** Privileges that change data or tables. */
const WRITES = ['INSERT', 'UPDATE', 'DELETE', 'DROP', 'ALTER'];
/** How many table names a message lists before "…". */
const NAMES_SHOWN = 5;

const GRANT_LINE = /^GRANT (.+?) ON (?:TABLE )?(\*|`(?:[^`]|``)*`)\.(\*|`(?:[^`]|``)*`) TO /;

function unquote(name: string): string {
  return name.slice(1, -1).replace(/``/g, '`');
}

/** A database name of a grant is a LIKE pattern: _ and % are wildcards unless escaped. */
function dbPattern(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (ch === '_') re += '.';
    else if (ch === '%') re += '.*';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Privilege names of a grant's list: column lists ("SELECT (a, b)") count as the privilege. */
function privilegeNames(list: string): Set<string> {
  const out = new Set<string>();
  let depth = 0;
  let item = '';
  for (const ch of `${list},`) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      const name = item
        .replace(/\(.*\)/s, '')
        .trim()
        .toUpperCase();
      out.add(name === 'ALL' ? ALL : name);
      item = '';
    } else item += ch;
  }
  return out;
}

export function parseGrants(lines: string[]): Grant[] {
  const grants: Grant[] = [];
  for (const line of lines) {
    const m = GRANT_LINE.exec(line);
    if (!m) continue;
    grants.push({
      db: m[2] === '*' ? undefined : dbPattern(unquote(m[2]!)),
      table: m[3] === '*' ? undefined : unquote(m[3]!),
      privileges: privilegeNames(m[1]!),
    });
  }
  return grants;
}

function globalHas(grants: Grant[], privilege: string): boolean {
  return grants.some((g) => !g.db && (g.privileges.has(privilege) || g.privileges.has(ALL)));
}

function tableHas(grants: Grant[], database: string, table: string, privilege: string): boolean {
  return grants.some(
    (g) =>
      (!g.db || (g.db.test(database) && (!g.table || g.table === table))) &&
      (g.privileges.has(privilege) || g.privileges.has(ALL)),
  );
}

function names(list: string[]): string {
  return list.length <= NAMES_SHOWN
    ? list.join(', ')
    : `${list.slice(0, NAMES_SHOWN).join(', ')} and ${list.length - NAMES_SHOWN} more`;
}

function tablesPhrase(list: string[]): string {
  return `${list.length === 1 ? 'table' : `${list.length} tables`} (${names(list)})`;
}

/** 'user'@'host' of CURRENT_USER(), as GRANT takes it. */
function accountName(current: string): string {
  const at = current.lastIndexOf('@');
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return at < 0 ? quote(current) : `${quote(current.slice(0, at))}@${quote(current.slice(at + 1))}`;
}

export interface PrivilegeContext {
  database: string;
  mariadb: boolean;
  /** writes go through LOAD DATA LOCAL INFILE (the server allows it and the URL does not turn it off) */
  localInfile: boolean;
  /** the URL asks for INSERT writes (?localInfile=false) */
  insertsAsked: boolean;
}

async function grantsOf(conn: Connection, mariadb: boolean): Promise<{ user: string; grants: Grant[] }> {
  const [who] = await run<{ user: string; roles: string | null }[]>(
    conn,
    'SELECT CURRENT_USER() AS user, CURRENT_ROLE() AS roles',
  );
  // MySQL shows the privileges of active roles only when asked USING them; MariaDB shows them
  const roles = !mariadb && who!.roles && who!.roles !== 'NONE' ? ` USING ${who!.roles}` : '';
  const rows = await run<Record<string, string>[]>(conn, `SHOW GRANTS FOR CURRENT_USER()${roles}`);
  const lines = rows.map((r) => Object.values(r)[0]!);
  // MariaDB lists the current role's grants with SHOW GRANTS, not with FOR CURRENT_USER()
  if (mariadb && who!.roles)
    for (const r of await run<Record<string, string>[]>(conn, `SHOW GRANTS FOR ${quoteIdent(who!.roles)}`))
      lines.push(Object.values(r)[0]!);
  return { user: who!.user, grants: parseGrants(lines) };
}

export async function privileges(conn: Connection, ctx: PrivilegeContext, needs: PrivilegeNeeds): Promise<Finding[]> {
  const { user, grants } = await grantsOf(conn, ctx.mariadb);
  return needs.role === 'source'
    ? sourceFindings(user, grants, ctx, needs.tables)
    : targetFindings(conn, user, grants, ctx, needs.tables, needs.ifExists);
}

function sourceFindings(user: string, grants: Grant[], ctx: PrivilegeContext, tables: string[]): Finding[] {
  const findings: Finding[] = [];
  const account = accountName(user);
  const can = WRITES.filter((w) => tables.some((t) => tableHas(grants, ctx.database, t, w)));
  if (can.length > 0) {
    const writable = tables.filter((t) => can.some((w) => tableHas(grants, ctx.database, t, w)));
    findings.push({
      severity: 'warning',
      code: 'SOURCE_CAN_WRITE',
      message: `the source account ${user} can write: ${can.join(', ')} on ${writable.length} of ${tables.length} tables (${names(writable)})`,
      action: `use a read-only account for the source: CREATE USER 'ferry_reader'@'%' IDENTIFIED BY '…'; GRANT SELECT, RELOAD ON *.* TO 'ferry_reader'@'%' (or SELECT on \`${ctx.database}\`.* and RELOAD ON *.*)`,
    });
  }
  const unreadable = tables.filter((t) => !tableHas(grants, ctx.database, t, 'SELECT'));
  if (unreadable.length > 0)
    findings.push({
      severity: 'error',
      code: 'SOURCE_CANNOT_READ',
      message: `the source account ${user} cannot read ${tablesPhrase(unreadable)}`,
      action: `GRANT SELECT ON ${quoteIdent(ctx.database)}.* TO ${account}`,
    });
  if (!globalHas(grants, 'RELOAD'))
    findings.push({
      severity: 'warning',
      code: 'SOURCE_SNAPSHOT',
      message: `the source account ${user} lacks RELOAD, so parallel readers cannot briefly hold commits (FLUSH TABLES WITH READ LOCK) while their snapshots start: their views may differ by commits made meanwhile`,
      action: `GRANT RELOAD ON *.* TO ${account}; or set settings.parallelism to 1, or copy while the application does not write`,
    });
  return findings;
}

/** Whether finishing the table (indexes, unique keys, counter, foreign keys) runs ALTER TABLE. */
function altersAfterData(t: TargetTable): boolean {
  return (
    t.indexes.length > 0 ||
    t.uniqueKeys.some((k) => k.join() !== t.primaryKey.join()) ||
    t.foreignKeys.length > 0 ||
    t.columns.some((c) => c.autoIncrement)
  );
}

async function targetFindings(
  conn: Connection,
  user: string,
  grants: Grant[],
  ctx: PrivilegeContext,
  tables: TargetTable[],
  ifExists: IfExists,
): Promise<Finding[]> {
  const account = accountName(user);
  const existing = new Set(
    tables.length === 0
      ? []
      : (
          await run<{ name: string }[]>(
            conn,
            `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${tables.map(() => '?').join(', ')})`,
            tables.map((t) => t.name),
          )
        ).map((r) => r.name),
  );
  // privilege -> tables that need it and lack it
  const missing = new Map<string, Set<string>>();
  const need = (table: string, privilege: string, grantTable = table) => {
    if (tableHas(grants, ctx.database, grantTable, privilege)) return;
    let tables = missing.get(privilege);
    if (!tables) missing.set(privilege, (tables = new Set()));
    tables.add(table);
  };
  for (const t of tables) {
    const exists = existing.has(t.name);
    // written (INSERT or LOAD DATA), emptied by key range on a retry, read back for verify
    for (const p of ['INSERT', 'DELETE', 'SELECT']) need(t.name, p);
    if (!exists || ifExists === 'drop') need(t.name, 'CREATE');
    // TRUNCATE TABLE needs DROP
    if (exists && ifExists !== 'fail') need(t.name, 'DROP');
    // ALTER TABLE needs ALTER, CREATE and INSERT
    if (altersAfterData(t)) for (const p of ['ALTER', 'CREATE']) need(t.name, p);
    // MySQL (not MariaDB) checks REFERENCES on the parent table of a foreign key
    if (!ctx.mariadb) for (const fk of t.foreignKeys) need(t.name, 'REFERENCES', fk.refTable);
  }
  const findings: Finding[] = [...missing].map(([privilege, tables]) => ({
    severity: 'error',
    code: 'TARGET_PRIVILEGE',
    ...(tables.size === 1 ? { table: [...tables][0] } : {}),
    message: `the target account ${user} lacks ${privilege} on database ${ctx.database}, which the run needs for ${tablesPhrase([...tables])}`,
    action: `GRANT ${privilege} ON ${quoteIdent(ctx.database)}.* TO ${account}`,
  }));
  if (findings.length > 1) {
    // one GRANT for everything is easier to run than one per finding
    const all = [...missing.keys()].join(', ');
    for (const f of findings) f.action = `GRANT ${all} ON ${quoteIdent(ctx.database)}.* TO ${account}`;
  }
  if (!ctx.localInfile && !ctx.insertsAsked)
    findings.push({
      severity: 'info',
      code: 'LOAD_DATA_OFF',
      message:
        'the MySQL server does not allow LOAD DATA LOCAL INFILE (local_infile=OFF): ferry writes with multi-row INSERT, about a third slower',
      action: 'for faster writes, SET GLOBAL local_infile = ON on the server (it needs no privilege beyond INSERT)',
    });
  return findings;
}

/**
 * What reading the binlog asks of the source account: REPLICATION SLAVE to receive it, and
 * REPLICATION CLIENT (MariaDB 10.5+: BINLOG MONITOR) to ask where it stands.
 */
export async function changeLogPrivileges(conn: Connection, mariadb: boolean): Promise<Finding[]> {
  const { user, grants } = await grantsOf(conn, mariadb);
  const account = accountName(user);
  const lacking: string[] = [];
  if (!globalHas(grants, 'REPLICATION SLAVE')) lacking.push('REPLICATION SLAVE');
  const monitor = mariadb ? ['BINLOG MONITOR', 'REPLICATION CLIENT'] : ['REPLICATION CLIENT'];
  if (!monitor.some((p) => globalHas(grants, p))) lacking.push(monitor[0]!);
  return lacking.map((privilege) => ({
    severity: 'error',
    code: 'CDC_PRIVILEGE',
    message: `the source account ${user} lacks ${privilege}, which reading the binlog needs`,
    action: `GRANT ${lacking.join(', ')} ON *.* TO ${account}`,
  }));
}

/**
 * What a cutover's freeze needs of ferry's account (Source.freezeCheck): setting read_only, and
 * writing while it is on (the way back writes into the frozen source). SUPER gives both; else
 * MariaDB's READ_ONLY ADMIN, MySQL's SYSTEM_VARIABLES_ADMIN with CONNECTION_ADMIN.
 */
export async function freezeFindings(conn: Connection): Promise<Finding[]> {
  const [v] = await run<{ version: string }[]>(conn, 'SELECT VERSION() AS version');
  const mariadb = /mariadb/i.test(v!.version);
  const { user, grants } = await grantsOf(conn, mariadb);
  const enough = mariadb
    ? [['SUPER'], ['READ_ONLY ADMIN'], ['READ ONLY ADMIN']]
    : [['SUPER'], ['SYSTEM_VARIABLES_ADMIN', 'CONNECTION_ADMIN']];
  if (enough.some((set) => set.every((p) => globalHas(grants, p)))) return [];
  const grant = mariadb ? 'READ_ONLY ADMIN' : 'SYSTEM_VARIABLES_ADMIN, CONNECTION_ADMIN';
  return [
    {
      severity: 'error',
      code: 'FREEZE_PRIVILEGE',
      message: `${accountName(user)} can neither set read_only nor write while it is on (it has no SUPER${mariadb ? ' or READ_ONLY ADMIN' : ', or SYSTEM_VARIABLES_ADMIN with CONNECTION_ADMIN'})`,
      action: `GRANT ${grant} ON *.* TO ${accountName(user)}`,
    },
  ];
}
