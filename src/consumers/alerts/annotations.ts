import type { SqlDb } from '../../platform/registry-db.ts';
import { dashboardLink } from '../clickhouse/dashboard-links.ts';
import { episodesOverlapping } from './alert-episodes.ts';

/**
 * What happened, for the dashboard's charts: alert episodes (firing → resolved) and every change of the registry
 * audit trail (disables, re-enables, whatever else the trail records), in the range and filters of the page.
 * Each carries a link to the page that explains it (the per-action page with the episode's window).
 */
export interface Annotation {
  kind: 'alert_episode' | 'registry_change';
  id: string;
  /** Event time (ms). An episode's `end_ms` is its resolve, null while it fires; a change is an instant (null). */
  start_ms: number;
  end_ms: number | null;
  node_type: string | null;
  organization_id: string | null;
  /** Short label: the rule's title, or the kind of change. */
  title: string;
  /** The tooltip: what, who, why. */
  detail: string;
  actor: string | null;
  url: string;
}

export const ANNOTATION_COLUMNS = ['kind', 'id', 'start', 'end', 'node_type', 'organization_id', 'title', 'detail', 'actor', 'url'] as const;

export interface AnnotationFilters {
  fromMs: number;
  toMs: number;
  organizationId?: string;
  nodeType?: string;
}

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
/** An audit row's time is when it was written; its event time (details.event_time) may differ by this much. */
const AUDIT_SLACK_MS = DAY;
const KNOWN_AUDIT_COLUMNS = new Set(['id', 'node_type', 'action', 'actor', 'reason', 'details', 'created_at']);

/** A filter matches a row that names the same value, or none (a rule or change over every organization). */
const matches = (filter: string | undefined, value: string | null) => !filter || !value || value === filter;

const pct = (v: number) => `${Number((100 * v).toFixed(1))}%`;

export async function readAnnotations(db: SqlDb, f: AnnotationFilters, nowMs: number): Promise<Annotation[]> {
  const [episodes, audit] = await Promise.all([episodesOverlapping(db, f.fromMs, f.toMs), auditRows(db, f)]);
  const out: Annotation[] = [];
  for (const e of episodes) {
    const nodeType = e.scope.node_type ?? null;
    const org = e.scope.organization_id ?? null;
    if (!matches(f.nodeType, nodeType) || !matches(f.organizationId, org)) continue;
    const windowMs = e.windowMinutes * MIN;
    const end = e.resolvedAt ?? Math.max(nowMs, e.firedAt + MIN);
    const scope = Object.entries(e.scope).map(([k, v]) => `${k}=${v}`).join(', ') || 'all actions';
    const value = e.ruleKind === 'ratio' ? pct(e.firedValue) : String(e.firedValue);
    const threshold = e.ruleKind === 'ratio' ? pct(e.threshold) : String(e.threshold);
    const closed = e.resolvedAt === null ? 'still firing' : `${e.resolution === 'healthy' ? 'resolved' : `closed (${e.resolution})`} ${new Date(e.resolvedAt).toISOString()}`;
    out.push({
      kind: 'alert_episode',
      id: `${e.ruleId}/${e.scopeKey}/${e.episode}`,
      start_ms: e.firedAt,
      end_ms: e.resolvedAt,
      node_type: nodeType,
      organization_id: org,
      title: e.title,
      detail: `${e.title} (${e.severity}) — ${scope}: ${value} vs > ${threshold} over ${e.windowMinutes} min; fired ${new Date(e.firedAt).toISOString()}, ${closed}`,
      actor: null,
      url: dashboardLink('', { scope: e.scope, fromMs: e.firedAt - windowMs, toMs: end }),
    });
  }
  for (const a of audit) {
    // Inclusive of `to`, like the episodes: a disable decided at the end of the window it judged belongs to it.
    if (a.at < f.fromMs || a.at > f.toMs || !matches(f.nodeType, a.nodeType) || !matches(f.organizationId, a.organizationId)) continue;
    const scope: Record<string, string> = {};
    if (a.nodeType) scope.node_type = a.nodeType;
    if (a.organizationId) scope.organization_id = a.organizationId;
    out.push({
      kind: 'registry_change',
      id: `audit/${a.id}`,
      start_ms: a.at,
      end_ms: null,
      node_type: a.nodeType,
      organization_id: a.organizationId,
      title: a.change,
      detail: `${a.change}: ${a.nodeType ?? 'every action'}${a.organizationId ? ` for ${a.organizationId}` : a.scope === 'global' ? ' for everyone' : ''} by ${a.actor}${a.reason ? ` — ${a.reason}` : ''} (${new Date(a.at).toISOString()})`,
      actor: a.actor,
      url: dashboardLink('', { scope, fromMs: a.at - 60 * MIN, toMs: Math.min(Math.max(nowMs, a.at + MIN), a.at + 60 * MIN) }),
    });
  }
  return out.sort((x, y) => x.start_ms - y.start_ms || x.id.localeCompare(y.id));
}

interface AuditChange {
  id: string;
  at: number;
  nodeType: string | null;
  organizationId: string | null;
  /** `global` when the row says the change was for everyone (the `scope` column); null when it does not say. */
  scope: string | null;
  /** "disable", "enable", or whatever the trail records, with its kind when the row names one. */
  change: string;
  actor: string;
  reason: string | null;
}

/**
 * The audit rows read generically: besides the columns every version has, a row may name an organization (a column
 * or `details.organization_id`) and a kind of change (a `kind`/`scope` column or `details.kind`); new kinds of
 * change show as they are written, without a change here.
 */
async function auditRows(db: SqlDb, f: AnnotationFilters): Promise<AuditChange[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT * FROM node_registry_audit WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, id LIMIT 5000`,
    [new Date(f.fromMs - AUDIT_SLACK_MS).toISOString(), new Date(f.toMs + AUDIT_SLACK_MS).toISOString()],
  );
  return rows.map((r) => {
    const details = (r.details && typeof r.details === 'object' ? r.details : {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);
    const extra = Object.fromEntries(Object.entries(r).filter(([k]) => !KNOWN_AUDIT_COLUMNS.has(k)));
    const created = r.created_at instanceof Date ? r.created_at.getTime() : Date.parse(String(r.created_at));
    const eventTime = Number(details.event_time);
    const kind = text(extra.kind) ?? text(details.kind);
    const action = text(r.action) ?? 'change';
    const nodeType = text(r.node_type);
    return {
      id: String(r.id),
      at: Number.isFinite(eventTime) && eventTime > 0 ? eventTime : created,
      nodeType: nodeType === '*' ? null : nodeType,
      organizationId: text(extra.organization_id) ?? text(details.organization_id),
      scope: text(extra.scope),
      change: kind && kind !== action ? `${action} (${kind})` : action,
      actor: text(r.actor) ?? 'unknown',
      reason: text(r.reason),
    };
  });
}
