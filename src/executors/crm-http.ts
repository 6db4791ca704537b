/**
 * The CRM transport: one fetch with a timeout, and the retry policy. It knows HTTP, not tokens.
 * Policy: PUT/GET (idempotent) retry on 5xx, timeouts and network errors with jittered backoff; every
 * method retries 429 (the server refused before doing anything) and a refused connection (nothing was
 * sent). A POST that timed out or lost its connection is never retried: it may have created the record.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT';

export interface CrmHttpConfig {
  baseUrl: string;
  requestTimeoutMs: number;
  maxRetries: number;
  /** First backoff; doubles per attempt, with full jitter. */
  retryBaseDelayMs: number;
  /** Upper bound for any single wait, Retry-After included. */
  retryMaxDelayMs: number;
}

export interface HttpRequest {
  method: HttpMethod;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers: Record<string, string>;
  body?: unknown;
}

export type HttpOutcome =
  | { kind: 'response'; status: number; body: unknown; attempts: number }
  | { kind: 'timeout'; attempts: number }
  | { kind: 'network'; code: string; refused: boolean; attempts: number };

type Sleep = (ms: number) => Promise<void>;
const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class CrmHttp {
  constructor(
    private readonly config: CrmHttpConfig,
    private readonly sleep: Sleep = realSleep,
  ) {}

  async send(req: HttpRequest): Promise<HttpOutcome> {
    const idempotent = req.method !== 'POST';
    let attempt = 0;
    for (;;) {
      attempt++;
      const outcome = await this.once(req, attempt);
      const canRetry = attempt <= this.config.maxRetries;
      if (!canRetry) return outcome;
      if (outcome.kind === 'response') {
        if (outcome.status === 429) {
          await this.sleep(this.retryAfter(outcome, attempt));
          continue;
        }
        if (outcome.status >= 500 && idempotent) {
          await this.sleep(this.backoff(attempt));
          continue;
        }
        return outcome;
      }
      if (outcome.kind === 'timeout' && idempotent) {
        await this.sleep(this.backoff(attempt));
        continue;
      }
      if (outcome.kind === 'network' && (idempotent || outcome.refused)) {
        await this.sleep(this.backoff(attempt));
        continue;
      }
      return outcome;
    }
  }

  private retryAfterHeader = new WeakMap<object, string>();

  private retryAfter(outcome: HttpOutcome, attempt: number): number {
    const header = this.retryAfterHeader.get(outcome);
    const seconds = header ? Number(header) : NaN;
    const wanted = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : this.backoff(attempt);
    return Math.min(wanted, this.config.retryMaxDelayMs);
  }

  private backoff(attempt: number): number {
    const cap = Math.min(this.config.retryMaxDelayMs, this.config.retryBaseDelayMs * 2 ** (attempt - 1));
    return Math.round(cap / 2 + (Math.random() * cap) / 2);
  }

  private async once(req: HttpRequest, attempts: number): Promise<HttpOutcome> {
    const url = new URL(req.path, this.config.baseUrl);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(url, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(this.config.requestTimeoutMs),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // Not JSON (an HTML error page from a proxy): keep the text.
      }
      const outcome: HttpOutcome = { kind: 'response', status: res.status, body, attempts };
      const ra = res.headers.get('retry-after');
      if (ra) this.retryAfterHeader.set(outcome, ra);
      return outcome;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'timeout', attempts };
      const code = e.cause?.code ?? e.name;
      return { kind: 'network', code, refused: code === 'ECONNREFUSED', attempts };
    }
  }
}
