import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Qontak CRM API v3.1 — the demo's CRM and the tests' fake — behaving like the real one where the executors care:
 * company tokens that expire, 401 on a bad/expired token, refresh via POST /api/v3.1/teams/company_token
 * (which can be made to fail), X-Crm-Api-Key fallback, lead lookup by phone, injected 5xx/429 and slow
 * responses. It records every request it received (with the time it spent on each) for assertions.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  body: unknown;
  status: number;
  /** Time the fake itself spent on the request, injected delay included. */
  handledMs: number;
}

interface TokenInfo {
  org: string;
  expiresAt: number;
  revoked: boolean;
}

interface Fault {
  method?: string;
  pathPrefix: string;
  status?: number;
  delayMs?: number;
  retryAfter?: string;
  times: number;
}

export interface FakeCrmOptions {
  apiKey?: string;
  /** Lifetime of issued company tokens. */
  tokenTtlMs?: number;
  /** Keep at most this many recorded requests (the demo runs for hours; tests keep all). */
  maxRecordedRequests?: number;
}

interface FailureShare {
  method: string;
  pathPrefix: string;
  share: number;
  status: number;
  seen: number;
}

export class QontakCrmSimulator {
  readonly requests: RecordedRequest[] = [];
  refreshMode: 'ok' | 'fail_500' | 'fail_401' = 'ok';
  /** Organizations whose token refresh always fails (their token service is broken). */
  private readonly failingRefreshOrgs = new Set<string>();
  private readonly failureShares: FailureShare[] = [];
  /** Per organization (the company token's): requests matching method/path prefix answer `status`. */
  private readonly organizationFailures = new Map<string, { method: string; pathPrefix: string; status: number; message: string }>();
  refreshDelayMs = 0;
  private server: Server | undefined;
  private readonly tokens = new Map<string, TokenInfo>();
  private readonly refreshTokens = new Map<string, string>();
  private readonly leads: { id: number; phone: string }[] = [];
  private readonly records = { deals: new Map<string, Record<string, unknown>>(), tickets: new Map<string, Record<string, unknown>>() };
  private readonly faults: Fault[] = [];
  private nextId = 1000;
  url = '';

  constructor(private readonly options: FakeCrmOptions = {}) {}

  /** Listens on 127.0.0.1, on `port` (default: any free one); resolves with its base URL. */
  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** A new company token + refresh token for an organization, as the CRM's OAuth flow would hand out. */
  issueToken(org: string): { companyToken: string; refreshToken: string } {
    const companyToken = `ct_${randomBytes(16).toString('hex')}`;
    const refreshToken = `rt_${randomBytes(16).toString('hex')}`;
    this.tokens.set(companyToken, { org, expiresAt: Date.now() + (this.options.tokenTtlMs ?? 3_600_000), revoked: false });
    this.refreshTokens.set(refreshToken, org);
    return { companyToken, refreshToken };
  }

  /** Expires every company token of the organization (as if their TTL passed). */
  expireTokens(org: string): void {
    for (const info of this.tokens.values()) if (info.org === org) info.expiresAt = 0;
  }

  addLead(lead: { id: number; phone: string }): void {
    this.leads.push(lead);
  }

  seedRecord(kind: 'deals' | 'tickets', id: string, fields: Record<string, unknown> = {}): void {
    this.records[kind].set(id, { id, ...fields });
  }

  record(kind: 'deals' | 'tickets', id: string): Record<string, unknown> | undefined {
    return this.records[kind].get(id);
  }

  setRefreshFailing(org: string, failing: boolean): void {
    if (failing) this.failingRefreshOrgs.add(org);
    else this.failingRefreshOrgs.delete(org);
  }

  /** From now on, `share` of the requests matching method/path prefix answer `status` (share 0 removes it). */
  setFailureShare(f: Omit<FailureShare, 'seen'>): void {
    const i = this.failureShares.findIndex((x) => x.method === f.method && x.pathPrefix === f.pathPrefix);
    if (i >= 0) this.failureShares.splice(i, 1);
    if (f.share > 0) this.failureShares.push({ ...f, seen: 0 });
  }

  /**
   * From now on, this organization's requests (by its company token) matching method/path prefix answer `status`
   * with `message`, as when its CRM account is misconfigured; the other organizations are unaffected. `undefined`
   * removes it.
   */
  setOrganizationFailure(org: string, f: { method: string; pathPrefix: string; status: number; message: string } | undefined): void {
    if (f) this.organizationFailures.set(org, f);
    else this.organizationFailures.delete(org);
  }

  /** The next `times` requests matching method/path prefix answer `status` (and/or are delayed). */
  inject(fault: Partial<Fault> & { pathPrefix: string }): void {
    this.faults.push({ times: 1, ...fault });
  }

  requestsTo(method: string, pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix));
  }

  refreshCount(): number {
    return this.requestsTo('POST', '/api/v3.1/teams/company_token').length;
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const shared = this.failureShares.find((f) => f.method === method && path.startsWith(f.pathPrefix));
    if (shared) {
      shared.seen++;
      // Every 1/share-th matching request fails: deterministic, so a run fails the same share every time.
      if (Math.floor(shared.seen * shared.share) !== Math.floor((shared.seen - 1) * shared.share)) {
        return { pathPrefix: shared.pathPrefix, status: shared.status, times: 1 };
      }
    }
    const i = this.faults.findIndex((f) => (!f.method || f.method === method) && path.startsWith(f.pathPrefix));
    if (i < 0) return undefined;
    const fault = this.faults[i];
    if (--fault.times <= 0) this.faults.splice(i, 1);
    return fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text || null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // Recorded as text; the route answers 400.
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const entry: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { authorization: req.headers.authorization, 'x-crm-api-key': req.headers['x-crm-api-key'] as string | undefined, 'x-trace-id': req.headers['x-trace-id'] as string | undefined, 'content-type': req.headers['content-type'] },
      body,
      status: 0,
      handledMs: 0,
    };
    this.requests.push(entry);
    const cap = this.options.maxRecordedRequests;
    if (cap !== undefined && this.requests.length > cap) this.requests.splice(0, this.requests.length - cap);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      entry.handledMs = performance.now() - started;
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    const fault = this.takeFault(method, url.pathname);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.status) {
      send(fault.status, { meta: { status: fault.status, message: 'injected failure' } }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
      return;
    }
    if (url.pathname === '/api/v3.1/teams/company_token' && method === 'POST') return this.refresh(body, send);
    if (!this.authorized(req)) {
      send(401, { meta: { status: 401, type: 'Unauthorized', message: 'The access token is invalid or has expired' } });
      return;
    }
    const own = this.organizationFailures.get(this.organizationOf(req) ?? '');
    if (own && own.method === method && url.pathname.startsWith(own.pathPrefix)) {
      send(own.status, { meta: { status: own.status, message: own.message } });
      return;
    }
    this.route(method, url, body, send);
  }

  private authorized(req: IncomingMessage): boolean {
    const key = req.headers['x-crm-api-key'];
    if (key !== undefined) return !!this.options.apiKey && key === this.options.apiKey;
    const info = this.tokenOf(req);
    return !!info && !info.revoked && info.expiresAt > Date.now();
  }

  private tokenOf(req: IncomingMessage): TokenInfo | undefined {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m ? this.tokens.get(m[1]) : undefined;
  }

  /** The organization whose company token authorizes the request (none for the API key). */
  private organizationOf(req: IncomingMessage): string | undefined {
    return this.tokenOf(req)?.org;
  }

  private async refresh(body: unknown, send: (s: number, p: unknown) => void): Promise<void> {
    if (this.refreshDelayMs) await new Promise((r) => setTimeout(r, this.refreshDelayMs));
    if (this.refreshMode === 'fail_500') return send(500, { meta: { status: 500, message: 'token service unavailable' } });
    const rt = (body as { refresh_token?: unknown } | null)?.refresh_token;
    const org = typeof rt === 'string' ? this.refreshTokens.get(rt) : undefined;
    if (org && this.failingRefreshOrgs.has(org)) return send(500, { meta: { status: 500, message: 'token service unavailable' } });
    if (this.refreshMode === 'fail_401' || !org) return send(401, { meta: { status: 401, message: 'invalid refresh token' } });
    for (const info of this.tokens.values()) if (info.org === org) info.revoked = true;
    this.refreshTokens.delete(rt as string);
    const issued = this.issueToken(org);
    send(200, { meta: { status: 200, type: 'OK' }, response: { company_token: issued.companyToken, refresh_token: issued.refreshToken, expires_in: 3600 } });
  }

  private route(method: string, url: URL, body: unknown, send: (s: number, p: unknown) => void): void {
    const m = /^\/api\/v3\.1\/(deals|tickets|leads)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return send(404, { meta: { status: 404, message: 'not found' } });
    const [, kind, id] = m;
    if (kind === 'leads' && method === 'GET' && !id) {
      const phone = url.searchParams.get('phone') ?? '';
      return send(200, { meta: { status: 200 }, response: this.leads.filter((l) => l.phone === phone) });
    }
    if (kind === 'leads') return send(405, { meta: { status: 405, message: 'method not allowed' } });
    const store = this.records[kind as 'deals' | 'tickets'];
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return send(400, { meta: { status: 400, message: 'body must be a JSON object' } });
    if (method === 'POST' && !id) {
      const fields = body as Record<string, unknown>;
      if (!fields.name || !fields.crm_pipeline_id || !fields.crm_stage_id) {
        return send(422, { meta: { status: 422, message: 'name, crm_pipeline_id and crm_stage_id are required' } });
      }
      const created = { id: this.nextId++, ...fields };
      store.set(String(created.id), created);
      return send(201, { meta: { status: 201, type: 'OK' }, response: created });
    }
    if (method === 'PUT' && id) {
      const existing = store.get(decodeURIComponent(id));
      if (!existing) return send(404, { meta: { status: 404, message: `${kind.slice(0, -1)} not found` } });
      Object.assign(existing, body);
      return send(200, { meta: { status: 200, type: 'OK' }, response: existing });
    }
    send(405, { meta: { status: 405, message: 'method not allowed' } });
  }
}
