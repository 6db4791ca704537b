-- The whole hours of [hfrom, hto) whose sealed counts are exact now, as rows (hour, seal_id): an hour's latest
-- recorded seal whose `hour_rows` equals the hour's current sum of `rows` in the hourly rollup (no row was
-- inserted into the hour since its counts were read). See src/consumers/clickhouse/seal-hours.ts.
SELECT hour, argMax(seal_id, sealed_at) AS seal_id
FROM {db:Identifier}.action_count_seals
WHERE hour >= {hfrom:DateTime64(3, 'UTC')} AND hour < {hto:DateTime64(3, 'UTC')}
  AND (hour, hour_rows) IN (
    SELECT hour, sum(rows)
    FROM {db:Identifier}.action_counts_hourly
    WHERE hour >= {hfrom:DateTime64(3, 'UTC')} AND hour < {hto:DateTime64(3, 'UTC')}
    GROUP BY hour
  )
GROUP BY hour
