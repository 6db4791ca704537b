-- Exact distinct-event counts of {{events}} in [from, to), to the millisecond, as rows
-- (at, event, organization_id, node_type, reason, outcome, n), from three disjoint parts of the range:
-- 1. whole hours [hfrom, hto) with a valid seal (include/sealed_hours.sql): the counts finalized when the hour
--    was sealed (at = the hour);
-- 2. every other whole minute of [mfrom, mto): exact uniqExact states of the minute rollup (at = the minute);
-- 3. the partial minutes at either end, [from, mfrom) and [mto, to): the raw table (at = the minute).
-- A duplicate carries its original timestamp, so it falls in the same part and group as its original, where
-- uniqExact (or the seal, which was computed from uniqExact) counts it once: summing n stays exact.
SELECT hour AS at, event, organization_id, node_type, reason, outcome, n
FROM {db:Identifier}.action_counts_sealed
WHERE event IN ({{events}})
  AND hour >= {hfrom:DateTime64(3, 'UTC')} AND hour < {hto:DateTime64(3, 'UTC')}
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
  AND (hour, seal_id) IN ({{sealed_hours}})
UNION ALL
SELECT minute AS at, event, organization_id, node_type, reason, outcome, uniqExactMerge(events) AS n
FROM {db:Identifier}.action_counts_minutely
WHERE minute >= {mfrom:DateTime64(3, 'UTC')} AND minute < {mto:DateTime64(3, 'UTC')}
  AND event IN ({{events}})
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
  -- Sealed hours are usually all but the last ones: the bound keeps the read to the minutes after them (and the
  -- ones before `hfrom`), a range on the sort key's first column; the NOT IN drops any sealed hour after it.
  AND (minute < {hfrom:DateTime64(3, 'UTC')} OR minute >= (
    SELECT ifNull(minOrNull(h), toDateTime({hto:DateTime64(3, 'UTC')}, 'UTC'))
    FROM (SELECT toDateTime({hfrom:DateTime64(3, 'UTC')}, 'UTC') + 3600 * number AS h
          FROM numbers(toUInt64(dateDiff('hour', {hfrom:DateTime64(3, 'UTC')}, {hto:DateTime64(3, 'UTC')}))))
    WHERE h NOT IN (SELECT hour FROM ({{sealed_hours}}))
  ))
  AND toStartOfHour(minute) NOT IN (SELECT hour FROM ({{sealed_hours}}))
GROUP BY at, event, organization_id, node_type, reason, outcome
UNION ALL
SELECT toDateTime(toStartOfMinute(timestamp), 'UTC') AS at, event, organization_id, node_type, reason, outcome, uniqExact(event_id) AS n
FROM {db:Identifier}.action_events
WHERE ({from:DateTime64(3, 'UTC')} < {mfrom:DateTime64(3, 'UTC')} OR {mto:DateTime64(3, 'UTC')} < {to:DateTime64(3, 'UTC')})
  AND event IN ({{events}})
  AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND NOT (timestamp >= {mfrom:DateTime64(3, 'UTC')} AND timestamp < {mto:DateTime64(3, 'UTC')})
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
GROUP BY at, event, organization_id, node_type, reason, outcome
