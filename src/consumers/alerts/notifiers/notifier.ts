import { trace } from '@opentelemetry/api';
import { parseRetryAfter } from '../../../platform/retry.ts';
import type { AlertNotification } from '../alert-notification.ts';

/**
 * One contract for every alert channel (Slack, PagerDuty, signed webhook). A notifier only says whether
 * a failure is worth retrying and, if the server said so, when; the outbox dispatcher owns pacing,
 * backoff and persistence — no notifier sleeps or loops.
 */
export type DeliveryResult = { ok: true } | { ok: false; retryable: boolean; retryInMs?: number; error: string };

export interface Notifier {
  readonly name: string;
  /** Minimum gap between two messages to this channel (Slack: ~1 message per second per webhook). */
  readonly minIntervalMs: number;
  send(n: AlertNotification, signal: AbortSignal): Promise<DeliveryResult>;
}

/** The delivery outcome alone (postJson's answer also carries the status and body, for notifiers that read them). */
export function deliveryOf(r: DeliveryResult): DeliveryResult {
  return r.ok ? { ok: true } : { ok: false, retryable: r.retryable, retryInMs: r.retryInMs, error: r.error };
}

/** POSTs JSON and classifies the answer the way every alert API here behaves: 429/5xx/network retry, other 4xx do not. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<DeliveryResult & { status?: number; text?: string }> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  // The dispatcher's delivery span: the host (never the URL: a Slack webhook's path is its secret) and the status.
  const span = trace.getActiveSpan();
  if (span && URL.canParse(url)) span.setAttributes({ 'http.request.method': 'POST', 'server.address': new URL(url).hostname });
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (err) {
    return { ok: false, retryable: true, error: `network: ${(err as Error).message}` };
  }
  const text = await res.text().catch(() => '');
  span?.setAttribute('http.response.status_code', res.status);
  if (res.ok) return { ok: true, status: res.status, text };
  const retryInMs = parseRetryAfter(res.headers.get('retry-after'));
  const retryable = res.status === 429 || res.status === 408 || res.status >= 500;
  return { ok: false, retryable, retryInMs, status: res.status, text, error: `HTTP ${res.status}: ${text.slice(0, 200)}` };
}
