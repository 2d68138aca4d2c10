// `ferry restore BACKUP --target URL`: loads a backup into a database through the same Target
// contract a run writes with (prepare, writeChunk, finishTable, addForeignKeys), so it works
// for every engine ferry writes to. Every file is checked (size, hash, authentication, row
// count) as it is read; a file that fails stops the restore with its name.
import { resolve } from 'node:path';
import { connect } from '../../connectors/index.js';
import type { Connector, IfExists } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { formatType, parseType } from '../../core/types.js';
import { converter } from '../../core/values.js';
import type { AuditLog } from './audit.js';
import { fileRange, targetTableOf, type BackupPart, type BackupTable } from './backup/format.js';
import { backupRows, openBackup, type OpenedBackup } from './backup/reader.js';
import type { KeySource } from './backup/sealed.js';
import { StateStore } from '../session/checkpoints.js';
import { asCommand } from '../session/command.js';
import { holdingPlan } from '../session/lock.js';
import { targetSide } from '../session/sides.js';

export interface RestoreOptions {
  /** the database to load into; secrets as ${env:NAME} references */
  target: string;
  /** the source tables of the backup (default) or the target's tables as they were before the run */
  side?: 'source' | 'target';
  /** only these tables (names as in the backup) */
  tables?: string[];
  ifExists?: IfExists;
  key?: KeySource;
  /** where the restore's run and audit log are recorded */
  stateDir?: string;
  batchRows?: number;
  log?: Logger;
  onTable?: (t: { table: string; rows: number }) => void;
}

export interface RestoreSummary {
  runId: string;
  backupId: string;
  tables: { table: string; rows: number }[];
  seconds: number;
}

/** A name the engine can take: a schema prefix only means something to the engine it came from. */
function restoredName(name: string, conn: Connector, fromEngine: string): string {
  return conn.kind === fromEngine || !name.includes('.') ? name : name.slice(name.lastIndexOf('.') + 1);
}

/** Loads tables of one part of an opened backup into a connected target. */
export async function restoreTables(
  b: OpenedBackup,
  part: BackupPart,
  tables: BackupTable[],
  conn: Connector,
  ifExists: IfExists,
  batchRows: number,
  audit: AuditLog,
  onTable?: RestoreOptions['onTable'],
): Promise<{ table: string; rows: number }[]> {
  const target = targetSide(conn);
  const restored = new Set(tables.map((t) => restoredName(t.name, conn, part.engine)));
  const planned = tables.map((t) => {
    const table = targetTableOf(t.definition, restoredName(t.name, conn, part.engine), t.key, conn, part.engine);
    // foreign keys to tables left out of the restore cannot be added
    table.foreignKeys = table.foreignKeys.filter((fk) => restored.has(fk.refTable));
    return { t, table };
  });
  const findings = await target.check(planned.map((p) => p.table));
  const blocking = findings.filter((f) => f.severity === 'error');
  if (blocking.length > 0)
    throw new FerryError(
      'UNSUPPORTED',
      `the target cannot take the backed-up tables: ${blocking[0]!.message}`,
      blocking[0]!.action,
    );
  const out: { table: string; rows: number }[] = [];
  for (const { t, table } of planned) {
    await target.prepare(table, ifExists);
    const steps = t.definition.columns.map((c, i) =>
      formatType(parseType(c.type)) === formatType(table.columns[i]!.type)
        ? undefined
        : converter(parseType(c.type), table.columns[i]!.type),
    );
    const convert = steps.some((s) => s !== undefined)
      ? (rows: unknown[][]) => {
          for (const row of rows)
            for (let i = 0; i < steps.length; i++) {
              const step = steps[i];
              if (step && row[i] !== null) row[i] = step(row[i]);
            }
          return rows;
        }
      : (rows: unknown[][]) => rows;
    let rows = 0;
    for (const file of t.files) {
      const batches = async function* () {
        for await (const batch of backupRows(b, file, batchRows)) yield { rows: convert(batch) };
      };
      const result = await target.writeChunk(
        { table, range: fileRange(file), replace: false, isolate: false },
        batches(),
      );
      rows += result.rows;
    }
    await target.finishTable(table);
    await target.analyze?.(table);
    audit.record('table restored', { table: table.name, rows, from: `${part.side} of backup ${b.manifest.id}` });
    onTable?.({ table: table.name, rows });
    out.push({ table: table.name, rows });
  }
  for (const { table } of planned) await target.addForeignKeys(table);
  return out;
}

/** The part of a backup a restore reads, and its tables (all, or the ones named). */
export function partOf(
  b: OpenedBackup,
  side: 'source' | 'target',
  names?: string[],
): { part: BackupPart; tables: BackupTable[] } {
  const part = b.manifest.parts.find((p) => p.side === side);
  if (!part)
    throw new FerryError(
      'BACKUP_INVALID',
      `backup ${b.manifest.id} holds no ${side} tables${side === 'target' ? " (the target had none of the plan's tables when it was made)" : ''}`,
      side === 'target' ? 'restore the source side (--side source)' : 'use another backup',
    );
  if (!names) return { part, tables: part.tables };
  const unknown = names.filter((n) => !part.tables.some((t) => t.name === n));
  if (unknown.length > 0)
    throw new FerryError(
      'TABLE_NOT_FOUND',
      `backup ${b.manifest.id} has no ${side} table ${unknown.join(', ')}`,
      `choose among ${part.tables.map((t) => t.name).join(', ')}`,
    );
  return { part, tables: part.tables.filter((t) => names.includes(t.name)) };
}

export async function restoreBackup(location: string, opts: RestoreOptions): Promise<RestoreSummary> {
  const t0 = performance.now();
  const b = await openBackup(location, opts.key ?? {});
  try {
    return await restoreFrom(b, opts, t0);
  } finally {
    await b.store.close();
  }
}

async function restoreFrom(b: OpenedBackup, opts: RestoreOptions, t0: number): Promise<RestoreSummary> {
  const { part, tables } = partOf(b, opts.side ?? 'source', opts.tables);
  const state = new StateStore(resolve(opts.stateDir ?? '.ferry'));
  let conn: Connector | undefined;
  try {
    const details = {
      backup: b.manifest.id,
      location: b.location,
      side: part.side,
      target: opts.target,
      tables: tables.map((t) => t.name),
    };
    const plan = { hash: b.manifest.plan.hash, file: b.manifest.plan.file };
    const log = opts.log ?? silentLogger;
    conn = await connect(opts.target, log, 2);
    const into = conn;
    const lock = { state, hash: plan.hash, planFile: plan.file, command: 'restore', target: into.target?.() };
    return await holdingPlan(lock, () =>
      asCommand({ state, plan, command: 'restore', log, details }, async (run) => {
        const restored = await restoreTables(
          b,
          part,
          tables,
          into,
          opts.ifExists ?? 'fail',
          opts.batchRows ?? 1000,
          run.audit,
          opts.onTable,
        );
        return {
          result: {
            runId: run.id,
            backupId: b.manifest.id,
            tables: restored,
            seconds: (performance.now() - t0) / 1000,
          },
          status: 'done',
          details: { tables: restored.length, rows: restored.reduce((n, t) => n + t.rows, 0) },
        };
      }),
    );
  } finally {
    state.close();
    await conn?.close();
  }
}
