/**
 * Backoff for transient failures, owned in one place: sinks only say "retry" (optionally with the
 * server's delay), never sleep themselves. Full jitter keeps several consumers from retrying in lockstep.
 */
export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialMs: 500, maxMs: 30_000, multiplier: 2 };

export function backoffDelay(attempt: number, policy: RetryPolicy, serverDelayMs?: number, random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt - 1));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  // A server's Retry-After is a floor: retrying earlier only earns another 429.
  return Math.max(jittered, serverDelayMs ?? 0);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
