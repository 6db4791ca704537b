-- Time series for the charts: executed, failed (blocked calls apart) and blocked per bucket of {bucket_seconds}
-- in [from, to), bucket start as Unix seconds. Every bucket from the one holding `from` to the one before `to`
-- is present (zero when empty), so the x range is the query's range. Exact distinct event_ids.
-- With {reason:String} (a failure reason, '' = all) `failed` and `blocked` count only the calls that failed with
-- that reason, and `executed` is NULL (no executed call has a failure reason).
SELECT t, if({reason:String} = '', executed, NULL) AS executed, failed, blocked
FROM (
  SELECT
    toUnixTimestamp(toStartOfInterval(at, toIntervalSecond({bucket_seconds:UInt32}))) AS t,
    sumIf(n, event = 'qontak_action_executed') AS executed,
    sumIf(n, event = 'qontak_action_failed' AND reason NOT IN ({{blocked_reasons}})) AS failed,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{blocked_reasons}})) AS blocked
  FROM ({{counts:qontak_action_executed,qontak_action_failed}})
  WHERE {{reason_filter}}
  GROUP BY t
  ORDER BY t WITH FILL
    FROM toUnixTimestamp(toStartOfInterval({from:DateTime64(3, 'UTC')}, toIntervalSecond({bucket_seconds:UInt32})))
    TO toUnixTimestamp({to:DateTime64(3, 'UTC')})
    STEP {bucket_seconds:UInt32}
)
ORDER BY t
