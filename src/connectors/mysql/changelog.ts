// The MySQL/MariaDB source's change log (core/contracts.ts ChangeLog): the row binlog. Nothing is
// made on the source for a stream: no slot holds the binlog for ferry, the server keeps it for
// its retention time (binlog_expire_logs_seconds), so drop() has nothing to remove, and a stream
// stopped longer than that cannot go on.
import { createHash } from 'node:crypto';
import type { ColumnSchema } from '@vlasky/zongji';
import type { Connection } from 'mysql2';
import type {
  ChangeLog,
  ChangeLogSettings,
  ChangeStream,
  ReadView,
  SourceTable,
  StreamedColumns,
} from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { Finding, SchemaInfo } from '../../core/types.js';
import {
  comparePositions,
  currentPosition,
  formatPosition,
  parsePosition,
  type BinlogPosition,
} from './binlog-position.js';
import { binlogGone, BinlogStream } from './binlog.js';
import { toFerryError } from './errors.js';
import { changeLogPrivileges } from './privileges.js';
import { run, type SessionPool } from './session.js';

/** What opens the copy's view at a binlog position (the MySQL source). */
interface Snapshots {
  snapshotAt(parallelism: number): Promise<{ view: ReadView; position: string }>;
}

const DAY = 86_400;

/** A replica id of the plan's own: the server ends an older binlog connection with the same id. */
function serverIdOf(name: string): number {
  const h = createHash('sha256').update(name).digest().readUInt32BE(0);
  // clear of the small ids servers of a replication setup are usually given
  return 0x40000000 + (h % 0x3fffffff);
}

export class MysqlChangeLog implements ChangeLog {
  constructor(
    private readonly source: Snapshots,
    private readonly pool: SessionPool,
    private readonly settings: ChangeLogSettings,
    private readonly introspect: (filter: { tables: string[] }) => Promise<SchemaInfo>,
  ) {}

  async check(): Promise<Finding[]> {
    try {
      return await this.pool.use((conn) => serverFindings(conn));
    } catch (err) {
      throw toFerryError(err, this.pool.ep, 'read');
    }
  }

  snapshot(_tables: SourceTable[], parallelism: number): Promise<{ view: ReadView; position: string }> {
    return this.source.snapshotAt(parallelism);
  }

  stream(tables: SourceTable[], from: string, columns?: Map<string, StreamedColumns>): ChangeStream {
    const position = parsePosition(from);
    return new BinlogStream({
      ep: this.pool.ep,
      tables,
      added: new Map([...(columns ?? [])].map(([table, c]) => [table, c.added])),
      from: position,
      describe: async (table, names) => {
        const info = (await this.introspect({ tables: [table] })).tables[0];
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
      },
      serverId: serverIdOf(this.settings.slot),
      heartbeatMs: this.settings.heartbeatSeconds * 1000,
      prepare: (at) => this.prepare(tables, at),
    });
  }

  async status(): Promise<{ position: string }> {
    try {
      return { position: formatPosition(await this.pool.use(currentPosition)) };
    } catch (err) {
      throw toFerryError(err, this.pool.ep, 'read');
    }
  }

  comparePositions(a: string, b: string): number {
    return Math.sign(comparePositions(parsePosition(a), parsePosition(b)));
  }

  /** The binlog's end: a stream that read every commit before it has reached it. */
  async mark(): Promise<string> {
    return (await this.status()).position;
  }

  async drop(): Promise<void> {
    // nothing was made on the source (see the top of this file)
  }

  /** The start position must still be on the server; the tables' definitions, to decode their rows. */
  private async prepare(tables: SourceTable[], from: BinlogPosition): Promise<Map<string, ColumnSchema[]>> {
    const { ep } = this.pool;
    try {
      return await this.pool.use(async (conn) => {
        const logs = await run<{ Log_name: string; File_size: number | string }[]>(conn, 'SHOW BINARY LOGS');
        const log = logs.find((l) => l.Log_name === from.file);
        if (!log)
          throw binlogGone(ep, from, logs.length ? `its oldest binlog is ${logs[0]!.Log_name}` : 'it keeps no binlog');
        if (Number(log.File_size) < from.offset)
          throw binlogGone(ep, from, `${from.file} holds ${log.File_size} bytes`);
        const rows = await run<(ColumnSchema & { TABLE_NAME: string })[]>(
          conn,
          `SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME, CHARACTER_SET_NAME, COLUMN_COMMENT, COLUMN_TYPE
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)
             ORDER BY TABLE_NAME, ORDINAL_POSITION`,
          [tables.map((t) => t.name)],
        );
        const schemas = new Map<string, ColumnSchema[]>();
        for (const { TABLE_NAME, ...column } of rows) {
          const list = schemas.get(TABLE_NAME) ?? [];
          list.push(column);
          schemas.set(TABLE_NAME, list);
        }
        return schemas;
      });
    } catch (err) {
      throw toFerryError(err, ep, 'read');
    }
  }
}

/** The server's settings and the account's privileges for reading the row binlog. */
async function serverFindings(conn: Connection): Promise<Finding[]> {
  const rows = await run<{ Variable_name: string; Value: string }[]>(
    conn,
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN
       ('version', 'log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata',
        'expire_logs_days', 'binlog_expire_logs_seconds')`,
  );
  const v = new Map(rows.map((r) => [r.Variable_name.toLowerCase(), r.Value]));
  const mariadb = /mariadb/i.test(v.get('version') ?? '');
  const findings: Finding[] = [];
  const error = (code: string, message: string, action: string) =>
    findings.push({ severity: 'error', code, message, action });
  if (v.get('log_bin') !== 'ON') {
    error(
      'CDC_BINLOG_OFF',
      'the MySQL source writes no binary log (log_bin is OFF), so its live changes cannot be followed',
      'start the server with log_bin (and server_id), binlog_format=ROW and binlog_row_image=FULL; on RDS, turn automated backups on',
    );
    return findings;
  }
  if (v.get('binlog_format')?.toUpperCase() !== 'ROW')
    error(
      'CDC_BINLOG_FORMAT',
      `the MySQL source logs changes as ${v.get('binlog_format')}, not as rows (binlog_format=ROW), so ferry cannot read them`,
      "SET GLOBAL binlog_format = 'ROW' and put binlog_format=ROW in the server's configuration (RDS: the parameter group); sessions opened before keep the old format",
    );
  if (v.get('binlog_row_image')?.toUpperCase() !== 'FULL')
    error(
      'CDC_ROW_IMAGE',
      `the MySQL source logs ${v.get('binlog_row_image')} row images, not whole rows (binlog_row_image=FULL), so an update would not say every column`,
      "SET GLOBAL binlog_row_image = 'FULL' and put it in the server's configuration (RDS: the parameter group)",
    );
  // MySQL 8.0+ and MariaDB 10.5+ can name a row's columns in the binlog
  const metadata = v.get('binlog_row_metadata');
  if (metadata !== undefined && metadata.toUpperCase() !== 'FULL')
    findings.push({
      severity: 'warning',
      code: 'CDC_ROW_METADATA',
      message: `the MySQL source's binlog does not name the columns of its rows (binlog_row_metadata=${metadata}): rows logged before a column is added to a followed table cannot be read`,
      action:
        "SET GLOBAL binlog_row_metadata = 'FULL' and put it in the server's configuration (RDS: the parameter group)",
    });
  const seconds = Number(v.get('binlog_expire_logs_seconds') ?? 0) || Number(v.get('expire_logs_days') ?? 0) * DAY;
  if (seconds > 0 && seconds < DAY)
    findings.push({
      severity: 'warning',
      code: 'CDC_RETENTION',
      message: `the MySQL source keeps its binlog ${Math.round(seconds / 60)} minutes: a copy, or a stop of ferry, longer than that loses the changes to follow`,
      action:
        "keep it longer than the copy takes and ferry may be stopped: SET GLOBAL binlog_expire_logs_seconds = 604800 (RDS: CALL mysql.rds_set_configuration('binlog retention hours', 168))",
    });
  findings.push(...(await changeLogPrivileges(conn, mariadb)));
  return findings;
}
