-- CRM token-refresh success (spec §12, target >= 99%): successful refreshes / all 401-triggered refreshes
-- x 100 in [from, to). A refresh carries node_type only when an action triggered it: with a node_type
-- filter, only those refreshes count. Exact distinct event_ids.
SELECT
  successful,
  total - successful AS failed,
  total,
  if(total = 0, NULL, 100 * successful / total) AS success_pct,
  99 AS target_pct
FROM (
  SELECT sumIf(n, outcome = 'success') AS successful, sum(n) AS total
  FROM ({{counts:qontak_action_token_refreshed}})
)
