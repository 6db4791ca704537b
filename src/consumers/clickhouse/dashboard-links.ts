/**
 * Links into the web dashboard (and to a trace UI) that land on the page that explains them: the query names the
 * dashboard's own filters (`organization_id`, `node_type`) and the window as ISO instants, which dashboard-api.ts
 * honours to the second.
 * Every notification (Slack, PagerDuty, webhook) gets its links here.
 */
export interface LinkSettings {
  /** Where the dashboard is reached, e.g. https://actionpulse.example.com (no trailing slash needed). */
  dashboardBaseUrl: string;
  /** A trace UI's URL with `{trace_id}` where the id goes, e.g. https://jaeger.example/trace/{trace_id}. */
  traceUrlTemplate?: string;
}

/** The dashboard filters a link may preselect; other scope keys are not dashboard filters and are left out. */
const FILTERS = ['organization_id', 'node_type'] as const;

/**
 * The service's own dashboard address: PUBLIC_DASHBOARD_URL when set (behind a proxy or a load balancer), else
 * http://HTTP_HOST:HTTP_PORT — a wildcard bind address (0.0.0.0, ::) becomes the loopback address, which at least
 * lands on this machine.
 */
export function serviceDashboardUrl(http: { host: string; port: number; publicDashboardUrl?: string }): string {
  if (http.publicDashboardUrl) return http.publicDashboardUrl.replace(/\/+$/, '');
  const host = http.host === '0.0.0.0' || http.host === '' ? '127.0.0.1' : http.host === '::' ? '[::1]' : http.host.includes(':') && !http.host.startsWith('[') ? `[${http.host}]` : http.host;
  return `http://${host}:${http.port}`;
}

/**
 * The page that explains a scope: the per-action page when it names an action (filtered to its organization when
 * it names one too), the per-organization page when it names only an organization, the overview otherwise.
 */
export function pageFor(scope: Record<string, string>): string {
  return scope.node_type ? 'action.html' : scope.organization_id ? 'organization.html' : '';
}

/** The page that explains the scope, with its filters and the window [fromMs, toMs) preselected. */
export function dashboardLink(baseUrl: string, o: { scope: Record<string, string>; fromMs: number; toMs: number }): string {
  const params = new URLSearchParams();
  for (const key of FILTERS) if (o.scope[key]) params.set(key, o.scope[key]);
  params.set('from', new Date(o.fromMs).toISOString());
  params.set('to', new Date(o.toMs).toISOString());
  return `${baseUrl.replace(/\/+$/, '')}/${pageFor(o.scope)}?${params.toString()}`;
}

/** The trace UI's page of a trace, or undefined without a template or a trace id. */
export function traceLink(template: string | undefined, traceId: string | undefined): string | undefined {
  if (!template || !traceId || !/^[0-9a-f]{32}$/.test(traceId)) return undefined;
  return template.replaceAll('{trace_id}', traceId);
}

let processTraceTemplate: string | undefined;

/**
 * The trace URL template of this process (from TRACE_URL_TEMPLATE), set once at start-up by the wiring, for
 * notification builders that are handed only the dashboard base.
 */
export function setTraceUrlTemplate(template: string | undefined): void {
  processTraceTemplate = template;
}

export function notificationLinks(
  settings: LinkSettings,
  o: { scope: Record<string, string>; atMs: number; windowMs: number; sinceMs?: number; traceId?: string },
): { dashboardUrl: string; traceUrl?: string } {
  // The window the rule judged, from `sinceMs` (an episode's firing) when given, to `atMs`.
  const fromMs = Math.min(o.sinceMs ?? o.atMs, o.atMs) - o.windowMs;
  const dashboardUrl = dashboardLink(settings.dashboardBaseUrl, { scope: o.scope, fromMs, toMs: o.atMs });
  const traceUrl = traceLink(settings.traceUrlTemplate ?? processTraceTemplate, o.traceId);
  return traceUrl ? { dashboardUrl, traceUrl } : { dashboardUrl };
}
