// The bracket around every command that acts on a plan (run, test, verify, backup, restore,
// rollback): its run is recorded in the checkpoint store and its audit log is opened at the
// start, and both are closed however the command ends, with the same lines for the same ends.
import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { AuditLog } from '../safety/audit.js';
import type { StateStore } from './checkpoints.js';

/** A command's run, as its body sees it. */
export interface CommandRun {
  id: string;
  audit: AuditLog;
}

/** How a command's body ended: its result, the status its run is recorded with, and the details of its last audit line. */
export interface CommandEnd<T> {
  result: T;
  status: string;
  details?: Record<string, unknown>;
}

export interface CommandStart {
  state: StateStore;
  /** the plan the command acts on: its hash names its state */
  plan: { hash: string; file: string };
  /** the command's name in the state and the audit log: run, test, verify, backup, restore, rollback */
  command: string;
  log: Logger;
  /** what the audit log's first line says besides the command */
  details: Record<string, unknown>;
}

/**
 * Runs `body` as a run of a command: the audit log says "<command> started" first, and then
 * "<command> finished" with the body's status, or "<command> failed" with the error's one line
 * (the error is thrown on). The run's record in the state store ends the same way.
 */
export async function asCommand<T>(start: CommandStart, body: (run: CommandRun) => Promise<CommandEnd<T>>): Promise<T> {
  const { state, plan, command } = start;
  const id = state.startRun(plan.hash, plan.file, command);
  const audit = AuditLog.open(state, id, command, plan.hash, start.log);
  try {
    audit.record(`${command} started`, start.details);
    const end = await body({ id, audit });
    state.finishRun(id, end.status);
    audit.record(`${command} finished`, { status: end.status, ...end.details });
    return end.result;
  } catch (e) {
    const message = e instanceof FerryError ? e.oneLine() : String((e as Error).message);
    try {
      state.finishRun(id, 'failed', message);
      audit.record(`${command} failed`, { error: message });
    } catch {
      // the state folder cannot take the record (a full disk): the error that stopped the command is the one to tell
    }
    throw e;
  } finally {
    audit.close();
  }
}
