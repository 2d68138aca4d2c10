// The foreign keys a target adds after the data, as the plan's onOrphans says: a key whose rows
// may refer to no parent is left out (skip-key), added unchecked for the rows already there
// (not-valid), or added as usual once those rows are rejected (reject-rows, orphans.ts).
import type { Connector, TargetForeignKey } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { TablePlan } from '../../core/plan.js';
import type { Finding, ForeignKey } from '../../core/types.js';

export type OrphanChoice = NonNullable<TablePlan['foreignKeys'][number]['onOrphans']>;

/** The target's foreign keys of a planned table; `where` names the table in the plan for errors. */
export function targetForeignKeys(tp: TablePlan, target: Connector, where: string): TargetForeignKey[] {
  return tp.foreignKeys.flatMap(({ onOrphans, ...fk }): TargetForeignKey[] => {
    if (onOrphans === 'skip-key') return [];
    if (onOrphans !== 'not-valid') return [fk];
    if (!target.capabilities.notValidForeignKeys)
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: foreign key ${fk.name}: onOrphans not-valid adds the key unchecked for the rows there (PostgreSQL's NOT VALID), which ${target.kind} cannot`,
        'use onOrphans: skip-key (copy the rows, leave the key out) or reject-rows (reject the rows that have no parent)',
      );
    return [{ ...fk, notValid: true }];
  });
}

/** The choice the plan makes for a key with orphan rows: keep every row, and the key where the target can hold it unchecked. */
export function defaultOrphanChoice(target: Connector): OrphanChoice {
  return target.capabilities.notValidForeignKeys ? 'not-valid' : 'skip-key';
}

/** The plan writer's comment beside a foreign key given onOrphans: how many rows, and the other choices. */
export function orphanNote(rows: number, choice: OrphanChoice, target: Connector): string {
  const others = (['skip-key', 'reject-rows', 'not-valid'] as const).filter(
    (c) => c !== choice && (c !== 'not-valid' || target.capabilities.notValidForeignKeys),
  );
  return `${rows} rows refer to no parent row: onOrphans ${choice} keeps them (or ${others.join(', ')})`;
}

/** Assess's finding for a foreign key some rows of which refer to no parent. */
export function orphanFinding(table: string, fk: ForeignKey, rows: number, target: Connector | undefined): Finding {
  const choice = target ? defaultOrphanChoice(target) : undefined;
  const planned =
    choice === 'not-valid'
      ? 'the plan copies them and adds the key as NOT VALID (checked for rows written later only)'
      : 'the plan copies them and leaves the key out';
  const others = target?.capabilities.notValidForeignKeys ? 'skip-key or reject-rows' : 'reject-rows';
  return {
    severity: 'warning',
    code: 'ORPHAN_ROWS',
    table,
    message: `${rows} rows of ${table} refer to no row of ${fk.refTable} by foreign key ${fk.name} (${fk.columns.join(', ')})`,
    action: choice
      ? `${planned} (onOrphans: ${choice}); set onOrphans to ${others} in the plan (reject-rows counts against the error budget), or fix the rows in the source`
      : 'the key cannot be added as it is: the plan sets onOrphans for it (not-valid into a SQL database, skip-key or reject-rows); or fix the rows in the source',
  };
}
