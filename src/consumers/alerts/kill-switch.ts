import { setOrganizationEnabled, setRegistryEnabled, type RegistryScope } from '../../executors/registry-schema.ts';
import type { SqlDb, SqlTx } from '../../platform/registry-db.ts';
import type { Transition } from './alert-engine.ts';
import type { BlastRadiusConfig, RecoveryConfig } from './alert-rules.ts';
import { ratioCounts, type KillSwitchDecision } from './alert-notification.ts';
import { breakdownOf, breakdownText, classifyBlastRadius, pctOf, type OrganizationCounts } from './blast-radius.ts';
import type { RecoveryState } from './recovery.ts';
import { startRecovery, txAsDb } from './recovery-store.ts';

/**
 * The automatic disable, with the guards on-call needs to trust it: dry-run (decide and tell, change
 * nothing), a cap on automatic disables per 24 h (beyond it a human decides), a grace period after
 * a human re-enable, and the blast radius: failures concentrated in a few organizations disable the action for
 * those organizations only (blast-radius.ts). Runs inside the transaction that persists the firing transition, so
 * the decision, the registry change, its audit row and the notification commit together or not at all.
 */
export interface KillSwitchOptions {
  dryRun: boolean;
  maxPer24h: number;
  /** Scaled by timeScale: 24 h in real milliseconds (the cap counts recent automatic disables in the log). */
  capWindowMs: number;
  blastRadius: BlastRadiusConfig;
  /** The half-open recovery each automatic disable starts (recovery.ts), and the length of an event-time minute. */
  recovery: RecoveryConfig;
  minuteMs: number;
}

export interface KillSwitchOutcome {
  decision: KillSwitchDecision;
  nodeType: string;
  /** Which switch the decision is about: the action's for everyone, or the action's for `organizations`. */
  scope: RegistryScope;
  organizations: string[];
  /** The window's failures per organization, most failing first (at most 10), for the message and the audit. */
  breakdown: OrganizationCounts[];
  message: string;
  /** The recovery cycles the disable started (one per switch turned off; none when the action's recovery is manual). */
  recovery: RecoveryState[];
}

export async function decideKillSwitch(kind: SqlDb['kind'], tx: SqlTx, t: Transition, o: KillSwitchOptions): Promise<KillSwitchOutcome> {
  const nodeType = t.next.scope.node_type;
  const ownOrg = t.next.scope.organization_id;
  const pct = pctOf(t.observation.value);
  const counts = ratioCounts(t.observation);
  const orgs = t.organizations ?? [];
  const breakdown = breakdownOf(orgs);
  const byOrg = breakdownText(breakdown, orgs.filter((x) => x.completed > 0).length);
  const radius = classifyBlastRadius(orgs, t.rule.threshold, o.blastRadius);
  let scope: RegistryScope;
  let targets: string[] = [];
  if (ownOrg !== undefined) {
    // An organization's own breach. When the action fails across organizations, the action's scope decides (for
    // everyone) and this one stands aside; otherwise it switches the action off for this organization.
    scope = 'organization';
    targets = radius.scope === 'global' ? [] : [ownOrg];
  } else if (radius.scope === 'organization' && radius.organizations.length > 0) {
    scope = 'organization';
    targets = radius.organizations;
  } else {
    scope = 'global';
  }
  const what = scope === 'global' ? nodeType : `${nodeType} for organization${targets.length > 1 ? 's' : ''} ${targets.join(', ')}`;
  const base = { nodeType, scope, organizations: targets, breakdown, recovery: [] as RecoveryState[] };
  let outcome: KillSwitchOutcome;
  const registry = await tx.query<{ enabled: boolean }>(`SELECT enabled FROM node_registries WHERE node_type = $1 FOR UPDATE`, [nodeType]);
  const off = scope === 'organization' && targets.length > 0
    ? await tx.query<{ organization_id: string }>(
        `SELECT organization_id FROM node_registry_organizations WHERE node_type = $1 AND organization_id = ANY($2::text[]) AND enabled = false FOR UPDATE`,
        [nodeType, targets],
      )
    : [];
  const pending = targets.filter((org) => !off.some((r) => r.organization_id === org));
  if (ownOrg !== undefined && radius.scope === 'global') {
    outcome = {
      ...base,
      decision: 'deferred_global',
      message: `${nodeType} is failing across ${radius.failingOrganizations} organizations: the action-wide decision applies, not one for ${ownOrg}.`,
    };
  } else if (registry.length === 0 || registry[0].enabled === false || (scope === 'organization' && pending.length === 0)) {
    outcome = { ...base, decision: 'already_disabled', message: `${what} is already disabled; nothing to do.` };
  } else {
    const capped = await tx.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM alert_kill_switch_log WHERE decision = 'done' AND created_at > now() - make_interval(secs => $1)`,
      [o.capWindowMs / 1000],
    );
    const recovery = scope === 'global' ? `POST /v1/registries/${nodeType}/enable` : `POST /v1/registries/${nodeType}/organizations/<organization_id>/enable`;
    // The grace period runs in event time from the re-enable the stream shows (calls reaching the action again
    // after being refused), so a replay decides the same as the first pass.
    if (t.graceUntil != null && t.at < t.graceUntil) {
      outcome = {
        ...base,
        decision: 'waiting_grace',
        message: `${what} was re-enabled recently; not disabling during the grace period, until ${new Date(t.graceUntil).toISOString()} (${counts}, ${pct}).`,
      };
    } else if (o.dryRun) {
      outcome = { ...base, decision: 'dry_run', message: `DRY RUN: would disable ${what} (${counts}, ${pct}).${byOrg} Nothing was changed.` };
    } else if (Number(capped[0].n) >= o.maxPer24h) {
      outcome = {
        ...base,
        decision: 'capped',
        message: `Would disable ${what} (${counts}, ${pct}) but the cap of ${o.maxPer24h} automatic disables per 24 h is reached: a human must decide.${byOrg}`,
      };
    } else {
      const change = {
        actor: `alert:${t.rule.id}`,
        reason: `failure rate ${pct} > ${(t.rule.threshold * 100).toFixed(0)}% sustained for ${t.rule.pendingMinutes} min (${scope === 'global' ? 'spread across organizations' : 'concentrated'})`,
        details: {
          rule_id: t.rule.id,
          scope,
          rate: t.observation.value,
          failed: t.observation.numerator,
          completed: t.observation.denominator,
          window_minutes: t.rule.windowMinutes,
          event_time: t.at,
          top_reasons: t.observation.topReasons,
          organizations: breakdown,
        },
      };
      const db = txAsDb(kind, tx);
      if (scope === 'global') await setRegistryEnabled(db, nodeType, false, change);
      else for (const org of pending) await setOrganizationEnabled(db, nodeType, org, false, change);
      // Each switch turned off starts its own recovery, in the same transaction: cooling until the cool-down ends.
      const cycles: RecoveryState[] = [];
      for (const organizationId of scope === 'global' ? [null] : pending) {
        const started = await startRecovery(tx, o.recovery, o.minuteMs, { nodeType, organizationId, ruleId: t.rule.id, scopeKey: t.next.scopeKey, episode: t.next.episode, at: t.at });
        if (started) cycles.push(started);
      }
      const auto = cycles.length > 0
        ? ` Automatic recovery: probes from ${new Date(cycles[0].coolUntil).toISOString()} (cool-down ${cycles[0].coolDownMinutes} min${cycles[0].coolDownMinutes !== o.recovery.coolDownMinutes ? `, twice the last cycle's: disabled again within ${o.recovery.resetAfterMinutes} min of its automatic re-enable` : ''}), re-enabled after ${o.recovery.successesToReEnable} successful probes in a row; or re-enable by hand: ${recovery}.`
        : ` Recovery is manual for this action. Re-enable: ${recovery}.`;
      outcome = { ...base, recovery: cycles, decision: 'done', message: `Disabled ${what} (${counts}, ${pct}).${byOrg}${auto}` };
    }
  }
  // Standing aside again, step after step, is one decision: logged once.
  if (outcome.decision === 'deferred_global' && t.prev.actionStatus === 'deferred_global') return outcome;
  // The log's `invoked` column keeps its first name; it holds the rule's denominator, completed calls.
  await tx.query(
    `INSERT INTO alert_kill_switch_log (node_type, rule_id, episode, decision, dry_run, rate, failed, invoked, event_time, scope, organizations)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)`,
    [nodeType, t.rule.id, t.next.episode, outcome.decision, o.dryRun, t.observation.value, t.observation.numerator, t.observation.denominator, t.at, outcome.scope, JSON.stringify(outcome.organizations)],
  );
  return outcome;
}
