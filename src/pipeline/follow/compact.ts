// `ferry compact PLAN`: for a target that keeps live changes beside the copy (object storage's
// change files), writes every table of the plan as it is now as its new snapshot, with its
// manifest, and removes the changes taken in. Run it at cutover, or whenever the change files
// have grown, once the copy is in.
import type { CompactResult } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import { asCommand } from '../session/command.js';
import { withAddedColumns } from './added-columns.js';
import { holdingPlan } from '../session/lock.js';
import { lockRequest, openSession, type Session, type SessionOptions } from '../session/session.js';

export interface CompactSummary {
  runId: string;
  tables: CompactResult[];
}

export async function compactPlan(planFile: string, opts: SessionOptions = {}): Promise<CompactSummary> {
  const session = await openSession(planFile, opts);
  try {
    return await compactSession(session);
  } finally {
    await session.close();
  }
}

/** Compacts the tables of a session's plan (`ferry compact`, and a cutover into object storage once cut over). */
export async function compactSession(session: Session): Promise<CompactSummary> {
  const { state, hash, plan, planFile } = session;
  const compact = session.writer.compact?.bind(session.writer);
  if (!compact)
    throw new FerryError(
      'UNSUPPORTED',
      `${session.target.kind} targets apply live changes in place: there is nothing to compact`,
      'compact a plan whose target is object storage (s3: or file:)',
    );
  // with the columns added to followed tables: the new snapshot holds them
  const tables = (await withAddedColumns(session, session.waves.flat())).map((m) => m.target);
  // its own lock: a second compaction waits its turn, the run following the plan goes on
  return holdingPlan({ ...lockRequest(session, 'compact'), scope: 'compact' }, () =>
    asCommand(
      {
        state,
        plan: { hash, file: planFile },
        command: 'compact',
        log: session.log,
        details: { target: plan.target.url },
      },
      async (run) => {
        const results = await compact(tables);
        for (const r of results) run.audit.record('table compacted', { ...r });
        return {
          result: { runId: run.id, tables: results },
          status: 'done',
          details: { tables: results.length, changeFiles: results.reduce((n, r) => n + r.changeFiles, 0) },
        };
      },
    ),
  );
}
