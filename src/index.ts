// ferry as a library: every command of the CLI is one of these calls.
export * from './core/types.js';
export * from './core/errors.js';
export * from './core/values.js';
export * from './core/plan.js';
export type * from './core/contracts.js';
export { connect } from './connectors/index.js';
