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
