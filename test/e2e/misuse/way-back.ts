// The way back (ferry cutover --reverse, ferry rollback --after-cutover, ferry cutover --finish):
// what cannot be followed back, and what is not cut over, is one line before anything is frozen.
import { f, type Row } from './table.js';

export const WAY_BACK: Row[] = [
  {
    does: 'cutover --reverse and --finish at once',
    args: () => ['cutover', 'plan.yaml', '--reverse', '--finish'],
    files: () => ({ 'plan.yaml': f.plan }),
    code: 2,
    stderr:
      /^ferry: --reverse and --finish do not go together: give one: --reverse to cut over \(or follow back\), --finish when the move is over, --unfreeze to undo a freeze left behind$/,
  },
  {
    does: 'cutover --reverse into a target that cannot be followed back (SQLite)',
    args: () => ['cutover', 'plan.yaml', '--reverse'],
    files: () => ({ 'plan.yaml': f.plan }),
    code: 1,
    stderr:
      /^ferry: sqlite targets cannot be followed back into the source: the way back \(--reverse\) needs a PostgreSQL or MySQL\/MariaDB target: cut over without --reverse$/,
    writes: ['.ferry', 'target.db'],
  },
  {
    does: 'rollback --after-cutover without the plan',
    args: () => ['rollback', '--after-cutover'],
    code: 2,
    stderr: /^ferry: ferry rollback --after-cutover needs the plan file: ferry rollback --after-cutover PLAN$/,
  },
  {
    does: 'rollback --after-cutover of a plan that is not cut over',
    args: () => ['rollback', '--after-cutover', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.mysqlPlan }),
    code: 1,
    stderr:
      /^ferry: plan plan\.yaml is not cut over: there is nothing to roll back after a cutover: see `ferry status PLAN`; before a cutover the source is still the application's database$/,
    writes: ['.ferry'],
  },
];
