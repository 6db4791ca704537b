import { parseRetryAfter, retryDelay, sleep as pause, type BackoffPolicy, type RandomSource } from '../platform/retry.ts';

/**
 * The CRM transport: one fetch with a timeout, and the retry policy. It knows HTTP, not tokens.
 * Policy: PUT/GET (idempotent) retry on 5xx, timeouts and network errors with full-jitter backoff; every
 * method retries 429 (the server refused before doing anything) and a refused connection (nothing was
 * sent). A POST that timed out or lost its connection is never retried: it may have created the record.
 * A 429's Retry-After (seconds or HTTP date) is waited for, but never longer than `retryMaxDelayMs`:
 * an agent is waiting for the answer.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT';

export interface CrmHttpConfig {
  baseUrl: string;
  requestTimeoutMs: number;
  maxRetries: number;
  /** Ceiling of the first backoff; doubles per attempt; the wait is uniform below it (full jitter). */
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
  | { kind: 'response'; status: number; body: unknown; attempts: number; retryAfterMs?: number }
  | { kind: 'timeout'; attempts: number }
  | { kind: 'network'; code: string; refused: boolean; attempts: number };

type Sleep = (ms: number) => Promise<void>;

export class CrmHttp {
  private readonly policy: BackoffPolicy;

  constructor(
    private readonly config: CrmHttpConfig,
    private readonly sleep: Sleep = pause,
    private readonly random: RandomSource = Math.random,
  ) {
    this.policy = {
      initialMs: config.retryBaseDelayMs,
      maxMs: config.retryMaxDelayMs,
      multiplier: 2,
      maxServerDelayMs: config.retryMaxDelayMs,
    };
  }

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
          await this.sleep(this.backoff(attempt, outcome.retryAfterMs));
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

  private backoff(attempt: number, serverDelayMs?: number): number {
    return retryDelay(attempt, this.policy, serverDelayMs, this.random);
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
      return { kind: 'response', status: res.status, body, attempts, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'timeout', attempts };
      const code = e.cause?.code ?? e.name;
      return { kind: 'network', code, refused: code === 'ECONNREFUSED', attempts };
    }
  }
}
