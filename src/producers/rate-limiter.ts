/**
 * Per-source token bucket counted in events (not requests): a batch of 500 costs 500. Refills continuously
 * at `ratePerSecond` up to `burst`. A refused take says how long until it would fit, for Retry-After.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {}

  take(key: string, requested: number, nowMs = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    // A request larger than the burst could never fit; it pays a full bucket instead.
    const cost = Math.min(requested, this.burst);
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: nowMs };
    b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.ratePerSecond);
    b.at = nowMs;
    this.buckets.set(key, b);
    if (cost <= b.tokens) {
      b.tokens -= cost;
      return { ok: true };
    }
    const needed = cost - b.tokens;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(needed / this.ratePerSecond)) };
  }
}
