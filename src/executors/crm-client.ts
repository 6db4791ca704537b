import type { FailureReason } from '../events/index.ts';
import type { CrmHttp, HttpOutcome, HttpRequest } from './crm-http.ts';
import type { RefreshReport, TokenRefresher } from './token-refresh.ts';
import type { TokenStore } from './token-store.ts';

export type CrmResult =
  | { ok: true; status: number; body: unknown }
  | { ok: false; reason: FailureReason; message: string; status?: number };

export interface CrmCall {
  organizationId: string;
  request: Omit<HttpRequest, 'headers'> & { headers?: Record<string, string> };
  onRefresh: (report: RefreshReport) => void;
}

/**
 * Authenticated CRM calls: Bearer company token; on 401 one shared refresh and one retry; when the refresh
 * fails (or the refreshed token is refused too) the X-Crm-Api-Key fallback, if configured. Every outcome
 * becomes a value with a stable reason; credentials never leave this object except in request headers.
 */
export class CrmClient {
  constructor(
    private readonly http: CrmHttp,
    private readonly store: TokenStore,
    private readonly refresher: TokenRefresher,
    private readonly apiKey: string | undefined,
  ) {}

  async call({ organizationId, request, onRefresh }: CrmCall): Promise<CrmResult> {
    const send = (auth: Record<string, string>) => this.http.send({ ...request, headers: { ...request.headers, ...auth } });
    const token = await this.store.get(organizationId);
    if (!token) {
      if (this.apiKey) return this.finish(request.method, await send(this.apiKeyHeader()), 'crm_unauthorized');
      return {
        ok: false,
        reason: 'crm_unauthorized',
        message: 'no CRM company token stored for this organization and no QONTAK_CRM_API_KEY: store its tokens with provisioning.putCrmToken(organizationId, { companyToken, refreshToken })',
      };
    }
    const first = await send(bearer(token.companyToken));
    if (!is401(first)) return this.finish(request.method, first, 'crm_unauthorized');

    const refreshed = await this.refresher.refresh(organizationId, token.companyToken, onRefresh);
    if (refreshed.ok) {
      const second = await send(bearer(refreshed.token.companyToken));
      if (!is401(second)) return this.finish(request.method, second, 'crm_unauthorized');
      if (!this.apiKey) return { ok: false, reason: 'crm_unauthorized', message: 'CRM answered 401 after a token refresh', status: 401 };
      return this.finish(request.method, await send(this.apiKeyHeader()), 'crm_unauthorized');
    }
    if (!this.apiKey) {
      return { ok: false, reason: 'crm_token_refresh_failed', message: 'CRM token refresh failed and no API key is configured', status: 401 };
    }
    return this.finish(request.method, await send(this.apiKeyHeader()), 'crm_token_refresh_failed');
  }

  private apiKeyHeader(): Record<string, string> {
    return { 'X-Crm-Api-Key': this.apiKey ?? '' };
  }

  /** Maps the last transport outcome to a result; `on401` says which reason a 401 here stands for. */
  private finish(method: string, outcome: HttpOutcome, on401: FailureReason): CrmResult {
    if (outcome.kind === 'timeout') {
      if (method === 'POST') {
        return { ok: false, reason: 'crm_create_outcome_unknown', message: 'create timed out; it may have succeeded, so it was not retried' };
      }
      return { ok: false, reason: 'crm_timeout', message: `CRM timed out on all ${outcome.attempts} attempt(s)` };
    }
    if (outcome.kind === 'network') {
      if (method === 'POST' && !outcome.refused) {
        return { ok: false, reason: 'crm_create_outcome_unknown', message: `connection lost during create (${outcome.code}); not retried` };
      }
      return { ok: false, reason: 'network_error', message: `CRM unreachable (${outcome.code})` };
    }
    const { status, body } = outcome;
    if (status >= 200 && status < 300) return { ok: true, status, body };
    const detail = describe(body);
    if (status === 401) return { ok: false, reason: on401, message: `CRM answered 401${detail}`, status };
    if (status === 429) return { ok: false, reason: 'crm_rate_limited', message: `CRM rate limit (429) after ${outcome.attempts} attempt(s)`, status };
    if (status >= 500) return { ok: false, reason: 'crm_server_error', message: `CRM answered ${status} after ${outcome.attempts} attempt(s)${detail}`, status };
    return { ok: false, reason: 'crm_client_error', message: `CRM answered ${status}${detail}`, status };
  }
}

function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

function is401(outcome: HttpOutcome): boolean {
  return outcome.kind === 'response' && outcome.status === 401;
}

/** A short, PII-free summary of an error body (the CRM's own message field only). */
function describe(body: unknown): string {
  const meta = (body as { meta?: { developer_message?: unknown; message?: unknown } } | null)?.meta;
  const msg = meta?.developer_message ?? meta?.message ?? (body as { message?: unknown } | null)?.message;
  return typeof msg === 'string' ? `: ${msg.slice(0, 200)}` : '';
}
