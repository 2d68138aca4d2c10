// ferry as a library: every command of the CLI is one of these calls.
export * from './core/types.js';
export * from './core/errors.js';
export * from './core/values.js';
export * from './core/plan.js';
export type * from './core/contracts.js';
export { connect } from './connectors/index.js';
export { assess, makePlan, buildPlan, type Assessment, type PlanOptions } from './pipeline/plan/assess.js';
export { runPlan, type RunSummary, type RunEvent } from './pipeline/copy/run.js';
export { verifyPlan, type VerifyResult } from './pipeline/verify/verify.js';
export { writeReport } from './pipeline/observe/report.js';
export { createDemoDatabase } from './pipeline/demo/sample-shop.js';
export { dryRun, type DryRunResult, type DryRunTable } from './pipeline/copy/dryrun.js';
export { backupPlan, verifyBackup, type BackupSummary, type BackupCheck } from './pipeline/safety/backup.js';
export { restoreBackup, type RestoreSummary } from './pipeline/safety/restore.js';
export { rollbackRun, type RollbackResult, type RollbackStep } from './pipeline/safety/rollback.js';
export { verifyAudit, type AuditCheck } from './pipeline/safety/audit.js';
export { StateStore } from './pipeline/session/checkpoints.js';
export { systemClock, type Clock } from './pipeline/copy/schedule.js';
