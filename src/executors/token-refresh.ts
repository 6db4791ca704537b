import type { TokenRefreshOutcome } from '../events/index.ts';
import type { Logger } from '../platform/logger.ts';
import type { CrmHttp } from './crm-http.ts';
import type { CompanyToken, TokenStore } from './token-store.ts';

export const REFRESH_PATH = '/api/v3.1/teams/company_token';

export interface RefreshReport {
  organizationId: string;
  outcome: TokenRefreshOutcome;
  durationMs: number;
  status?: number;
}

export type RefreshResult = { ok: true; token: CompanyToken } | { ok: false };

/**
 * Refreshes an organization's company token after a 401, once per organization at a time: concurrent
 * callers that hit the same expired token share one refresh (no stampede against the CRM). A caller whose
 * 401 came from a token that has already been replaced gets the new one without another refresh.
 */
export class TokenRefresher {
  private readonly inflight = new Map<string, Promise<RefreshResult>>();

  constructor(
    private readonly http: CrmHttp,
    private readonly store: TokenStore,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** `staleToken` is the token that just got a 401; `onRefresh` hears about each real refresh attempt. */
  async refresh(organizationId: string, staleToken: string, onRefresh: (report: RefreshReport) => void): Promise<RefreshResult> {
    const cached = await this.store.get(organizationId);
    if (cached && cached.companyToken !== staleToken) return { ok: true, token: cached };
    const running = this.inflight.get(organizationId);
    if (running) return running;
    const job = this.doRefresh(organizationId, staleToken, onRefresh).finally(() => this.inflight.delete(organizationId));
    this.inflight.set(organizationId, job);
    return job;
  }

  private async doRefresh(organizationId: string, staleToken: string, onRefresh: (report: RefreshReport) => void): Promise<RefreshResult> {
    // Another process may have refreshed already: the database has the last word.
    const stored = await this.store.get(organizationId, true);
    if (stored && stored.companyToken !== staleToken) return { ok: true, token: stored };
    const started = this.now();
    const report = (outcome: TokenRefreshOutcome, status?: number) =>
      onRefresh({ organizationId, outcome, durationMs: Math.max(0, Math.round(this.now() - started)), status });
    if (!stored?.refreshToken) {
      this.logger.warn({ organization_id: organizationId }, 'CRM token refresh impossible: no refresh token stored');
      report('failed');
      return { ok: false };
    }
    const res = await this.http.send({
      method: 'POST',
      path: REFRESH_PATH,
      headers: {},
      body: { refresh_token: stored.refreshToken },
    });
    const data = res.kind === 'response' ? extractToken(res.body) : undefined;
    if (res.kind !== 'response' || res.status < 200 || res.status >= 300 || !data) {
      const status = res.kind === 'response' ? res.status : undefined;
      this.logger.warn({ organization_id: organizationId, status, kind: res.kind }, 'CRM token refresh failed');
      report('failed', status);
      return { ok: false };
    }
    const token: CompanyToken = { companyToken: data.company_token, refreshToken: data.refresh_token ?? stored.refreshToken };
    await this.store.put(organizationId, token);
    this.logger.info({ organization_id: organizationId }, 'CRM company token refreshed');
    report('success', res.status);
    return { ok: true, token };
  }
}

function extractToken(body: unknown): { company_token: string; refresh_token?: string } | undefined {
  const root = (body as { response?: unknown } | null)?.response ?? body;
  const r = root as { company_token?: unknown; refresh_token?: unknown } | null;
  if (!r || typeof r.company_token !== 'string' || r.company_token === '') return undefined;
  return { company_token: r.company_token, refresh_token: typeof r.refresh_token === 'string' ? r.refresh_token : undefined };
}
