-- Per-node_type volume and duration (spec §11.1) in [from, to): invocations (a volume, never a rate's
-- denominator; blocked calls subtracted, their invocation was refused), executions, failures, blocked calls,
-- unknown-outcome creates, success rate = executed / completed (completed = executed + failed, blocked calls in
-- neither: see success-rate.sql), and p50/p95 of duration_ms over executed + failed events (how long the
-- executor ran, whatever the outcome). Counts are
-- exact distinct event_ids; percentiles come from hourly quantileTiming states: the element at rank
-- floor(level x n), exact while a group holds at most 5,670 durations or the value is below 1,024 ms, otherwise
-- rounded to 16 ms; durations above 30 s count as 30 s; a duplicate delivery that reached the table before a
-- merge weighs twice. See dashboards/README.md, "Percentiles".
-- With {reason:String} (a failure reason, '' = all) only the calls that failed with that reason count: the rows
-- are the actions with such a call, `failed`, `blocked` and `unknown_outcome` count them, and the columns about
-- every call (invoked, executed, success_rate_pct, p50_ms, p95_ms) are NULL.
SELECT
  node_type,
  if({reason:String} = '', n_invoked, NULL) AS invoked,
  if({reason:String} = '', n_executed, NULL) AS executed,
  n_failed AS failed,
  n_blocked AS blocked,
  n_unknown AS unknown_outcome,
  if({reason:String} != '' OR n_executed + n_failed = 0, NULL, 100 * n_executed / (n_executed + n_failed)) AS success_rate_pct,
  if({reason:String} != '' OR n_executed + n_failed = 0, NULL, round(q[1])) AS p50_ms,
  if({reason:String} != '' OR n_executed + n_failed = 0, NULL, round(q[2])) AS p95_ms
FROM (
  SELECT
    node_type,
    sumIf(n, event = 'qontak_action_invoked') - n_blocked AS n_invoked,
    sumIf(n, event = 'qontak_action_executed') AS n_executed,
    sumIf(n, event = 'qontak_action_failed' AND reason NOT IN ({{blocked_reasons}})) AS n_failed,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{blocked_reasons}})) AS n_blocked,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{unknown_reasons}})) AS n_unknown
  FROM ({{counts:qontak_action_invoked,qontak_action_executed,qontak_action_failed}})
  WHERE {{reason_filter}}
  GROUP BY node_type
) AS c
LEFT JOIN (
  SELECT node_type, quantilesTimingMerge(0.5, 0.95)(d) AS q
  FROM ({{durations}})
  GROUP BY node_type
) AS p USING (node_type)
ORDER BY node_type
