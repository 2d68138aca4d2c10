// A session: a loaded plan with its state store and both endpoints connected, and every
// planned table mapped against the live source schema. Shared by run, verify and report.
import { resolve } from 'node:path';
import { connect } from '../../connectors/index.js';
import type { Connector, Source, Target } from '../../core/contracts.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { loadPlan, type Plan } from '../../core/plan.js';
import { mapTable, type TableMapping } from '../plan/mapping.js';
import { StateStore } from './checkpoints.js';
import { checkFilters } from './filters.js';
import type { PlanLockRequest } from './lock.js';
import { sourceSide, targetSide } from './sides.js';

export interface SessionOptions {
  log?: Logger;
  /** overrides the plan's settings.stateDir */
  stateDir?: string;
  /** what the command needs of the plan, checked before anything is connected to or written (a backup's key) */
  check?: (plan: Plan) => void;
  /** a warning in one line: the command goes on (a setting lowered to what the servers or memory allow) */
  onWarning?: (line: string) => void;
}

export interface Session {
  plan: Plan;
  planFile: string;
  hash: string;
  state: StateStore;
  source: Connector;
  target: Connector;
  /** the source connector's Source side */
  reader: Source;
  /** the target connector's Target side */
  writer: Target;
  /** mappings per wave, in plan order */
  waves: TableMapping[][];
  /**
   * The command whose run follows this session's stream, as the state store records it: `run`
   * (ferry run --follow) when absent; the way back's session backwards is followed by `follow back`.
   */
  followedBy?: string;
  log: Logger;
  close(): Promise<void>;
}

/** What the plan's lock is taken with by a command of this session (session/lock.ts). */
export function lockRequest(session: Session, command: string): PlanLockRequest {
  return {
    state: session.state,
    hash: session.hash,
    planFile: session.planFile,
    command,
    target: session.writer,
    readsOnly: command === 'verify' || command === 'backup' ? { log: session.log } : undefined,
  };
}

export function openState(plan: Plan, opts: SessionOptions): StateStore {
  return new StateStore(resolve(opts.stateDir ?? plan.settings.stateDir));
}

/** A session's plan, endpoints and mappings without its state store: what a queue's worker needs. */
export type Endpoints = Omit<Session, 'state'>;

/**
 * Loads the plan, connects both endpoints and maps every planned table; no state store is
 * opened (a queue's worker keeps its chunk states in the queue's shared store).
 */
export async function openEndpoints(planFile: string, opts: SessionOptions = {}): Promise<Endpoints> {
  const log = opts.log ?? silentLogger;
  // the plan's transform keys are resolved before anything is connected to, let alone written
  const { plan, hash, keys } = loadPlan(planFile);
  opts.check?.(plan);
  const source = await connect(plan.source.url, log, plan.settings.parallelism + 1);
  let target: Connector | undefined;
  try {
    const reader = sourceSide(source);
    target = await connect(plan.target.url, log, plan.settings.parallelism + 1, plan.target.options);
    const writer = targetSide(target);
    const schema = await source.introspect({ tables: plan.waves.flatMap((w) => w.tables.map((t) => t.source)) });
    const byName = new Map(schema.tables.map((t) => [t.name, t]));
    const tgt = target;
    const waves = plan.waves.map((w, wi) =>
      w.tables.map((tp, ti) =>
        mapTable(plan, tp, byName.get(tp.source), source, tgt, `${planFile}: waves[${wi}].tables[${ti}]`, keys),
      ),
    );
    await checkFilters(plan, planFile, waves, reader);
    return {
      plan,
      planFile,
      hash,
      source,
      target: tgt,
      reader,
      writer,
      waves,
      log,
      async close() {
        await Promise.allSettled([source.close(), tgt.close()]);
      },
    };
  } catch (e) {
    await Promise.allSettled([source.close(), target?.close()]);
    throw e;
  }
}

export async function openSession(planFile: string, opts: SessionOptions = {}): Promise<Session> {
  const endpoints = await openEndpoints(planFile, opts);
  let state: StateStore;
  try {
    state = openState(endpoints.plan, opts);
  } catch (e) {
    await endpoints.close();
    throw e;
  }
  return {
    ...endpoints,
    state,
    async close() {
      state.close();
      await endpoints.close();
    },
  };
}
