// `ferry backup PLAN`: the source tables, and the target tables that exist already, exported
// to gzip-compressed files sealed with AES-256-GCM (see sealed.ts), in a folder or object
// storage (format.ts). One file per chunk of the plan, so a backup streams in bounded memory
// and in parallel. The manifest is authenticated with a key derived from the backup key; the
// key itself is never stored, only its id.
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { SourceTable } from '../../../core/contracts.js';
import { FerryError } from '../../../core/errors.js';
import { redact } from '../../../core/secrets.js';
import type { KeyRange, RowBatch } from '../../../core/types.js';
import { stateStringify } from '../../../core/values.js';
import type { AuditLog } from '../audit.js';
import { tableExists } from '../fingerprint.js';
import { writeStream, type ObjectStore } from '../../../stores/store.js';
import { systemClock, type Clock } from '../../copy/schedule.js';
import { boundsOf, type Bounds } from '../../copy/bounds.js';
import { Throttle } from '../../copy/throttle.js';
import { asCommand } from '../../session/command.js';
import { holdingPlan } from '../../session/lock.js';
import { lockRequest, openSession, type Session, type SessionOptions } from '../../session/session.js';
import {
  dataFile,
  definitionOf,
  FORMAT,
  FORMAT_VERSION,
  MANIFEST,
  newBackupId,
  tableFolder,
  targetTableOf,
  type BackupFile,
  type BackupPart,
  type BackupTable,
  type Manifest,
} from './format.js';
import { backupLocation, checkKeyPlace, openBackupLocation } from './location.js';
import { loadKey, manifestMac, SealStream, type BackupKey, type KeySource } from './sealed.js';

/** fast compression: level 1 makes files a few percent larger than the default 6, in a quarter of the time */
const GZIP_LEVEL = 1;

export interface BackupSummary {
  id: string;
  /** the folder or s3:// prefix of this backup */
  location: string;
  runId: string;
  tables: { side: 'source' | 'target'; table: string; rows: number; files: number; bytes: number }[];
  /** why something was left out */
  notes: string[];
  seconds: number;
}

export interface BackupOptions extends SessionOptions {
  /** overrides settings.backup.to */
  to?: string;
  /** overrides settings.backup.keyEnv/keyFile */
  key?: KeySource;
  clock?: Clock;
  onTable?: (t: BackupSummary['tables'][number]) => void;
}

/** What a backup needs besides the session. */
export interface BackupContext {
  runId: string;
  audit: AuditLog;
  purpose: 'before-run' | 'manual';
  to: string;
  key: KeySource;
  clock: Clock;
  onTable?: BackupOptions['onTable'];
  /** readers and batch size within what the servers and memory allow */
  bounds: Bounds;
}

/** The key source of a plan's backup settings, unless the caller names one. */
export function keySourceOf(settings: Session['plan']['settings'], override?: KeySource): KeySource {
  if (override?.env || override?.file) return override;
  return { env: settings.backup?.keyEnv, file: settings.backup?.keyFile };
}

/** Encodes rows as NDJSON, compresses, seals and stores one file; returns its entry. */
async function writeRows(
  store: ObjectStore,
  path: string,
  key: BackupKey,
  rows: AsyncIterable<RowBatch>,
  range: KeyRange,
  throttle?: Throttle,
): Promise<BackupFile> {
  let count = 0;
  const lines = async function* (): AsyncIterable<Buffer> {
    for await (const batch of rows) {
      await throttle?.pass(batch.rows);
      let text = '';
      for (const row of batch.rows) text += stateStringify(row) + '\n';
      count += batch.rows.length;
      if (text) yield Buffer.from(text);
    }
  };
  // pipeline() hands a failed read on to the store's write instead of leaving it waiting
  const stored = await writeStream(
    store,
    path,
    pipeline(Readable.from(lines()), createGzip({ level: GZIP_LEVEL }), new SealStream(key), () => {}),
  );
  return { path, rows: count, bytes: stored.bytes, sha256: stored.sha256, range: stateStringify(range) };
}

async function inParallel<T>(items: T[], workers: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  let failure: unknown;
  const worker = async () => {
    while (queue.length > 0 && failure === undefined) {
      try {
        await fn(queue.shift()!);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, worker));
  if (failure !== undefined) throw failure;
}

async function backupSource(
  session: Session,
  store: ObjectStore,
  key: BackupKey,
  ctx: BackupContext,
  throttle: Throttle | undefined,
): Promise<BackupPart> {
  const { plan } = session;
  const source = session.reader;
  const schema = await session.source.introspect({ tables: plan.waves.flatMap((w) => w.tables.map((t) => t.source)) });
  const byName = new Map(schema.tables.map((t) => [t.name, t]));
  const readers = ctx.bounds.workers;
  const view = await source.snapshot(readers);
  try {
    const tables: BackupTable[] = [];
    let ti = 0;
    for (const m of session.waves.flat()) {
      const info = byName.get(m.plan.source);
      if (!info)
        throw new FerryError('TABLE_NOT_FOUND', `source table ${m.plan.source} does not exist`, 'check the plan');
      // the whole table, every column, no row filter: a backup is of the table, not of the plan's selection
      const table: SourceTable = { name: info.name, columns: info.columns, key: m.source.key };
      const ranges = table.key.length > 0 ? await source.split(table, m.plan.chunking.rowsPerChunk, view) : [{}];
      const folder = tableFolder('source', ++ti, info.name);
      const files: BackupFile[] = new Array(ranges.length);
      await inParallel(
        ranges.map((r, i) => [r, i] as const),
        readers,
        async ([range, i]) => {
          files[i] = await writeRows(
            store,
            dataFile(folder, i + 1),
            key,
            source.read(table, range, view, ctx.bounds.batchRows),
            range,
            throttle,
          );
        },
      );
      const entry: BackupTable = {
        name: info.name,
        definition: definitionOf(info),
        key: table.key,
        rows: files.reduce((n, f) => n + f.rows, 0),
        files,
      };
      tables.push(entry);
      reportTable(ctx, 'source', entry);
    }
    return {
      side: 'source',
      engine: session.source.kind,
      version: schema.version,
      url: redact(plan.source.url),
      tables,
    };
  } finally {
    await view.release();
  }
}

/** The target tables of the plan that exist already; undefined when none does. */
async function backupTarget(
  session: Session,
  store: ObjectStore,
  key: BackupKey,
  ctx: BackupContext,
): Promise<BackupPart | undefined> {
  const names: string[] = [];
  for (const m of session.waves.flat()) if (await tableExists(session.target, m.target.name)) names.push(m.target.name);
  if (names.length === 0) return undefined;
  const schema = await session.target.introspect({ tables: names });
  const target = session.writer;
  const tables: BackupTable[] = [];
  let ti = 0;
  for (const info of schema.tables) {
    const def = definitionOf(info);
    const table = targetTableOf(def, info.name, [], session.target, session.target.kind);
    const file = await writeRows(
      store,
      dataFile(tableFolder('target', ++ti, info.name), 1),
      key,
      target.readBack(table, {}, ctx.bounds.batchRows),
      {},
    );
    const entry: BackupTable = { name: info.name, definition: def, key: [], rows: file.rows, files: [file] };
    tables.push(entry);
    reportTable(ctx, 'target', entry);
  }
  return {
    side: 'target',
    engine: session.target.kind,
    version: schema.version,
    url: redact(session.plan.target.url),
    tables,
  };
}

function reportTable(ctx: BackupContext, side: 'source' | 'target', t: BackupTable): void {
  const bytes = t.files.reduce((n, f) => n + f.bytes, 0);
  ctx.audit.record('backup table', { side, table: t.name, rows: t.rows, files: t.files.length, bytes });
  ctx.onTable?.({ side, table: t.name, rows: t.rows, files: t.files.length, bytes });
}

/** Backs up the source, and the target's existing tables, of an open session. */
export async function backupSession(session: Session, ctx: BackupContext): Promise<BackupSummary> {
  const t0 = performance.now();
  const key = loadKey(ctx.key);
  checkKeyPlace(ctx.key, ctx.to);
  const id = newBackupId();
  const location = backupLocation(ctx.to, id);
  const store = await openBackupLocation(location);
  try {
    ctx.audit.record('backup location', { backup: id, location, keyId: key.id, purpose: ctx.purpose });
    const notes: string[] = [];
    const parts: BackupPart[] = [
      await backupSource(session, store, key, ctx, Throttle.of(session.plan.settings.throttle, ctx.clock)),
    ];
    if (session.writer.drop) {
      const target = await backupTarget(session, store, key, ctx);
      if (target) parts.push(target);
      else notes.push('no table of the plan exists in the target yet: nothing of the target to back up');
    } else
      notes.push(`the target's existing data is not backed up: ferry cannot restore ${session.target.kind} targets`);
    const body = {
      format: FORMAT,
      version: FORMAT_VERSION,
      id,
      created: new Date().toISOString(),
      plan: { file: session.planFile, hash: session.hash },
      runId: ctx.runId,
      keyId: key.id,
      cipher: 'aes-256-gcm',
      compression: 'gzip',
      rows: 'ndjson',
      parts,
    } as const;
    const manifest: Manifest = { ...body, mac: manifestMac(key, JSON.stringify(body)) };
    // written last: a backup without its manifest is one that did not finish
    await store.put(MANIFEST, JSON.stringify(manifest, null, 2) + '\n');
    session.state.addBackup({
      id,
      planHash: session.hash,
      runId: ctx.runId,
      location,
      purpose: ctx.purpose,
      created: body.created,
      key: ctx.key,
    });
    const tables = parts.flatMap((p) =>
      p.tables.map((t) => ({
        side: p.side,
        table: t.name,
        rows: t.rows,
        files: t.files.length,
        bytes: t.files.reduce((n, f) => n + f.bytes, 0),
      })),
    );
    ctx.audit.record('backup written', {
      backup: id,
      location,
      tables: tables.length,
      rows: tables.reduce((n, t) => n + t.rows, 0),
    });
    return { id, location, runId: ctx.runId, tables, notes, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await store.close();
  }
}

/** `ferry backup PLAN`. */
export async function backupPlan(planFile: string, opts: BackupOptions = {}): Promise<BackupSummary> {
  const locationOf = (plan: Session['plan']) => opts.to ?? plan.settings.backup?.to;
  // where the backup goes and its key, before anything is written (the state folder included)
  const check = (plan: Session['plan']) => {
    const to = locationOf(plan);
    if (!to)
      throw new FerryError(
        'PLAN_INVALID',
        'no backup location: the plan has no settings.backup.to',
        'add settings.backup.to (a folder or s3://bucket/prefix) to the plan, or pass --to',
      );
    const key = keySourceOf(plan.settings, opts.key);
    loadKey(key);
    checkKeyPlace(key, to);
  };
  const session = await openSession(planFile, { ...opts, check });
  const { state, hash, plan } = session;
  const to = locationOf(plan)!;
  try {
    // the plan's lock: a backup taken while a run writes the target would keep half its tables
    return await holdingPlan(lockRequest(session, 'backup'), () =>
      asCommand(
        { state, plan: { hash, file: planFile }, command: 'backup', log: session.log, details: { to } },
        async (run) => {
          const summary = await backupSession(session, {
            runId: run.id,
            audit: run.audit,
            purpose: 'manual',
            to,
            key: keySourceOf(plan.settings, opts.key),
            clock: opts.clock ?? systemClock,
            onTable: opts.onTable,
            bounds: await boundsOf(session, (line) => opts.onWarning?.(line)),
          });
          return { result: summary, status: 'done', details: { backup: summary.id } };
        },
      ),
    );
  } finally {
    await session.close();
  }
}
