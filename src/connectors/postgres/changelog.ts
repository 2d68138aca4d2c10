// The PostgreSQL source's change log (logical replication with pgoutput): a publication of the
// plan's tables and a replication slot, both named by the plan's cdc section. The slot is created
// on a replication connection that exports its snapshot at the slot's consistent point: the copy
// reads that snapshot, and the stream begins at that point, so no change is lost or seen twice.
import pg from 'pg';
import type {
  ChangeLog,
  ChangeLogSettings,
  ChangeStream,
  ReadView,
  SourceTable,
  StreamedColumns,
} from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Finding } from '../../core/types.js';
import { watchErrors } from './config.js';
import { connectError, queryError } from './errors.js';
import { lsnValue } from './pgoutput.js';
import { introspect } from './introspect.js';
import { PgChangeStream, replicationConfig } from './replication.js';
import type { PgSource, PgSourceSettings } from './source.js';
import { quoteIdent, tableRef } from './sql.js';

/** how long drop() waits for the walsender it terminated to let go of the slot */
const DROP_WAIT_MS = 10_000;

const MANAGED_SETTINGS =
  'RDS and Aurora: rds.logical_replication = 1 in the parameter group; Cloud SQL: the flag cloudsql.logical_decoding = on';

export class PgChangeLog implements ChangeLog {
  constructor(
    private readonly cdc: ChangeLogSettings,
    private readonly settings: PgSourceSettings,
    private readonly source: PgSource,
    private readonly connectPooled: () => Promise<pg.PoolClient>,
  ) {}

  private async onPooled<T>(what: string, queries: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connectPooled();
    try {
      return await queries(client);
    } catch (e) {
      throw queryError(e, 'READ_FAILED', what);
    } finally {
      client.release();
    }
  }

  check(tables: SourceTable[]): Promise<Finding[]> {
    return this.onPooled('cannot read what the PostgreSQL source allows for live changes', async (client) => {
      const out: Finding[] = [];
      const { rows } = await client.query<{
        wal_level: string;
        slots: number;
        slots_used: number;
        senders: number;
        senders_used: number;
        keep: string;
        replication: boolean;
        ours: boolean;
      }>(
        `SELECT current_setting('wal_level') AS wal_level,
                current_setting('max_replication_slots')::int AS slots,
                (SELECT count(*)::int FROM pg_replication_slots) AS slots_used,
                current_setting('max_wal_senders')::int AS senders,
                (SELECT count(*)::int FROM pg_stat_replication) AS senders_used,
                coalesce(current_setting('max_slot_wal_keep_size', true), '-1') AS keep,
                (r.rolsuper OR r.rolreplication OR (SELECT pg_has_role(g.oid, 'MEMBER') FROM pg_roles g WHERE g.rolname = 'rds_replication') IS TRUE) AS replication,
                EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1) AS ours
           FROM pg_roles r WHERE r.rolname = current_user`,
        [this.cdc.slot],
      );
      const s = rows[0]!;
      if (s.wal_level !== 'logical')
        out.push({
          severity: 'error',
          code: 'CDC_WAL_LEVEL',
          message: `the source's wal_level is ${s.wal_level}: its changes cannot be followed (logical replication needs wal_level = logical)`,
          action: `set wal_level = logical and restart the server (${MANAGED_SETTINGS})`,
        });
      if (!s.ours && s.slots_used >= s.slots)
        out.push({
          severity: 'error',
          code: 'CDC_SLOTS',
          message: `the source has ${s.slots_used} of max_replication_slots = ${s.slots} in use: none is left for ferry's`,
          action: 'raise max_replication_slots (a restart), or drop a slot nothing uses (pg_drop_replication_slot)',
        });
      if (s.senders_used >= s.senders)
        out.push({
          severity: 'error',
          code: 'CDC_SENDERS',
          message: `the source has ${s.senders_used} of max_wal_senders = ${s.senders} in use: ferry's stream cannot connect`,
          action: 'raise max_wal_senders (a restart)',
        });
      if (s.keep !== '-1')
        out.push({
          severity: 'warning',
          code: 'CDC_WAL_KEEP',
          message: `max_slot_wal_keep_size is ${s.keep}: if ferry stops following for longer than that much WAL, the slot is invalidated and the copy must start again`,
          action:
            'raise max_slot_wal_keep_size (-1: no limit) or keep ferry following; `ferry status PLAN` shows the WAL the slot holds',
        });
      if (!s.replication)
        out.push({
          severity: 'error',
          code: 'CDC_PRIVILEGE',
          message: `the source account ${this.settings.endpoint.user} may not use replication`,
          action: `ALTER ROLE ${quoteIdent(this.settings.endpoint.user)} REPLICATION (RDS and Aurora: GRANT rds_replication TO ${quoteIdent(this.settings.endpoint.user)})`,
        });
      out.push(...(await replicaIdentityFindings(client, tables, this.settings.schema)));
      return out;
    });
  }

  async snapshot(tables: SourceTable[], parallelism: number): Promise<{ view: ReadView; position: string }> {
    // the publication first: pgoutput reads it as of each change, so it must exist before the slot's start
    const slot = await this.onPooled('cannot prepare the publication and the replication slot', async (client) => {
      const version = Number(
        (await client.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v")).rows[0]!.v,
      );
      await client.query(publicationSql(this.cdc.publication, tables, this.settings.schema, version >= 130000));
      const { rows } = await client.query<{ confirmed: string }>(
        'SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1',
        [this.cdc.slot],
      );
      return rows[0];
    });
    // a resumed run: the stream goes on from where the target stands, the rest is copied from a fresh view
    if (slot) return { view: await this.source.snapshot(parallelism), position: slot.confirmed };
    const replication = new pg.Client(replicationConfig(this.settings.config));
    watchErrors(replication, this.settings.log);
    try {
      await replication.connect();
    } catch (e) {
      throw connectError(e, this.settings.endpoint);
    }
    try {
      // the form every server since 10 takes (15's is CREATE_REPLICATION_SLOT … (SNAPSHOT 'export'))
      const { rows } = await replication
        .query<{ consistent_point: string; snapshot_name: string }>(
          `CREATE_REPLICATION_SLOT ${quoteIdent(this.cdc.slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`,
        )
        .catch((e: unknown) => {
          throw queryError(
            e,
            'READ_FAILED',
            `cannot create the replication slot ${this.cdc.slot}`,
            'check wal_level = logical and the REPLICATION privilege (ferry assess lists what is missing)',
          );
        });
      const created = rows[0]!;
      // the exported snapshot lives while this connection is idle: the view exports it again on one of its own
      const view = await this.source.importedSnapshot(parallelism, created.snapshot_name);
      return { view, position: created.consistent_point };
    } finally {
      await replication.end().catch(() => {});
    }
  }

  stream(tables: SourceTable[], from: string, columns?: Map<string, StreamedColumns>): ChangeStream {
    return new PgChangeStream(
      {
        ...this.settings,
        ...this.cdc,
        heartbeat: () =>
          this.onPooled('cannot write a heartbeat', async (client) => {
            await client.query("SELECT pg_logical_emit_message(false, 'ferry', 'heartbeat')");
          }),
        describe: (table, names) =>
          this.onPooled(`cannot read the columns added to ${table}`, async (client) => {
            const info = (await introspect(client, this.settings.schema, { tables: [table] })).tables[0];
            return names.map((name) => {
              const column = info?.columns.find((c) => c.name === name);
              if (!column)
                throw new FerryError(
                  'UNSUPPORTED',
                  `column ${name} was added to ${table} on the source and is gone again: its changes cannot be followed`,
                  'plan and copy the table again',
                );
              return column;
            });
          }),
      },
      tables,
      from,
      columns,
    );
  }

  status(): Promise<{ position: string; retainedBytes?: number }> {
    return this.onPooled('cannot read where the PostgreSQL log stands', async (client) => {
      const { rows } = await client.query<{ position: string; retained: string | null }>(
        `SELECT pg_current_wal_lsn()::text AS position,
                (SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text FROM pg_replication_slots WHERE slot_name = $1) AS retained`,
        [this.cdc.slot],
      );
      const r = rows[0]!;
      return { position: r.position, ...(r.retained !== null ? { retainedBytes: Number(r.retained) } : {}) };
    });
  }

  comparePositions(a: string, b: string): number {
    const d = lsnValue(a) - lsnValue(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }

  /** A logical message in its own committed transaction: the stream decodes past every commit before it. */
  mark(): Promise<string> {
    return this.onPooled('cannot mark the PostgreSQL log', async (client) => {
      await client.query(
        "BEGIN READ WRITE; SET LOCAL synchronous_commit = on; SELECT pg_logical_emit_message(true, 'ferry', 'cutover'); COMMIT",
      );
      const { rows } = await client.query<{ at: string }>('SELECT pg_current_wal_flush_lsn()::text AS at');
      return rows[0]!.at;
    });
  }

  drop(): Promise<void> {
    return this.onPooled(`cannot drop the replication slot ${this.cdc.slot}`, async (client) => {
      const deadline = Date.now() + DROP_WAIT_MS;
      for (;;) {
        const { rows } = await client.query<{ pid: number | null }>(
          'SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1',
          [this.cdc.slot],
        );
        if (rows.length === 0) break;
        const pid = rows[0]!.pid;
        if (pid === null) {
          await client.query('SELECT pg_drop_replication_slot($1)', [this.cdc.slot]);
          break;
        }
        // a stream of this plan still reading it (a ferry that was killed, a walsender not gone yet)
        await client.query('SELECT pg_terminate_backend($1)', [pid]);
        if (Date.now() > deadline) throw new Error(`the slot is still in use by process ${pid}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(this.cdc.publication)}`);
    });
  }
}

/**
 * CREATE PUBLICATION for the tables, or ALTER PUBLICATION to them when it exists. A partitioned
 * table's changes are published under its own name, as the copy reads it (`byRoot`, PostgreSQL 13
 * and later; before, such a table cannot be published): under its partitions' names the stream
 * would not know them.
 */
function publicationSql(name: string, tables: SourceTable[], schema: string, byRoot: boolean): string {
  const list = tables.map((t) => tableRef(t.name, schema).sql).join(', ');
  const pub = quoteIdent(name);
  const literal = `'${name.replace(/'/g, "''")}'`;
  const root = byRoot ? ' WITH (publish_via_partition_root = true)' : '';
  const setRoot = byRoot ? ` ALTER PUBLICATION ${pub} SET (publish_via_partition_root = true);` : '';
  return `DO $ferry$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = ${literal}) THEN ALTER PUBLICATION ${pub} SET TABLE ${list};${setRoot}
    ELSE CREATE PUBLICATION ${pub} FOR TABLE ${list}${root}; END IF; END $ferry$`;
}

/**
 * Tables whose updates and deletes would not say which row they change: replica identity
 * NOTHING, or DEFAULT without a primary key (PostgreSQL then refuses the source's own UPDATE and
 * DELETE once the table is published).
 */
async function replicaIdentityFindings(
  client: pg.PoolClient,
  tables: SourceTable[],
  schema: string,
): Promise<Finding[]> {
  const { rows } = await client.query<{ ref: string; identity: string; pk: boolean }>(
    `SELECT t.ref, c.relreplident AS identity,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
       FROM unnest($1::text[]) AS t(ref) JOIN pg_class c ON c.oid = to_regclass(t.ref)`,
    [tables.map((t) => tableRef(t.name, schema).sql)],
  );
  const byRef = new Map(rows.map((r) => [r.ref, r]));
  const out: Finding[] = [];
  for (const t of tables) {
    const ref = tableRef(t.name, schema).sql;
    const r = byRef.get(ref);
    if (!r || r.identity === 'f' || r.identity === 'i' || (r.identity === 'd' && r.pk)) continue;
    out.push({
      severity: 'error',
      code: 'CDC_REPLICA_IDENTITY',
      table: t.name,
      message:
        r.identity === 'n'
          ? `${t.name} has REPLICA IDENTITY NOTHING: its updates and deletes cannot be followed`
          : `${t.name} has no primary key: its updates and deletes cannot be followed (and, once published, the source refuses them)`,
      action: `ALTER TABLE ${ref} REPLICA IDENTITY FULL (or give it a primary key)`,
    });
  }
  return out;
}
