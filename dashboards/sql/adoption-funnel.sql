-- Adoption funnel per action (beyond spec §12, for PMs), in [from, to): `configured_agents` had the action
-- configured at some moment of the period (in place at `from`, or configured during it; see adoption.sql for
-- "in place"); `invoked_agents` are those of them that invoked it at least once in the period;
-- `executed_agents` those of the invoked that had at least one successful execution. Each step is a subset of the
-- one before. An agent is the pair (organization_id, agent_id). Exact (sets of agents).
SELECT
  node_type,
  count() AS configured_agents,
  countIf(invoked) AS invoked_agents,
  countIf(invoked AND executed) AS executed_agents,
  if(configured_agents = 0, NULL, 100 * invoked_agents / configured_agents) AS invoked_pct,
  if(invoked_agents = 0, NULL, 100 * executed_agents / invoked_agents) AS executed_pct
FROM (
  SELECT
    organization_id, agent_id, node_type,
    (organization_id, agent_id, node_type) IN (
      SELECT organization_id, agent_id, node_type FROM ({{agents:qontak_action_invoked}})
    ) AS invoked,
    (organization_id, agent_id, node_type) IN (
      SELECT organization_id, agent_id, node_type FROM ({{agents:qontak_action_executed}})
    ) AS executed
  FROM (
    SELECT organization_id, agent_id, node_type,
      argMaxIf(event, (timestamp, toString(event_id)), timestamp < {from:DateTime64(3, 'UTC')}) AS state_at_from,
      countIf(event = 'qontak_action_configured' AND timestamp >= {from:DateTime64(3, 'UTC')}) AS configured_during
    FROM {db:Identifier}.action_events
    WHERE event IN ('qontak_action_configured', 'qontak_action_unconfigured')
      AND timestamp < {to:DateTime64(3, 'UTC')}
      AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
      AND ({node_type:String} = '' OR node_type = {node_type:String})
    GROUP BY organization_id, agent_id, node_type
    HAVING state_at_from = 'qontak_action_configured' OR configured_during > 0
  )
)
GROUP BY node_type
ORDER BY node_type
