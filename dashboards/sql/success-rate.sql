-- Action success rate (spec §12): executed / completed x 100 in [from, to), where completed = executed + failed,
-- each outcome event counted once per event_id at its own timestamp; it is 100 - the failure rate. Blocked calls
-- (the action was disabled in node_registries: src/events/outcome-class.ts) say nothing about the action's
-- quality: they are in neither side and are shown as `blocked`. Creates with an unknown outcome count as failures
-- (the agent could not confirm them) and are also shown as `unknown_outcome`. The target is the success SLO of the
-- alert rules (parameter: the error-budget rule's allowed failure rate, target = 1 - it); `meets_target` compares
-- as the rule does (failed / completed <= allowed). Exact distinct event_ids.
SELECT
  executed,
  failed,
  executed + failed AS completed,
  blocked,
  unknown_outcome,
  if(completed = 0, NULL, 100 * executed / completed) AS success_rate_pct,
  100 * (1 - {slo_allowed_failure_rate:Nullable(Float64)}) AS target_pct,
  if(completed = 0, NULL, failed / completed <= {slo_allowed_failure_rate:Nullable(Float64)}) AS meets_target
FROM (
  SELECT
    sumIf(n, event = 'qontak_action_executed') AS executed,
    sumIf(n, event = 'qontak_action_failed' AND reason NOT IN ({{blocked_reasons}})) AS failed,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{blocked_reasons}})) AS blocked,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{unknown_reasons}})) AS unknown_outcome
  FROM ({{counts:qontak_action_executed,qontak_action_failed}})
)
