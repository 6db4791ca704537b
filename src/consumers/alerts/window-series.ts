/**
 * Counts for one rule and one scope, per minute bucket. A Map, not a ring: while rebuilding, one
 * partition may be read hours ahead of another that still holds the watermark back, and those
 * future minutes must wait without overwriting minutes not yet evaluated. Minutes that fell out of the
 * window are dropped at evaluation, so memory follows the window, not the traffic.
 */
export interface RecentFailure {
  event_id: string;
  trace_id?: string;
  timestamp: number;
}

interface Bucket {
  num: number;
  den: number;
  reasons?: Map<string, number>;
}

export class WindowSeries {
  private readonly buckets = new Map<number, Bucket>();
  lastFailure: RecentFailure | undefined;
  newestBucket = -Infinity;

  constructor(
    readonly scope: Readonly<Record<string, string>>,
    private readonly size: number,
  ) {}

  private bucket(b: number): Bucket {
    let x = this.buckets.get(b);
    if (!x) {
      x = { num: 0, den: 0 };
      this.buckets.set(b, x);
      if (b > this.newestBucket) this.newestBucket = b;
    }
    return x;
  }

  addNumerator(b: number, reason?: string): void {
    const x = this.bucket(b);
    x.num++;
    if (reason !== undefined) {
      x.reasons ??= new Map();
      x.reasons.set(reason, (x.reasons.get(reason) ?? 0) + 1);
    }
  }

  addDenominator(b: number): void {
    this.bucket(b).den++;
  }

  /**
   * Sums over the `size` buckets ending at `lastBucket` (inclusive); `forget` drops older buckets, which
   * only a closed minute's evaluation may do (an early look ahead must leave them to the minutes before).
   */
  sum(lastBucket: number, forget = true): { numerator: number; denominator: number } {
    let numerator = 0;
    let denominator = 0;
    const first = lastBucket - this.size;
    for (const [b, x] of this.buckets) {
      if (b <= first) {
        if (forget) this.buckets.delete(b);
      }
      else if (b <= lastBucket) {
        numerator += x.num;
        denominator += x.den;
      }
    }
    return { numerator, denominator };
  }

  topReasons(lastBucket: number, limit = 3): { reason: string; count: number }[] {
    const first = lastBucket - this.size;
    const totals = new Map<string, number>();
    for (const [b, x] of this.buckets) {
      if (b <= first || b > lastBucket || !x.reasons) continue;
      for (const [r, n] of x.reasons) totals.set(r, (totals.get(r) ?? 0) + n);
    }
    return [...totals]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
      .slice(0, limit);
  }

  /** True when every counted minute is older than the window ending at `lastBucket`. */
  expired(lastBucket: number): boolean {
    return this.newestBucket <= lastBucket - this.size;
  }
}
