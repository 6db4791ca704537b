-- On-call (spec §11 alert): the rolling 1-hour failure rate per node_type over [to - 60 min, to), to the
-- millisecond (metricParams sets `from` to `to` - 60 min whatever was asked): failed / completed x 100, where
-- completed = executed + failed, each outcome event counted once per event_id at its own timestamp (a call
-- invoked before the window and finished inside it is in both sides, so the rate never passes 100%). Blocked
-- calls (src/events/outcome-class.ts) are in neither side and are shown as `blocked`; creates with an unknown
-- outcome are failures, also shown as `unknown_outcome`. The thresholds are the alert rules' (parameters from
-- the rules file): `above_threshold` is 1 when the rate is strictly above rule `failure-rate-1h`'s threshold,
-- compared as the evaluator compares it (failed / completed > threshold, without its minimum volume);
-- `kill_switch_pct` is the kill-switch rule's threshold. Same window and rate as the evaluator's rule
-- `failure-rate-1h`. Exact distinct event_ids (include/counts.sql: the minute rollup, raw rows for partial minutes).
SELECT
  node_type,
  executed + failed AS completed,
  executed,
  failed,
  blocked,
  unknown_outcome,
  if(completed = 0, NULL, 100 * failed / completed) AS failure_rate_pct,
  100 * {failure_rate_threshold:Nullable(Float64)} AS threshold_pct,
  if(completed = 0, NULL, failed / completed > {failure_rate_threshold:Nullable(Float64)}) AS above_threshold,
  100 * {kill_switch_threshold:Nullable(Float64)} AS kill_switch_pct
FROM (
  SELECT
    node_type,
    sumIf(n, event = 'qontak_action_executed') AS executed,
    sumIf(n, event = 'qontak_action_failed' AND reason NOT IN ({{blocked_reasons}})) AS failed,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{blocked_reasons}})) AS blocked,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{unknown_reasons}})) AS unknown_outcome
  FROM ({{counts:qontak_action_executed,qontak_action_failed}})
  GROUP BY node_type
)
ORDER BY node_type
