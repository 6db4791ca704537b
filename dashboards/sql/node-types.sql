-- Per-node_type volume and duration (spec §11.1) in [from, to): invocations, executions, failures, success
-- rate, and p50/p95 of duration_ms over executed + failed events (how long the executor ran, whatever the
-- outcome). Durations need single rows, so this reads the raw table with FINAL (duplicates collapsed).
-- quantileExact returns a real sample: the element at index floor(level * n) of the sorted durations.
SELECT
  node_type,
  countIf(event = 'qontak_action_invoked') AS invoked,
  countIf(event = 'qontak_action_executed') AS executed,
  countIf(event = 'qontak_action_failed') AS failed,
  if(executed + failed = 0, NULL, 100 * executed / (executed + failed)) AS success_rate_pct,
  if(executed + failed = 0, NULL, quantileExactIf(0.5)(duration_ms, event != 'qontak_action_invoked')) AS p50_ms,
  if(executed + failed = 0, NULL, quantileExactIf(0.95)(duration_ms, event != 'qontak_action_invoked')) AS p95_ms
FROM {db:Identifier}.action_events FINAL
WHERE event IN ('qontak_action_invoked', 'qontak_action_executed', 'qontak_action_failed')
  AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
GROUP BY node_type
ORDER BY node_type
