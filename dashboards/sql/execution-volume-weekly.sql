-- Action execution volume (spec §12): successful executions (`qontak_action_executed`) per ISO week
-- (Monday, UTC) in [from, to), and the week-over-week growth in % (week_start = 'YYYY-MM-DD'; NULL for the first week, after a week
-- without executions, or when the previous week is not the calendar week before). First and last weeks
-- are partial when the range does not start/end on a Monday. Exact distinct event_ids from the rollup.
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
    SELECT toMonday(hour) AS week, uniqExactMerge(events) AS executed
    FROM {db:Identifier}.action_counts_hourly
    WHERE event = 'qontak_action_executed'
      AND hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}
      AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
      AND ({node_type:String} = '' OR node_type = {node_type:String})
    GROUP BY week
  )
  WINDOW w AS (ORDER BY week ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
ORDER BY week_start
