-- Action adoption (spec §12, target >= 30%): the share of ACTIVE AI agents that have at least one Qontak
-- action configured. Denominator: agents that sent a `qontak_agent_active` heartbeat in [from, to) — an agent
-- with no action never emits an action event, so action events alone cannot count it. Numerator: those of
-- them with a `qontak_action_configured` event at any time before `to` (a configuration persists), of
-- `node_type` when given. An agent is the pair (organization_id, agent_id). Reads the agent_activity_hourly
-- set, which duplicates cannot inflate. Range bounds are whole hours (the API aligns them).
SELECT
  count() AS active_agents,
  countIf((organization_id, agent_id) IN (
    SELECT organization_id, agent_id
    FROM {db:Identifier}.agent_activity_hourly
    WHERE event = 'qontak_action_configured'
      AND hour < {to:DateTime64(3, 'UTC')}
      AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
      AND ({node_type:String} = '' OR node_type = {node_type:String})
  )) AS adopting_agents,
  if(active_agents = 0, NULL, 100 * adopting_agents / active_agents) AS adoption_pct,
  30 AS target_pct
FROM (
  SELECT DISTINCT organization_id, agent_id
  FROM {db:Identifier}.agent_activity_hourly
  WHERE event = 'qontak_agent_active'
    AND hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}
    AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
)
