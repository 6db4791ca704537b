import type { SqlDb } from '../../platform/registry-db.ts';
import { runSqlMigrations, type SqlMigration } from '../../platform/sql-migrations.ts';

/**
 * The alert evaluator's tables in the registry database (unqualified: they land in the connection's
 * search_path, like the executors' tables), as versioned migrations (src/platform/sql-migrations.ts); every
 * evaluator and the admin API run them, each version applies once. To change the schema, append a version
 * to ALERT_MIGRATIONS (e.g. `{ version: 2, name: '…', statements: [...] }`); never edit a released one.
 *
 * - alert_state            one row per rule and scope: the persisted state machine (optimistic `version`).
 * - alert_outbox           every notification owed, one row per channel; delivered by the dispatcher,
 *                          retried until sent, never deleted — silenced/inhibited rows stay as a record.
 * - alert_silences         matchers with creator, comment and expiry.
 * - alert_kill_switch_log  every kill-switch decision (disabled, dry run, capped, grace) with its numbers;
 *                          the cap counts the `done` rows of the last 24 h.
 * - alert_checkpoint       the event time evaluated through, so a restart replays without re-deciding.
 * - alert_episodes         (version 3) one row per episode, firing → resolved in event time: the dashboard's
 *                          annotations. Written with the transition, whatever the routes (no channel needed).
 * - alert_recovery         (version 4) the half-open recovery of each switch the kill switch turned off (recovery.ts):
 *                          one row per switch (node_type, scope, organization), its last cycle; written in the
 *                          transaction of the decision that changes it.
 */
/** Version 1: the schema as it was before versioning (IF NOT EXISTS, so an existing database keeps its rows). */
const INITIAL_DDL = [
  `CREATE TABLE IF NOT EXISTS alert_state (
    rule_id text NOT NULL,
    scope_key text NOT NULL,
    scope jsonb NOT NULL,
    status text NOT NULL,
    pending_since bigint,
    firing_since bigint,
    recovering_since bigint,
    last_notified_at bigint,
    last_eval_at bigint,
    last_value double precision,
    episode integer NOT NULL DEFAULT 0,
    repeats integer NOT NULL DEFAULT 0,
    action_status text NOT NULL DEFAULT 'none',
    version integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, scope_key)
  )`,
  `CREATE TABLE IF NOT EXISTS alert_outbox (
    id bigserial PRIMARY KEY,
    transition_key text NOT NULL UNIQUE,
    rule_id text NOT NULL,
    scope_key text NOT NULL,
    receiver text NOT NULL,
    channel text NOT NULL,
    kind text NOT NULL,
    dedup_key text NOT NULL,
    episode integer NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'sent', 'silenced', 'inhibited', 'suppressed', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
  )`,
  `CREATE INDEX IF NOT EXISTS alert_outbox_due_idx ON alert_outbox (status, next_attempt_at)`,
  `CREATE TABLE IF NOT EXISTS alert_silences (
    id text PRIMARY KEY,
    matchers jsonb NOT NULL,
    creator text NOT NULL,
    comment text NOT NULL,
    starts_at timestamptz NOT NULL DEFAULT now(),
    ends_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expired_by text
  )`,
  `CREATE TABLE IF NOT EXISTS alert_kill_switch_log (
    id bigserial PRIMARY KEY,
    node_type text NOT NULL,
    rule_id text NOT NULL,
    episode integer NOT NULL,
    decision text NOT NULL,
    dry_run boolean NOT NULL,
    rate double precision NOT NULL,
    failed integer NOT NULL,
    invoked integer NOT NULL,
    event_time bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE IF NOT EXISTS alert_checkpoint (
    id text PRIMARY KEY,
    evaluated_through bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  // Kill-switch lifecycle, resolve-means-healthy and late events: added columns, idempotent.
  // alert_state.action_at: event time of the last automatic disable in the episode (a call reaching the action
  // after it is a re-enable, which starts the grace period and may lead to a second disable).
  `ALTER TABLE alert_state ADD COLUMN IF NOT EXISTS action_at bigint`,
  // alert_state.quiet_since: since when a firing alert has had too few calls to judge (the "no traffic" close).
  `ALTER TABLE alert_state ADD COLUMN IF NOT EXISTS quiet_since bigint`,
  // alert_checkpoint.offsets: next Kafka offset per partition whose events were decided on before the checkpoint,
  // so a rebuild replays exactly those for their counts only and decides on everything after (late events too).
  `ALTER TABLE alert_checkpoint ADD COLUMN IF NOT EXISTS offsets jsonb`,
  // SLO burn rate: the error budget per scope over the SLO rule's window, written by the evaluator,
  // read by GET /api/error-budget for the dashboard.
  `CREATE TABLE IF NOT EXISTS alert_error_budget (
    rule_id text NOT NULL,
    scope_key text NOT NULL,
    scope jsonb NOT NULL,
    window_minutes integer NOT NULL,
    allowed_failure_rate double precision NOT NULL,
    calls bigint NOT NULL,
    failures bigint NOT NULL,
    blocked bigint NOT NULL,
    as_of bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, scope_key)
  )`,
];

/**
 * Version 3: the episodes. Earlier episodes are taken from the outbox (their trigger and resolve rows, any
 * channel), so a database upgraded in place shows the episodes it paged for.
 */
const EPISODES_DDL = [
  `CREATE TABLE IF NOT EXISTS alert_episodes (
    rule_id text NOT NULL,
    scope_key text NOT NULL,
    episode integer NOT NULL,
    scope jsonb NOT NULL,
    title text NOT NULL,
    severity text NOT NULL,
    rule_kind text NOT NULL,
    threshold double precision NOT NULL,
    window_minutes integer NOT NULL,
    fired_at bigint NOT NULL,
    fired_value double precision NOT NULL,
    resolved_at bigint,
    resolution text,
    PRIMARY KEY (rule_id, scope_key, episode)
  )`,
  `CREATE INDEX IF NOT EXISTS alert_episodes_fired_idx ON alert_episodes (fired_at)`,
  `INSERT INTO alert_episodes (rule_id, scope_key, episode, scope, title, severity, rule_kind, threshold, window_minutes, fired_at, fired_value)
   SELECT DISTINCT ON (rule_id, scope_key, episode) rule_id, scope_key, episode, payload->'scope', payload->>'title', payload->>'severity',
     payload->>'ruleKind', (payload->>'threshold')::double precision, (payload->>'windowMinutes')::integer, (payload->>'at')::bigint,
     (payload->>'value')::double precision
   FROM alert_outbox WHERE kind = 'trigger' ORDER BY rule_id, scope_key, episode, id
   ON CONFLICT DO NOTHING`,
  `UPDATE alert_episodes e SET resolved_at = (o.payload->>'at')::bigint, resolution = COALESCE(o.payload->>'resolution', 'healthy')
   FROM alert_outbox o WHERE o.kind = 'resolve' AND o.rule_id = e.rule_id AND o.scope_key = e.scope_key AND o.episode = e.episode`,
];

/** Version 4: half-open recovery, one row per switch (organization_id '' for the action's switch for everyone). */
const RECOVERY_DDL = [
  `CREATE TABLE IF NOT EXISTS alert_recovery (
    node_type text NOT NULL,
    scope text NOT NULL CHECK (scope IN ('global', 'organization')),
    organization_id text NOT NULL DEFAULT '',
    rule_id text NOT NULL,
    scope_key text NOT NULL,
    episode integer NOT NULL,
    cycle integer NOT NULL,
    phase text NOT NULL CHECK (phase IN ('cooling', 'probing', 'reenabled', 'ended')),
    disabled_at bigint NOT NULL,
    rounds integer NOT NULL,
    cool_down_minutes integer NOT NULL,
    cool_until bigint NOT NULL,
    probing_since bigint,
    probes jsonb NOT NULL DEFAULT '[]'::jsonb,
    through bigint NOT NULL,
    through_id text NOT NULL DEFAULT '',
    ended_at bigint,
    ended_by text,
    past_cycles jsonb NOT NULL DEFAULT '[]'::jsonb,
    version integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_type, scope, organization_id),
    CHECK ((scope = 'global') = (organization_id = ''))
  )`,
];

export const ALERT_MIGRATIONS: SqlMigration[] = [
  { version: 1, name: 'alert state, outbox, silences, kill-switch log, checkpoint, error budget', statements: INITIAL_DDL },
  {
    version: 2,
    name: 'kill-switch decisions scoped by blast radius',
    statements: [
      // `global`, or `organization` with the organizations the decision was about (disabled, or would have been).
      `ALTER TABLE alert_kill_switch_log ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT 'global'`,
      `ALTER TABLE alert_kill_switch_log ADD COLUMN IF NOT EXISTS organizations jsonb NOT NULL DEFAULT '[]'::jsonb`,
    ],
  },
  { version: 3, name: 'alert episodes (firing → resolved) for the dashboard annotations', statements: EPISODES_DDL },
  { version: 4, name: 'half-open recovery of automatic disables', statements: RECOVERY_DDL },
];

export async function migrateAlerts(db: SqlDb): Promise<void> {
  await runSqlMigrations(db, 'alerts', ALERT_MIGRATIONS);
}
