-- Per-node_type volume and duration (spec §11.1) in [from, to): invocations (a volume, never a rate's
-- denominator; blocked calls subtracted, their invocation was refused), executions, failures, blocked calls,
-- unknown-outcome creates, success rate = executed / completed (completed = executed + failed, blocked calls in
-- neither: see success-rate.sql), and p50/p95 of duration_ms over executed + failed events (how long the
-- executor ran, whatever the outcome). Counts are
-- exact distinct event_ids; percentiles come from hourly quantileTiming states: the element at rank
-- floor(level x n), exact while a group holds at most 5,670 durations or the value is below 1,024 ms, otherwise
-- rounded to 16 ms; durations above 30 s count as 30 s; a duplicate delivery that reached the table before a
-- merge weighs twice. See dashboards/README.md, "Percentiles".
SELECT
  node_type,
  invoked,
  executed,
  failed,
  blocked,
  unknown_outcome,
  if(executed + failed = 0, NULL, 100 * executed / (executed + failed)) AS success_rate_pct,
  if(executed + failed = 0, NULL, round(q[1])) AS p50_ms,
  if(executed + failed = 0, NULL, round(q[2])) AS p95_ms
FROM (
  SELECT
    node_type,
    sumIf(n, event = 'qontak_action_invoked') - blocked AS invoked,
    sumIf(n, event = 'qontak_action_executed') AS executed,
    sumIf(n, event = 'qontak_action_failed' AND reason NOT IN ({{blocked_reasons}})) AS failed,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{blocked_reasons}})) AS blocked,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{unknown_reasons}})) AS unknown_outcome
  FROM ({{counts:qontak_action_invoked,qontak_action_executed,qontak_action_failed}})
  GROUP BY node_type
) AS c
LEFT JOIN (
  SELECT node_type, quantilesTimingMerge(0.5, 0.95)(d) AS q
  FROM ({{durations}})
  GROUP BY node_type
) AS p USING (node_type)
ORDER BY node_type
