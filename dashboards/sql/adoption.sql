-- Action adoption (spec §12, target >= 30%): the share of ACTIVE AI agents that have at least one Qontak action
-- configured and not removed at the end of the period. Denominator: agents that sent a `qontak_agent_active`
-- heartbeat in [from, to) (the executors send one per agent per UTC day on its first call or configuration; an
-- agent with no action never emits an action event). Numerator: those of them for which, for at least one action
-- (of `node_type` when given), the last of `qontak_action_configured` / `qontak_action_unconfigured` before `to`
-- is a configuration — ordered by event time, then event_id. An agent is the pair (organization_id, agent_id).
-- Reads the raw table (these events are few; DISTINCT and argMax make duplicates harmless), to the millisecond.
SELECT
  count() AS active_agents,
  countIf((organization_id, agent_id) IN (
    SELECT organization_id, agent_id
    FROM (
      SELECT organization_id, agent_id, node_type, argMax(event, (timestamp, toString(event_id))) AS last_change
      FROM {db:Identifier}.action_events
      WHERE event IN ('qontak_action_configured', 'qontak_action_unconfigured')
        AND timestamp < {to:DateTime64(3, 'UTC')}
        AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
        AND ({node_type:String} = '' OR node_type = {node_type:String})
      GROUP BY organization_id, agent_id, node_type
    )
    WHERE last_change = 'qontak_action_configured'
  )) AS adopting_agents,
  if(active_agents = 0, NULL, 100 * adopting_agents / active_agents) AS adoption_pct,
  30 AS target_pct
FROM (
  SELECT DISTINCT organization_id, agent_id
  FROM {db:Identifier}.action_events
  WHERE event = 'qontak_agent_active'
    AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
    AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
)
