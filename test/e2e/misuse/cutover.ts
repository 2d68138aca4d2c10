// Cutover misused: a plan that was copied without --follow, and a followed plan whose
// `ferry run --follow` is not running. One line each (exit 1), nothing frozen, nothing written.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadPlan } from '../../../src/core/plan.js';
import { f, ranState, type Row } from './table.js';

/** The state of a plan that was followed, its follow process gone: a stream record, its run finished. */
function followedOnce(dir: string): void {
  ranState(dir);
  const { hash } = loadPlan(join(dir, 'plan.yaml'));
  const db = new Database(join(dir, '.ferry', 'state.db'));
  try {
    db.prepare("INSERT INTO streams(plan_hash, start, applied) VALUES (?, '0/16B3748', '0/16B3800')").run(hash);
  } finally {
    db.close();
  }
}

export const CUTOVER: Row[] = [
  {
    does: 'cutover of a plan copied without --follow',
    args: () => ['cutover', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: ranState,
    code: 1,
    stderr:
      /^ferry: plan plan\.yaml is not followed: a cutover switches a plan whose live changes ferry follows: start `ferry run PLAN --follow` in another shell/,
    writes: ['target.db'],
  },
  {
    does: 'cutover while no `ferry run --follow` of the plan runs',
    args: () => ['cutover', 'plan.yaml', '--max-freeze', '3s'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: followedOnce,
    code: 1,
    stderr:
      /^ferry: no `ferry run plan\.yaml --follow` is following the plan now: a cutover needs it running to drain the last changes: start `ferry run PLAN --follow` in another shell/,
    writes: ['target.db'],
  },
  {
    does: 'cutover with a --max-freeze that is no duration',
    args: () => ['cutover', 'plan.yaml', '--max-freeze', 'soon'],
    files: () => ({ 'plan.yaml': f.plan }),
    code: 2,
    usage: true,
    stderr:
      /^error: option '--max-freeze <duration>' argument 'soon' is invalid\. expected a duration such as 2s, 500ms or 1m$/,
  },
];
