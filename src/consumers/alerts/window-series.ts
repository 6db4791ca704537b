/**
 * Ratio counts for one rule and one part of a scope (a scope without a node_type dimension is the sum of one
 * part per node_type, so the overall rate can leave out an action the kill switch disabled). Counts are kept per
 * step (10 s of event time by default) in a Map, not a ring: while rebuilding, one partition may be read hours
 * ahead of another, and late events (within the lateness allowance) land in steps already evaluated.
 *
 * Each rolling sum covers the `size` steps ending at `end` (inclusive) and is moved one step at a time, so an
 * evaluation costs O(1) per part however long the window; an event for a step inside a rolling window (a late
 * one) is added to it at once. Memory: one small object per step with traffic, kept for the longest window plus
 * the lateness allowance — about (window + allowance) / step entries per part at most.
 */
import { FAILURE_REASON_CODES } from '../../events/index.ts';

/** Failure reasons are the contract's closed list: counted per step in a small typed array, not a Map each. */
const REASON_INDEX = new Map<string, number>(FAILURE_REASON_CODES.map((r, i) => [r, i]));

export interface RecentFailure {
  event_id: string;
  trace_id?: string;
  timestamp: number;
}

export interface StepCounts {
  /** Numerator events that are not blocked calls. */
  num: number;
  /** Denominator events that are not blocked calls: the numerator is a subset of them (the rules schema sees to it). */
  den: number;
  /** Blocked calls: refused by the registry gate, counted here only, in neither numerator nor denominator. */
  blocked: number;
  /** Failures per reason, indexed as FAILURE_REASON_CODES. */
  reasons?: Uint32Array;
}

export interface RollingSum {
  readonly size: number;
  end: number;
  num: number;
  den: number;
  blocked: number;
}

export class WindowSeries {
  private readonly steps = new Map<number, StepCounts>();
  readonly rolls: RollingSum[];
  lastFailure: RecentFailure | undefined;
  newestStep = -Infinity;

  /** `sizes`: the rolling windows kept, in steps (the rule's window, and for a sustained rule its pending span). */
  constructor(
    readonly nodeType: string | undefined,
    sizes: readonly number[],
  ) {
    this.rolls = sizes.map((size) => ({ size, end: -Infinity, num: 0, den: 0, blocked: 0 }));
  }

  private at(step: number): StepCounts {
    let x = this.steps.get(step);
    if (!x) {
      x = { num: 0, den: 0, blocked: 0 };
      this.steps.set(step, x);
      if (step > this.newestStep) this.newestStep = step;
    }
    return x;
  }

  add(step: number, field: 'num' | 'den' | 'blocked', reason?: string): void {
    const x = this.at(step);
    x[field]++;
    if (field === 'num' && reason !== undefined) {
      const i = REASON_INDEX.get(reason);
      if (i !== undefined) (x.reasons ??= new Uint32Array(FAILURE_REASON_CODES.length))[i]++;
    }
    for (const r of this.rolls) if (step <= r.end && step > r.end - r.size) r[field]++;
  }

  /** Moves every rolling sum to end at `end` and forgets steps older than `keepFrom`. */
  advance(end: number, keepFrom: number): void {
    for (const r of this.rolls) {
      if (end <= r.end) continue;
      if (r.end === -Infinity || end - r.end >= r.size) {
        r.num = r.den = r.blocked = 0;
        for (const [s, x] of this.steps) if (s <= end && s > end - r.size) this.plus(r, x, 1);
      } else {
        for (let s = r.end + 1; s <= end; s++) {
          const enter = this.steps.get(s);
          if (enter) this.plus(r, enter, 1);
          const leave = this.steps.get(s - r.size);
          if (leave) this.plus(r, leave, -1);
        }
      }
      r.end = end;
    }
    if (keepFrom !== -Infinity) for (const s of this.steps.keys()) if (s < keepFrom) this.steps.delete(s);
  }

  private plus(r: RollingSum, x: StepCounts, sign: 1 | -1): void {
    r.num += sign * x.num;
    r.den += sign * x.den;
    r.blocked += sign * x.blocked;
  }

  /**
   * The rolling sum `roll` would have had at each step from `from` to `to` (inclusive), walked back from where it
   * stands (late events are already in it), or summed afresh when it never moved. For re-checking steps already
   * evaluated: O(to − from) per call, not O(window).
   */
  windowsBetween(from: number, to: number, roll: number): { num: Float64Array; den: Float64Array } {
    const r = this.rolls[roll];
    const n = Math.max(0, to - from + 1);
    const num = new Float64Array(n);
    const den = new Float64Array(n);
    if (n === 0) return { num, den };
    let end = r.end;
    let sNum = r.num;
    let sDen = r.den;
    if (end === -Infinity || end < to || end - to > r.size) {
      end = to;
      sNum = sDen = 0;
      for (const [st, x] of this.steps) {
        if (st <= to && st > to - r.size) {
          sNum += x.num;
          sDen += x.den;
        }
      }
    }
    for (let i = end; i >= from; i--) {
      if (i <= to) {
        num[i - from] = sNum;
        den[i - from] = sDen;
      }
      const leave = this.steps.get(i);
      if (leave) {
        sNum -= leave.num;
        sDen -= leave.den;
      }
      const enter = this.steps.get(i - r.size);
      if (enter) {
        sNum += enter.num;
        sDen += enter.den;
      }
    }
    return { num, den };
  }

  topReasons(end: number, size: number, limit = 3): { reason: string; count: number }[] {
    const totals = new Map<string, number>();
    for (const [s, x] of this.steps) {
      if (s <= end - size || s > end || !x.reasons) continue;
      x.reasons.forEach((n, i) => n > 0 && totals.set(FAILURE_REASON_CODES[i], (totals.get(FAILURE_REASON_CODES[i]) ?? 0) + n));
    }
    return [...totals]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
      .slice(0, limit);
  }

  /** True when nothing counted is inside the longest rolling window ending at `end`. */
  expired(end: number): boolean {
    return this.newestStep <= end - Math.max(...this.rolls.map((r) => r.size));
  }
}
