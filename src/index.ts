// ferry as a library: every command of the CLI is one of these calls.
export * from './core/types.js';
export * from './core/errors.js';
export * from './core/values.js';
export * from './core/plan.js';
export type * from './core/contracts.js';
export { connect } from './connectors/index.js';
export {
  assess,
  makePlan,
  buildPlan,
  planNotes,
  planRenames,
  type Assessment,
  type PlanOptions,
} from './pipeline/plan/assess.js';
export { runPlan, type RunSummary, type RunEvent } from './pipeline/copy/run.js';
export { verifyPlan, type VerifyResult } from './pipeline/verify/verify.js';
export { perfPlan, type PerfResult, type QueryCheck } from './pipeline/perf/perf.js';
export { writeReport } from './pipeline/observe/report.js';
export { planStatus, type PlanStatus } from './pipeline/observe/status.js';
export { compactPlan, type CompactSummary } from './pipeline/follow/compact.js';
export { cutoverPlan, type CutoverOptions, type CutoverResult } from './pipeline/cutover/cutover.js';
export {
  cutoverWithWayBack,
  rollbackAfterCutover,
  type WayBackOptions,
  type WayBackSummary,
} from './pipeline/reverse/way-back.js';
export { finishPlan, type FinishSummary } from './pipeline/reverse/finish.js';
export { startDashboard, type Dashboard, type DashboardOptions } from './pipeline/observe/dashboard/server.js';
export * from './core/changes.js';
export { createDemoDatabase } from './pipeline/demo/sample-shop.js';
export { dryRun, type DryRunResult, type DryRunTable } from './pipeline/copy/dryrun.js';
export { backupPlan, type BackupSummary } from './pipeline/safety/backup/writer.js';
export { verifyBackup, type BackupCheck } from './pipeline/safety/backup/verify.js';
export { restoreBackup, type RestoreSummary } from './pipeline/safety/restore.js';
export { rollbackRun, type RollbackResult, type RollbackStep } from './pipeline/safety/rollback.js';
export { verifyAudit, type AuditCheck } from './pipeline/safety/audit.js';
export { StateStore } from './pipeline/session/checkpoints.js';
export { systemClock, type Clock } from './pipeline/copy/schedule.js';
export { runWorker, type WorkerOptions } from './pipeline/queue/worker.js';
export {
  executeChunkJob,
  chunkJobMessage,
  parseChunkJob,
  ChunkJobContext,
  jobFailure,
  failureOf,
  type ChunkJobMessage,
  type ChunkJobResult,
} from './pipeline/queue/job.js';
export { SharedCheckpoints } from './pipeline/queue/shared-state.js';
export { queueAddress } from './pipeline/queue/address.js';
