import { describe, expect, it } from 'vitest';
import { parseFilters } from '../../../src/consumers/clickhouse/dashboard-filters.ts';
import { dashboardLink, notificationLinks, serviceDashboardUrl, traceLink } from '../../../src/consumers/clickhouse/dashboard-links.ts';
import { loadConfig } from '../../../src/platform/config.ts';

const AT = Date.UTC(2026, 10, 30, 10, 23);
const HOUR = 3600_000;

describe('notification links', () => {
  it('follow the service address: HTTP_HOST/HTTP_PORT, or PUBLIC_DASHBOARD_URL when set', () => {
    expect(serviceDashboardUrl(loadConfig({}).http)).toBe('http://127.0.0.1:8080');
    expect(serviceDashboardUrl(loadConfig({ HTTP_PORT: '9191' }).http)).toBe('http://127.0.0.1:9191');
    expect(serviceDashboardUrl(loadConfig({ HTTP_HOST: '0.0.0.0', HTTP_PORT: '9191' }).http)).toBe('http://127.0.0.1:9191');
    expect(serviceDashboardUrl(loadConfig({ HTTP_HOST: 'fd00::5', HTTP_PORT: '9191' }).http)).toBe('http://[fd00::5]:9191');
    expect(serviceDashboardUrl(loadConfig({ HTTP_PORT: '9191', PUBLIC_DASHBOARD_URL: 'https://pulse.example.com/dash/' }).http)).toBe('https://pulse.example.com/dash');
  });

  it('preselect the scope and the window, and the dashboard reads them back exactly', () => {
    const url = new URL(dashboardLink('http://127.0.0.1:9191', { scope: { node_type: 'qontak_crm_deal_update', organization_id: 'org-7' }, fromMs: AT - HOUR, toMs: AT }));
    expect(url.origin).toBe('http://127.0.0.1:9191');
    // The page that explains the scope: an action's page, filtered to the organization.
    expect(url.pathname).toBe('/action.html');
    expect(Object.fromEntries(url.searchParams)).toEqual({ organization_id: 'org-7', node_type: 'qontak_crm_deal_update', from: '2026-11-30T09:23:00.000Z', to: '2026-11-30T10:23:00.000Z' });
    expect(parseFilters(Object.fromEntries(url.searchParams), Date.now(), '28d')).toMatchObject({ ok: true, filters: { fromMs: AT - HOUR, toMs: AT, organizationId: 'org-7', nodeType: 'qontak_crm_deal_update' } });
    // The overall scope preselects no filter; scope keys that are not dashboard filters are left out.
    expect(new URL(dashboardLink('http://h:1', { scope: { region: 'x' }, fromMs: AT - HOUR, toMs: AT })).searchParams.has('region')).toBe(false);
  });

  it('land on the page that explains the scope: an action, an organization, or the overview', () => {
    const path = (scope: Record<string, string>) => new URL(dashboardLink('https://pulse.example.com/dash/', { scope, fromMs: AT - HOUR, toMs: AT })).pathname;
    expect(path({ node_type: 'qontak_crm_deal_update' })).toBe('/dash/action.html');
    expect(path({ organization_id: 'org-7' })).toBe('/dash/organization.html');
    expect(path({})).toBe('/dash/');
    expect(path({ region: 'x' })).toBe('/dash/');
  });

  it('link a recent failure to the trace UI only when a template is configured', () => {
    const id = 'a'.repeat(32);
    expect(traceLink('https://jaeger.example/trace/{trace_id}', id)).toBe(`https://jaeger.example/trace/${id}`);
    expect(traceLink(undefined, id)).toBeUndefined();
    expect(traceLink('https://jaeger.example/trace/{trace_id}', undefined)).toBeUndefined();
    expect(notificationLinks({ dashboardBaseUrl: 'http://h:1' }, { scope: {}, atMs: AT, windowMs: HOUR, traceId: id })).toEqual({
      dashboardUrl: 'http://h:1/?from=2026-11-30T09%3A23%3A00.000Z&to=2026-11-30T10%3A23%3A00.000Z',
    });
    expect(notificationLinks({ dashboardBaseUrl: 'http://h:1', traceUrlTemplate: 'https://tempo.example/explore?trace={trace_id}' }, { scope: {}, atMs: AT, windowMs: HOUR, traceId: id }).traceUrl).toBe(
      `https://tempo.example/explore?trace=${id}`,
    );
  });
});
