import { timingSafeEqual } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { isNodeType } from '../../events/index.ts';
import { setOrganizationEnabled, setRegistryEnabled } from '../../executors/registry-schema.ts';
import type { Logger } from '../../platform/logger.ts';
import type { SqlDb } from '../../platform/registry-db.ts';
import { requeueOutbox } from './outbox-dispatcher.ts';
import { endRecoveryByPerson, loadRecoveryStates, txAsDb } from './recovery-store.ts';
import type { RecoveryState } from './recovery.ts';
import { createSilence, expireSilence, listSilences, silenceInputSchema } from './silence-store.ts';

/**
 * The admin API the HTTP service mounts: switch an action on or off by hand (the only way back after
 * the kill switch), silences, and what the evaluator is doing. Every route needs the admin bearer
 * token; every registry change needs a reason and lands in node_registry_audit with the actor.
 */
export interface AdminRouterOptions {
  db: SqlDb;
  adminToken: string | undefined;
  logger: Logger;
}

const changeSchema = z.strictObject({
  reason: z.string().trim().min(3, 'a reason of at least 3 characters').max(2000),
  actor: z.string().trim().min(1).max(200).optional(),
});

/** The event contract's identifier: an organization id the executors could have sent. */
const ORGANIZATION_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

/** Constant-time check of an `Authorization: Bearer <token>` header; shared by every admin route. */
export function tokenMatches(expected: string, header: string | undefined): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function badRequest(res: Response, error: z.ZodError): void {
  res.status(400).json({ error: 'invalid_request', details: error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) });
}

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A recovery state as the API shows it: instants in ISO 8601 (event time). */
function recoveryView(s: RecoveryState) {
  return {
    node_type: s.nodeType,
    scope: s.organizationId === null ? 'global' : 'organization',
    organization_id: s.organizationId,
    phase: s.phase,
    cycle: s.cycle,
    disabled_at: isoOrNull(s.disabledAt),
    cool_down_minutes: s.coolDownMinutes,
    cool_until: s.phase === 'cooling' ? isoOrNull(s.coolUntil) : null,
    probing_since: isoOrNull(s.probingSince),
    failed_rounds: s.rounds,
    probes: s.probes.map((p) => ({ at: isoOrNull(p.at), ok: p.ok, organization_id: p.organizationId, ...(p.reason ? { reason: p.reason } : {}) })),
    ended_at: isoOrNull(s.endedAt),
    ended_by: s.endedBy,
    rule_id: s.ruleId,
    episode: s.episode,
  };
}

export function createAlertsAdminRouter(o: AdminRouterOptions): Router {
  const router = Router();
  // Mounted at the service root beside the dashboard and ingest: body parsing and auth apply to the
  // admin paths only, so they never touch other routes' requests.
  const adminPaths = ['/v1/registries', '/v1/alerts', '/v1/silences'];
  router.use(adminPaths, express.json({ limit: '64kb' }));
  router.use(adminPaths, (req: Request, res: Response, next: NextFunction) => {
    if (!o.adminToken) return void res.status(503).json({ error: 'admin_disabled', message: 'ADMIN_TOKEN is not configured' });
    if (!tokenMatches(o.adminToken, req.headers.authorization)) return void res.status(401).json({ error: 'unauthorized' });
    next();
  });

  // Read-only figures for the dashboard, like its other /api data routes: no admin token. `calls` are completed
  // calls (executed + failed, blocked calls left out) and `failures` a subset of them, so the failure rate is at
  // most 1; the allowed rate is the SLO rule's threshold, saved with the figures.
  router.get('/api/error-budget', async (_req, res) => {
    const rows = await o.db
      .query<{ rule_id: string; scope_key: string; scope: Record<string, string>; window_minutes: number; allowed_failure_rate: number; calls: string; failures: string; blocked: string; as_of: string }>(
        `SELECT rule_id, scope_key, scope, window_minutes, allowed_failure_rate, calls, failures, blocked, as_of FROM alert_error_budget ORDER BY scope_key`,
      )
      .catch(() => []);
    res.json({
      error_budget: rows.map((r) => {
        const calls = Number(r.calls);
        const failures = Number(r.failures);
        const allowed = calls * r.allowed_failure_rate;
        return {
          scope_key: r.scope_key,
          node_type: r.scope.node_type ?? null,
          window_minutes: r.window_minutes,
          success_target: 1 - r.allowed_failure_rate,
          calls,
          failures,
          blocked: Number(r.blocked),
          failure_rate: calls > 0 ? failures / calls : null,
          // 1 = untouched, 0 = spent, negative = overspent; null without calls
          budget_left: calls > 0 ? 1 - failures / allowed : null,
          as_of: new Date(Number(r.as_of)).toISOString(),
        };
      }),
    });
  });

  for (const action of ['enable', 'disable'] as const) {
    router.post(`/v1/registries/:node_type/${action}`, async (req: Request, res: Response) => {
      const nodeType = String(req.params.node_type);
      if (!isNodeType(nodeType)) return void res.status(404).json({ error: 'unknown_node_type', node_type: nodeType });
      const parsed = changeSchema.safeParse(req.body ?? {});
      if (!parsed.success) return badRequest(res, parsed.error);
      const actor = `admin:${parsed.data.actor ?? 'api'}`;
      // A person's change ends the switch's automatic recovery, in the same transaction.
      const ok = await o.db.transaction(async (tx) => {
        const changed = await setRegistryEnabled(txAsDb(o.db.kind, tx), nodeType, action === 'enable', { actor, reason: parsed.data.reason, details: { via: 'admin-api' } });
        if (changed) await endRecoveryByPerson(tx, nodeType, null, actor);
        return changed;
      });
      if (!ok) return void res.status(404).json({ error: 'no_registry_row', node_type: nodeType });
      o.logger.info({ node_type: nodeType, action, actor }, 'node registry changed by admin');
      res.json({ node_type: nodeType, enabled: action === 'enable', actor, reason: parsed.data.reason });
    });
  }

  // The same switch for one organization: the action's global flag is untouched (and wins when it is off).
  for (const action of ['enable', 'disable'] as const) {
    router.post(`/v1/registries/:node_type/organizations/:organization_id/${action}`, async (req: Request, res: Response) => {
      const nodeType = String(req.params.node_type);
      const organizationId = String(req.params.organization_id);
      if (!isNodeType(nodeType)) return void res.status(404).json({ error: 'unknown_node_type', node_type: nodeType });
      if (!ORGANIZATION_ID.test(organizationId)) return void res.status(400).json({ error: 'invalid_organization_id', organization_id: organizationId.slice(0, 140) });
      const parsed = changeSchema.safeParse(req.body ?? {});
      if (!parsed.success) return badRequest(res, parsed.error);
      const actor = `admin:${parsed.data.actor ?? 'api'}`;
      const ok = await o.db.transaction(async (tx) => {
        const changed = await setOrganizationEnabled(txAsDb(o.db.kind, tx), nodeType, organizationId, action === 'enable', { actor, reason: parsed.data.reason, details: { via: 'admin-api' } });
        if (changed) await endRecoveryByPerson(tx, nodeType, organizationId, actor);
        return changed;
      });
      if (!ok) return void res.status(404).json({ error: 'no_registry_row', node_type: nodeType });
      o.logger.info({ node_type: nodeType, organization_id: organizationId, action, actor, scope: 'organization' }, 'node registry changed by admin');
      res.json({ node_type: nodeType, scope: 'organization', organization_id: organizationId, enabled: action === 'enable', actor, reason: parsed.data.reason });
    });
  }

  // `registries`: the global flag per action (scope `global`); `organizations`: every organization-scoped switch
  // currently off (scope `organization`); `probe_every` is set on a switch letting probes through. `recovery`: each
  // switch's last automatic recovery cycle (cooling, probing, re-enabled, or ended by a person).
  router.get('/v1/registries', async (_req, res) => {
    const registries = await o.db.query(`SELECT node_type, 'global' AS scope, enabled, probe_every, updated_at, updated_by, reason FROM node_registries ORDER BY node_type`);
    const organizations = await o.db.query(
      `SELECT node_type, 'organization' AS scope, organization_id, enabled, probe_every, updated_at, updated_by, reason
       FROM node_registry_organizations WHERE enabled = false ORDER BY node_type, organization_id`,
    );
    res.json({ registries, organizations, recovery: (await loadRecoveryStates(o.db)).map(recoveryView) });
  });

  router.get('/v1/registries/:node_type/audit', async (req, res) => {
    const rows = await o.db.query(
      `SELECT id, node_type, scope, organization_id, action, actor, reason, details, created_at FROM node_registry_audit WHERE node_type = $1 ORDER BY id DESC LIMIT 100`,
      [String(req.params.node_type)],
    );
    res.json({ audit: rows });
  });

  router.get('/v1/alerts', async (req, res) => {
    const status = typeof req.query.status === 'string' ? req.query.status : undefined;
    const rows = await o.db.query(
      `SELECT rule_id, scope_key, scope, status, pending_since, firing_since, last_value, episode, action_status, updated_at
       FROM alert_state ${status ? 'WHERE status = $1' : ''} ORDER BY updated_at DESC LIMIT 500`,
      status ? [status] : [],
    );
    res.json({ alerts: rows });
  });

  router.get('/v1/alerts/outbox', async (req, res) => {
    const status = typeof req.query.status === 'string' ? req.query.status : undefined;
    const rows = await o.db.query(
      `SELECT id, rule_id, scope_key, receiver, channel, kind, status, attempts, last_error, created_at, sent_at
       FROM alert_outbox ${status ? 'WHERE status = $1' : ''} ORDER BY id DESC LIMIT 500`,
      status ? [status] : [],
    );
    res.json({ outbox: rows });
  });

  router.post('/v1/alerts/outbox/:id/retry', async (req, res) => {
    const ok = /^\d+$/.test(String(req.params.id)) && (await requeueOutbox(o.db, String(req.params.id)));
    res.status(ok ? 200 : 404).json({ requeued: ok });
  });

  router.get('/v1/silences', async (req, res) => {
    res.json({ silences: await listSilences(o.db, { includeExpired: req.query.all === '1' }) });
  });

  router.post('/v1/silences', async (req, res) => {
    const parsed = silenceInputSchema.safeParse(req.body ?? {});
    if (!parsed.success) return badRequest(res, parsed.error);
    res.status(201).json(await createSilence(o.db, parsed.data));
  });

  router.delete('/v1/silences/:id', async (req, res) => {
    const actor = typeof req.query.actor === 'string' ? req.query.actor : 'api';
    const ok = await expireSilence(o.db, String(req.params.id), `admin:${actor}`);
    res.status(ok ? 200 : 404).json({ expired: ok });
  });

  return router;
}
