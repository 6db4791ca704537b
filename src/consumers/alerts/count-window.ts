/**
 * The exact event times of one count rule's numerator events in one scope, sorted, so the count over any closed
 * span [t − window, t] is two binary searches: no clock-minute edges. Kept for the window plus the lateness
 * allowance (a late event must still find the events it joins): memory is 8 bytes per numerator event of that
 * span, per scope (six refresh failures an hour for an organization is 6 × 6.25 numbers).
 */
export class CountWindow {
  private ts: number[] = [];

  constructor(readonly scope: Readonly<Record<string, string>>) {}

  get size(): number {
    return this.ts.length;
  }

  insert(t: number): void {
    const a = this.ts;
    if (a.length === 0 || t >= a[a.length - 1]) a.push(t);
    else a.splice(this.upper(t), 0, t);
  }

  /** Events with time in [from, to]. */
  count(from: number, to: number): number {
    return to < from ? 0 : this.upper(to) - this.lower(from);
  }

  /**
   * The first instant s ≥ `from` at which the closed window [s − windowMs, s] holds more than `threshold` events,
   * for events just inserted with times in [from, to]. A count only changes at an event, so the candidates are the
   * event times from `from` up to the last one whose window still contains `to`: windows that contain none of the
   * inserted events were looked at before (however many events one read brought, and however far apart).
   */
  firstBreach(from: number, to: number, windowMs: number, threshold: number): { at: number; count: number } | undefined {
    const a = this.ts;
    for (let i = this.lower(from); i < a.length && a[i] <= to + windowMs; i++) {
      if (i + 1 < a.length && a[i + 1] === a[i]) continue; // the window ending at a tie holds all of it
      const n = this.count(a[i] - windowMs, a[i]);
      if (n > threshold) return { at: a[i], count: n };
    }
    return undefined;
  }

  /** Forgets events before `t`. */
  dropBefore(t: number): void {
    const i = this.lower(t);
    if (i > 0) this.ts = this.ts.slice(i);
  }

  get newest(): number {
    return this.ts.length === 0 ? -Infinity : this.ts[this.ts.length - 1];
  }

  /** First index with a[i] >= t. */
  private lower(t: number): number {
    let lo = 0;
    let hi = this.ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index with a[i] > t. */
  private upper(t: number): number {
    let lo = 0;
    let hi = this.ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
