// `ferry runs`: what happened in a state folder, newest first: every command that acted on a
// plan, with how it ended.
import { resolve } from 'node:path';
import { StateStore, type RunRecord } from '../session/checkpoints.js';

export function listRuns(opts: { stateDir?: string } = {}): RunRecord[] {
  const state = new StateStore(resolve(opts.stateDir ?? '.ferry'), { existing: true });
  try {
    return state.allRuns();
  } finally {
    state.close();
  }
}
