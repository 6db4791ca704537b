/**
 * Closed list of `reason` codes on `qontak_action_failed`. Dashboards and alerts group by these,
 * so a code is never renamed; add new ones at the end. Each entry documents when it is emitted.
 */
export const FAILURE_REASONS = {
  // spec §8 / §9 failures
  crm_unauthorized: 'CRM answered 401 even after a token refresh (and API-key fallback, if configured).',
  crm_token_refresh_failed: 'The company token could not be refreshed and no fallback credential worked.',
  id_unresolved: 'Update action whose target `id` could not be resolved at runtime; no request was sent.',
  room_not_found: 'No room for (channel_room_id, organization_id); no job was enqueued.',
  channel_integration_not_found: "The room's channel integration is missing; no job was enqueued.",
  empty_tags: 'Tag action whose tags normalise to an empty list; no job was enqueued.',
  division_id_required: 'assign_type=division without division_id ("Division ID required").',
  agent_id_required: 'assign_type=agent without agent_id ("Agent ID required").',
  // failures a real executor meets
  invalid_params: 'Parameters failed the action schema before any side effect.',
  crm_client_error: 'CRM answered another 4xx (validation, not found, forbidden).',
  crm_rate_limited: 'CRM answered 429 and retries were exhausted.',
  crm_server_error: 'CRM answered 5xx and retries (idempotent calls only) were exhausted.',
  crm_timeout: 'An idempotent CRM call timed out on every attempt.',
  crm_create_outcome_unknown: 'A create (POST) timed out or lost its connection: it may have succeeded, so it is not retried.',
  network_error: 'The upstream could not be reached (DNS, connection refused or reset).',
  queue_unavailable: 'The chat job queue (Redis) could not accept the job.',
  registry_disabled: 'The action is disabled in node_registries; nothing was touched.',
  internal_error: 'A bug in the executor; the span and logs carry the details.',
} as const;

export type FailureReason = keyof typeof FAILURE_REASONS;
export const FAILURE_REASON_CODES = Object.keys(FAILURE_REASONS) as [FailureReason, ...FailureReason[]];

export const TOKEN_REFRESH_OUTCOMES = ['success', 'failed'] as const;
export type TokenRefreshOutcome = (typeof TOKEN_REFRESH_OUTCOMES)[number];
