// `ferry rollback [RUN]`: undoes what a run wrote to the target. A table the run created is
// dropped; a table it replaced or emptied (target.ifExists drop or truncate) is brought back
// from the backup taken before the run (settings.backup.before). A run and the runs that
// resumed it wrote together and are rolled back together. Before anything is touched, every
// table is compared with the fingerprint the run recorded when it finished the table: a table
// changed since (the application already writes to it) stops the rollback unless forced.
import { resolve } from 'node:path';
import { connect } from '../../connectors/index.js';
import type { ChangeLogSettings, Connector, Lease } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { openBackup, type OpenedBackup } from './backup/reader.js';
import { fingerprintOf, sameFingerprint } from './fingerprint.js';
import { partOf, restoreTables } from './restore.js';
import type { KeySource } from './backup/sealed.js';
import { requireRun, StateStore, type BackupRecord, type TableWrite } from '../session/checkpoints.js';
import { asCommand } from '../session/command.js';
import { lockPlan } from '../session/lock.js';
import { sourceSide, targetSide } from '../session/sides.js';
import { changeLogSettingsOf } from '../follow/follow.js';
import { loadPlan } from '../../core/plan.js';

export interface RollbackOptions {
  stateDir?: string;
  /** a run of the plan to roll back (default: the latest run) */
  runId?: string;
  /** roll back even when a table changed since the run, or cannot be brought back as it was */
  force?: boolean;
  /** only work out and return the steps; change nothing */
  check?: boolean;
  /** the key of the pre-run backup (default: where the backup says it came from) */
  key?: KeySource;
  log?: Logger;
}

export type RollbackAction = 'drop' | 'restore' | 'empty' | 'none';

export interface RollbackStep {
  table: string;
  action: RollbackAction;
  /** why, in a sentence */
  reason: string;
  /** a reason to stop unless forced */
  blocker?: string;
}

export interface RollbackResult {
  /** the rollback's own run id (its audit log) */
  runId: string;
  /** the runs whose writes were undone */
  runs: string[];
  steps: RollbackStep[];
  backup?: string;
  /** false when only checked */
  done: boolean;
}

async function stepFor(
  conn: Connector,
  w: TableWrite,
  backup: { record: BackupRecord; tables: Set<string> } | undefined,
): Promise<RollbackStep> {
  const now = await fingerprintOf(conn, w.definition, 1000);
  const changed =
    w.fingerprint && now && !sameFingerprint(w.fingerprint, now)
      ? `${w.name} changed since the run left it (${w.fingerprint.rows} rows then, ${now.rows} rows now${w.fingerprint.rows === now.rows ? ', with other content' : ''})`
      : undefined;
  const unfinished = w.fingerprint ? '' : ' (the run did not finish it)';
  // a table that existed before comes back from the backup even when someone dropped the run's
  if (w.action !== 'created' && backup?.tables.has(w.name))
    return {
      table: w.name,
      action: 'restore',
      reason: `the run ${w.action} it; pre-run backup ${backup.record.id} holds it as it was`,
      blocker: changed,
    };
  if (!now) return { table: w.name, action: 'none', reason: 'the table is gone already' };
  if (w.action === 'created')
    return { table: w.name, action: 'drop', reason: `the run created it${unfinished}`, blocker: changed };
  const lost = `${w.name} existed before the run, which ${w.action} it, and no pre-run backup holds it: its earlier rows cannot be brought back (set settings.backup.before for next time)`;
  return w.action === 'replaced'
    ? {
        table: w.name,
        action: 'drop',
        reason: `the run replaced it${unfinished}; no pre-run backup`,
        blocker: changed ?? lost,
      }
    : {
        table: w.name,
        action: 'empty',
        reason: `the run emptied and filled it${unfinished}; no pre-run backup`,
        blocker: changed ?? lost,
      };
}

async function* noRows() {}

export async function rollbackRun(opts: RollbackOptions = {}): Promise<RollbackResult> {
  const state = new StateStore(resolve(opts.stateDir ?? '.ferry'), { existing: true });
  let conn: Connector | undefined;
  let opened: OpenedBackup | undefined;
  let lease: Lease | undefined;
  try {
    const run = requireRun(state, opts.runId);
    if (run.command !== 'run')
      throw new FerryError(
        'RUN_NOT_FOUND',
        `${run.id} is a ${run.command}, not a run`,
        'give the id of a `ferry run` (see the audit folder of the state directory)',
      );
    const hash = run.planHash;
    const writes = state.tableWrites(hash);
    const runs = state.runsOf(hash, 'run').map((r) => r.id);
    if (writes.length === 0)
      throw new FerryError(
        'RUN_NOT_FOUND',
        `run ${run.id} left nothing to roll back (it wrote no table, or was rolled back already)`,
        'nothing to do',
      );
    const target = state.planTarget(hash);
    if (!target)
      throw new FerryError(
        'RUN_NOT_FOUND',
        `the state has no target recorded for run ${run.id}`,
        'roll back by hand: drop the tables the run created',
      );
    conn = await connect(target.url, opts.log ?? silentLogger, 2, target.options);
    if (!targetSide(conn).drop)
      throw new FerryError(
        'UNSUPPORTED',
        `rollback is not available for ${conn.kind} targets: the ${conn.kind} connector cannot remove what a run wrote`,
        `remove it by hand: ${writes.map((w) => w.name).join(', ')} (see docs/safety.md, "Rollback by target kind")`,
      );
    // a check only looks; a rollback acts on what it checked, with no command of the plan running
    if (!opts.check)
      lease = await lockPlan({ state, hash, planFile: run.planFile, command: 'rollback', target: targetSide(conn) });

    const record = state.backups(hash, 'before-run').at(-1);
    if (record && writes.some((w) => w.action !== 'created'))
      opened = await openBackup(record.location, opts.key ?? record.key);
    const backedUp = opened?.manifest.parts.find((p) => p.side === 'target')?.tables.map((t) => t.name) ?? [];
    const steps: RollbackStep[] = [];
    for (const w of writes)
      steps.push(await stepFor(conn, w, record && opened ? { record, tables: new Set(backedUp) } : undefined));
    if (opts.check) return { runId: '', runs, steps, backup: opened?.manifest.id, done: false };

    // before any step: a plan file that cannot say where the stream is stops the rollback whole
    const followed = state.stream(hash) ? followedSource(run.planFile, hash) : undefined;
    const details = {
      of: runs,
      target: target.url,
      force: !!opts.force,
      steps: steps.map((s) => `${s.table}: ${s.action}`),
    };
    const tgt = targetSide(conn);
    const plan = { hash, file: run.planFile };
    return await asCommand(
      { state, plan, command: 'rollback', log: opts.log ?? silentLogger, details },
      async (own) => {
        const blockers = steps.filter((s) => s.blocker);
        if (blockers.length > 0 && !opts.force)
          throw new FerryError(
            'TARGET_CHANGED',
            `refusing to roll back run ${run.id}: ${blockers[0]!.blocker}${blockers.length > 1 ? ` (and ${blockers.length - 1} more)` : ''}`,
            'find out who writes to the target (has the application moved to it?); run `ferry rollback --check` to see every step, and `ferry rollback --force` to roll back all the same',
          );
        for (const s of blockers) own.audit.record('forced', { table: s.table, blocker: s.blocker });
        const byName = new Map(writes.map((w) => [w.name, w]));
        // children before parents: the reverse of the order the run prepared them in
        for (const s of [...steps].reverse()) {
          const w = byName.get(s.table)!;
          if (s.action === 'drop' || s.action === 'restore') await tgt.drop!(w.definition);
          else if (s.action === 'empty')
            await tgt.writeChunk(
              { table: { ...w.definition, key: [] }, range: {}, replace: true, isolate: false },
              noRows(),
            );
          if (s.action !== 'restore' && s.action !== 'none')
            own.audit.record(s.action === 'drop' ? 'table dropped' : 'table emptied', {
              table: s.table,
              reason: s.reason,
            });
        }
        const restore = steps.filter((s) => s.action === 'restore').map((s) => s.table);
        if (restore.length > 0 && opened) {
          const { part, tables } = partOf(opened, 'target', restore);
          await restoreTables(opened, part, tables, conn!, 'fail', 1000, own.audit);
        }
        if (followed) {
          await releaseChangeLog(followed, opts.log ?? silentLogger);
          own.audit.record('live changes released', { slot: followed.settings.slot });
        }
        state.resetPlan(hash, 'rolled back');
        return {
          result: { runId: own.id, runs, steps, backup: opened?.manifest.id, done: true },
          status: 'done',
          details: { tables: steps.length },
        };
      },
    );
  } finally {
    await lease?.release();
    state.close();
    await conn?.close();
    await opened?.store.close();
  }
}

/**
 * Where a followed plan's stream is kept (the source, and the names of the slot and the
 * publication), from the plan file: one that changed since the run may name another, so it is refused.
 */
function followedSource(planFile: string, hash: string): { url: string; settings: ChangeLogSettings } {
  const { plan, hash: now } = loadPlan(planFile);
  if (now !== hash)
    throw new FerryError(
      'STATE_CONFLICT',
      `${planFile} changed since the run it rolls back: it cannot say which source keeps the run's live changes`,
      'put the plan back as it was, or drop the replication slot and publication by hand (docs/live.md)',
    );
  return { url: plan.source.url, settings: changeLogSettingsOf(hash, plan.cdc) };
}

/** Drops what the source keeps for the stream (PostgreSQL: the replication slot and the publication). */
async function releaseChangeLog(at: { url: string; settings: ChangeLogSettings }, log: Logger): Promise<void> {
  const conn = await connect(at.url, log);
  try {
    await sourceSide(conn).changeLog?.(at.settings).drop();
  } finally {
    await conn.close();
  }
}
