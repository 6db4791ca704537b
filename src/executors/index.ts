export {
  createExecutor,
  TRACER_NAME,
  type Executor,
  type ExecutorDeps,
  type ConfiguredInput,
  type UnconfiguredInput,
  type AgentInput,
  type RecordResult,
} from './executor.ts';
export type { ExecuteResult, ExecutionContext } from './action-types.ts';
export type { Contact } from './interpolate.ts';
export {
  migrateRegistry,
  setRegistryEnabled,
  setOrganizationEnabled,
  readRegistry,
  readOrganizationDisables,
  REGISTRY_NOTIFY_CHANNEL,
  REGISTRY_SCOPES,
  type RegistryChange,
  type RegistryScope,
} from './registry-schema.ts';
export { RegistryGate, type GateVerdict } from './registry-gate.ts';
export { RoomDirectory } from './room-directory.ts';
export { SidekiqQueue, redisBackend, fileBackend, type SidekiqJob, type SidekiqBackend } from './sidekiq-queue.ts';
export { WORKERS } from './chat-actions.ts';
export { normalizeTags } from './tag-normalize.ts';
export { PARAM_SCHEMAS, parseParams, type ParamsOf, type ParsedParamsOf } from './action-params.ts';
export { TokenCipher } from './token-crypto.ts';
export { TokenStore, type CompanyToken } from './token-store.ts';
