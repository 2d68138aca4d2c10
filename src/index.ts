// ferry as a library: every command of the CLI is one of these calls.
export * from './core/types.js';
export * from './core/errors.js';
export * from './core/values.js';
export * from './core/plan.js';
export type * from './core/contracts.js';
export { connect } from './connectors/index.js';
export { assess, makePlan, buildPlan, type Assessment, type PlanOptions } from './pipeline/assess.js';
export { runPlan, type RunSummary, type RunEvent } from './pipeline/run.js';
export { verifyPlan, type VerifyResult } from './pipeline/verify.js';
export { writeReport } from './pipeline/report.js';
export { createDemoDatabase } from './pipeline/demo.js';
export { dryRun, type DryRunResult, type DryRunTable } from './pipeline/dryrun.js';
export { backupPlan, verifyBackup, type BackupSummary, type BackupCheck } from './pipeline/backup.js';
export { restoreBackup, type RestoreSummary } from './pipeline/restore.js';
export { rollbackRun, type RollbackResult, type RollbackStep } from './pipeline/rollback.js';
export { verifyAudit, type AuditCheck } from './pipeline/audit.js';
export { StateStore } from './pipeline/state.js';
export { systemClock, type Clock } from './pipeline/schedule.js';
