/**
 * The public entry point of the `actionpulse` package (`import { createRuntime } from 'actionpulse'`): what an
 * agent runtime needs to run instrumented Qontak actions, and nothing else. The event contract alone is
 * `actionpulse/events`. Everything not exported here is internal and may change in any release.
 */
export { createRuntime, type RuntimeOptions } from './create-runtime.ts';
export type { Runtime, RuntimeHealth, Provisioning, CrmCredentials } from './agent-runtime.ts';
export type { ExecuteResult, ExecutionContext, Contact, ConfiguredInput, UnconfiguredInput, AgentInput, RecordResult, ParamsOf } from '../executors/index.ts';
export type { EmitterStats } from '../producers/emitter-metrics.ts';
export { ConfigError, type ConfigProblem } from '../platform/config.ts';
export { NODE_TYPE_NAMES, isNodeType, type NodeType, FAILURE_REASONS, type FailureReason } from '../events/index.ts';
