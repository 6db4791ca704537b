-- Action success rate (spec §12, target >= 97%): executed / (executed + failed) x 100 in [from, to).
-- Blocked calls (the action was disabled in node_registries: src/events/outcome-class.ts) say nothing about the
-- action's quality: they are not in `failed` and are shown as `blocked`. Creates with an unknown outcome count as
-- failures (the agent could not confirm them) and are also shown as `unknown_outcome`. Exact distinct event_ids.
SELECT
  executed,
  failed,
  blocked,
  unknown_outcome,
  if(executed + failed = 0, NULL, 100 * executed / (executed + failed)) AS success_rate_pct,
  97 AS target_pct
FROM (
  SELECT
    sumIf(n, event = 'qontak_action_executed') AS executed,
    sumIf(n, event = 'qontak_action_failed' AND reason NOT IN ({{blocked_reasons}})) AS failed,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{blocked_reasons}})) AS blocked,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{unknown_reasons}})) AS unknown_outcome
  FROM ({{counts:qontak_action_executed,qontak_action_failed}})
)
