/**
 * Counts for one rule and one scope in minute buckets, as fixed rings: memory per scope is constant
 * (window length × two counters), whatever the traffic, which is what keeps 10k organizations cheap.
 * A slot remembers which bucket it holds, so a ring never needs a sweep to expire old minutes.
 */
export interface RecentFailure {
  event_id: string;
  trace_id?: string;
  timestamp: number;
}

export class WindowSeries {
  private readonly stamps: Float64Array;
  private readonly num: Uint32Array;
  private readonly den: Uint32Array;
  /** Failure reasons per slot, kept only for rules whose numerator carries a reason. */
  private reasons: Map<string, Uint32Array> | undefined;
  lastFailure: RecentFailure | undefined;
  newestBucket = -Infinity;

  constructor(
    readonly scope: Readonly<Record<string, string>>,
    private readonly size: number,
  ) {
    this.stamps = new Float64Array(size).fill(-1);
    this.num = new Uint32Array(size);
    this.den = new Uint32Array(size);
  }

  private slot(bucket: number): number {
    const i = bucket % this.size;
    if (this.stamps[i] !== bucket) {
      this.stamps[i] = bucket;
      this.num[i] = 0;
      this.den[i] = 0;
      if (this.reasons) for (const arr of this.reasons.values()) arr[i] = 0;
    }
    if (bucket > this.newestBucket) this.newestBucket = bucket;
    return i;
  }

  addNumerator(bucket: number, reason?: string): void {
    const i = this.slot(bucket);
    this.num[i]++;
    if (reason !== undefined) {
      this.reasons ??= new Map();
      let arr = this.reasons.get(reason);
      if (!arr) {
        arr = new Uint32Array(this.size);
        this.reasons.set(reason, arr);
      }
      // A slot reused by a newer bucket was zeroed above for known reasons; a new reason starts at 0.
      arr[i]++;
    }
  }

  addDenominator(bucket: number): void {
    this.den[this.slot(bucket)]++;
  }

  /** Sums over the `size` buckets ending at `lastBucket` (inclusive). */
  sum(lastBucket: number): { numerator: number; denominator: number } {
    let numerator = 0;
    let denominator = 0;
    const first = lastBucket - this.size;
    for (let i = 0; i < this.size; i++) {
      const b = this.stamps[i];
      if (b > first && b <= lastBucket) {
        numerator += this.num[i];
        denominator += this.den[i];
      }
    }
    return { numerator, denominator };
  }

  topReasons(lastBucket: number, limit = 3): { reason: string; count: number }[] {
    if (!this.reasons) return [];
    const first = lastBucket - this.size;
    const out: { reason: string; count: number }[] = [];
    for (const [reason, arr] of this.reasons) {
      let count = 0;
      for (let i = 0; i < this.size; i++) if (this.stamps[i] > first && this.stamps[i] <= lastBucket) count += arr[i];
      if (count > 0) out.push({ reason, count });
    }
    return out.sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)).slice(0, limit);
  }

  /** True when every counted minute is older than the window ending at `lastBucket`. */
  expired(lastBucket: number): boolean {
    return this.newestBucket <= lastBucket - this.size;
  }
}
