// A position in the binlog: a file and a byte offset in it, written "binlog.000042:1234". The
// position of a transaction is the end of its commit event: a stream opened there begins with
// the next transaction.
import type { Connection } from 'mysql2';
import { FerryError } from '../../core/errors.js';
import { run } from './session.js';

export interface BinlogPosition {
  file: string;
  offset: number;
}

export function formatPosition(p: BinlogPosition): string {
  return `${p.file}:${p.offset}`;
}

export function parsePosition(text: string): BinlogPosition {
  const at = text.lastIndexOf(':');
  const offset = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(offset) || offset < 4)
    throw new FerryError(
      'STATE_CONFLICT',
      `"${text}" is not a MySQL binlog position (file:offset)`,
      'the stream was started from another kind of source: copy the plan afresh (ferry rollback, then ferry run --follow)',
    );
  return { file: text.slice(0, at), offset };
}

/** Binlog files are numbered in order (base.000001, base.000002, …). */
function fileNumber(file: string): number {
  return Number(/\.(\d+)$/.exec(file)?.[1] ?? 0);
}

export function comparePositions(a: BinlogPosition, b: BinlogPosition): number {
  return fileNumber(a.file) - fileNumber(b.file) || a.file.localeCompare(b.file) || a.offset - b.offset;
}

/** Where the server's binlog stands now (SHOW MASTER STATUS; MySQL 8.4: SHOW BINARY LOG STATUS). */
export async function currentPosition(conn: Connection): Promise<BinlogPosition> {
  let rows: { File: string; Position: number | string }[];
  try {
    rows = await run(conn, 'SHOW MASTER STATUS');
  } catch (err) {
    // MySQL 8.4 knows only the new name
    if ((err as { errno?: number }).errno !== 1064) throw err;
    rows = await run(conn, 'SHOW BINARY LOG STATUS');
  }
  const row = rows[0];
  if (!row)
    throw new FerryError(
      'UNSUPPORTED',
      'the MySQL source writes no binary log, so its live changes cannot be followed',
      'turn the binary log on (log_bin, binlog_format=ROW, binlog_row_image=FULL) and restart the server; on RDS, turn automated backups on',
    );
  return { file: row.File, offset: Number(row.Position) };
}
