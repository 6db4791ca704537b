-- Duration p50 and p95 per bucket of {bucket_seconds} in [from, to), bucket start as Unix seconds: how long the
-- executor ran (executed and failed calls; blocked calls ran nothing), over time, for the per-action page. Same
-- states and accuracy as node-types.sql (see dashboards/README.md, "Percentiles"); only buckets with calls are
-- present (a percentile of no call is no number, not 0).
SELECT t, round(q[1]) AS p50_ms, round(q[2]) AS p95_ms
FROM (
  SELECT toUnixTimestamp(toStartOfInterval(at, toIntervalSecond({bucket_seconds:UInt32}))) AS t, quantilesTimingMerge(0.5, 0.95)(d) AS q
  FROM ({{durations}})
  GROUP BY t
)
ORDER BY t
