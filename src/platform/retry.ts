/**
 * The project's one retry toolkit: how long to wait before the next attempt, what a server's
 * `Retry-After` means, and a sleep that a shutdown can cut short. Callers own their loops (each knows
 * what is safe to retry); none computes a delay or parses the header itself.
 *
 * Backoff is "full jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter"): a uniform random
 * wait between 0 and min(cap, base·multiplier^(attempt-1)). Spreading retries over the whole window is
 * what keeps many consumers or executors that failed together from retrying together.
 */
export interface BackoffPolicy {
  /** Ceiling of the first wait (attempt 1). */
  initialMs: number;
  /** No ceiling grows beyond this. */
  maxMs: number;
  /** Growth of the ceiling per attempt (2 = doubling). */
  multiplier: number;
  /**
   * Upper bound on a server-requested wait (Retry-After). Unset: the server's wait is honoured whatever
   * it is — a consumer that retries early only earns another 429. Set it where a caller is waiting
   * (the CRM client answers an agent mid-conversation and cannot wait minutes).
   */
  maxServerDelayMs?: number;
}

/** Returns a number in [0, 1); injected by tests to make the jitter deterministic. */
export type RandomSource = () => number;

/** The window's upper edge for `attempt` (1-based): min(maxMs, initialMs·multiplier^(attempt-1)). */
export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** exponent);
}

/** Full jitter: uniform in [0, ceiling). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: RandomSource = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, policy));
}

/**
 * The wait before the next attempt. A server's Retry-After is a floor (earlier only earns another
 * refusal), bounded by `maxServerDelayMs` when the policy sets one; without it the jittered backoff.
 */
export function retryDelay(attempt: number, policy: BackoffPolicy, serverDelayMs?: number, random: RandomSource = Math.random): number {
  const jittered = backoffDelay(attempt, policy, random);
  if (serverDelayMs === undefined) return jittered;
  const wanted = Math.max(jittered, serverDelayMs);
  return policy.maxServerDelayMs === undefined ? wanted : Math.min(wanted, policy.maxServerDelayMs);
}

/**
 * `Retry-After` (RFC 9110 §10.2.3) in milliseconds: `delay-seconds` (digits; a fraction is tolerated,
 * some proxies send one) or an HTTP-date, which counts from `nowMs` and is 0 once passed. Anything else
 * (empty, negative, garbage) is undefined, so the caller falls back to its backoff.
 */
export function parseRetryAfter(value: string | readonly string[] | null | undefined, nowMs = Date.now()): number | undefined {
  const raw = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  // An HTTP-date always names a weekday and a month in letters; this keeps Date.parse from reading
  // a bare number such as "-1" or "2026" as a date.
  if (!/[A-Za-z]{3}/.test(raw)) return undefined;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export interface SleepOptions {
  /** Let the process exit while this sleep is pending (background loops that a shutdown stops anyway). */
  unref?: boolean;
}

/**
 * Waits `ms`, or less if `signal` aborts: it then resolves at once (it never rejects), and the caller
 * checks the signal to see why it woke.
 */
export function sleep(ms: number, signal?: AbortSignal, options: SleepOptions = {}): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    if (options.unref) timer.unref();
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
