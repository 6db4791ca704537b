-- Failure-reason mix (spec §11.1): `qontak_action_failed` per reason code in [from, to), its class
-- (src/events/outcome-class.ts: `blocked`, `unknown` or `failure`) and its share in % of the failures that
-- count (blocked calls are listed with a NULL share: they are not failures of the action). With {reason:String}
-- (a failure reason, '' = all) only that reason's row, its share still of all the failures that count. Exact
-- distinct event_ids.
SELECT reason, class, failures, share_pct
FROM (
  SELECT
    reason,
    multiIf(reason IN ({{blocked_reasons}}), 'blocked', reason IN ({{unknown_reasons}}), 'unknown', 'failure') AS class,
    failures,
    if(class = 'blocked', NULL, 100 * failures / sumIf(failures, class != 'blocked') OVER ()) AS share_pct
  FROM (
    SELECT reason, sum(n) AS failures
    FROM ({{counts:qontak_action_failed}})
    GROUP BY reason
  )
)
WHERE {reason:String} = '' OR reason = {reason:String}
ORDER BY failures DESC, reason
