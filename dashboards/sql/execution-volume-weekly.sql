-- Action execution volume (spec §12): successful executions (`qontak_action_executed`) per ISO week
-- (Monday, UTC: this metric is aligned to weeks) in [from, to), and the week-over-week growth in %
-- (week_start = 'YYYY-MM-DD'; NULL for the first week, after a week without executions, or when the previous week
-- is not the calendar week before). First and last weeks are partial when the range does not start/end on a
-- Monday. Exact distinct event_ids.
SELECT
  toString(week) AS week_start,
  executed,
  if(prev_week = week - 7 AND prev_executed > 0, 100 * (executed - prev_executed) / prev_executed, NULL) AS growth_pct
FROM (
  SELECT
    week,
    executed,
    lagInFrame(executed, 1, 0) OVER w AS prev_executed,
    lagInFrame(week, 1, toDate('1970-01-01')) OVER w AS prev_week
  FROM (
    SELECT toMonday(at) AS week, sum(n) AS executed
    FROM ({{counts:qontak_action_executed}})
    GROUP BY week
  )
  WINDOW w AS (ORDER BY week ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
ORDER BY week_start
