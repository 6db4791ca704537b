/**
 * Ratio counts for one rule and one part of a scope (a scope without a node_type dimension is the sum of one
 * part per node_type, so the overall rate can leave out an action the kill switch disabled). Counts are kept per
 * step (10 s of event time by default) with traffic, sorted by step, not in a ring: while rebuilding, one
 * partition may be read hours ahead of another, and late events (within the lateness allowance) land in steps
 * already evaluated.
 *
 * Each rolling sum covers the `size` steps ending at `end` (inclusive) and is moved one step at a time, so an
 * evaluation costs O(1) per part however long the window; an event for a step inside a rolling window (a late
 * one) is added to it at once.
 *
 * Memory: rows in typed arrays, one row per step with traffic, kept for the rule's window plus the lateness
 * allowance (the engine says which to forget): 8 bytes for the step, 12 for its counts and, once the part has
 * a failure, 2 per failure reason (4 once a count passes 65,535): 48 bytes a row with today's 14 reasons, and
 * up to a quarter more while the arrays have room to grow. A 3-day SLO window keeps 28,000 steps per node_type.
 * An object per step in a Map, with a Uint32Array for the reasons, took about 600 bytes of RSS (the typed
 * array's own objects and off-heap store), a plain array of Smis about 250.
 */
import { FAILURE_REASON_CODES } from '../../events/index.ts';

/** Failure reasons are the contract's closed list: counted per step at a fixed column, not in a Map each. */
const REASON_INDEX = new Map<string, number>(FAILURE_REASON_CODES.map((r, i) => [r, i]));
const REASONS = FAILURE_REASON_CODES.length;
/** Columns of `counts`: numerator and denominator events that are not blocked calls, and blocked calls. */
const FIELD = { num: 0, den: 1, blocked: 2 } as const;
const FIELDS = 3;
const MIN_ROWS = 8;

export interface RecentFailure {
  event_id: string;
  trace_id?: string;
  timestamp: number;
}

export interface RollingSum {
  readonly size: number;
  end: number;
  num: number;
  den: number;
  blocked: number;
}

export class WindowSeries {
  /** Rows [head, tail) hold the steps with counts, ascending; the rows outside are room. */
  private stepAt = new Float64Array(MIN_ROWS);
  /**
   * Per row: num (numerator events that are not blocked calls), den (denominator events that are not blocked
   * calls; the numerator is a subset of them, the rules schema sees to it), blocked (calls the registry gate
   * refused, in neither).
   */
  private counts = new Uint32Array(MIN_ROWS * FIELDS);
  /**
   * Per row, failures per reason (indexed as FAILURE_REASON_CODES): made at the part's first failure, 16 bits
   * wide until a count in one step would pass 65,535 (at 10 s steps, one reason failing 6,500 times a second), then 32.
   */
  private reasons: Uint16Array | Uint32Array | undefined;
  private head = 0;
  private tail = 0;
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

  /** Steps with counts held. */
  get stepCount(): number {
    return this.tail - this.head;
  }

  add(step: number, field: 'num' | 'den' | 'blocked', reason?: string): void {
    const row = this.rowFor(step);
    const f = FIELD[field];
    this.counts[row * FIELDS + f]++;
    if (f === FIELD.num && reason !== undefined) {
      const i = REASON_INDEX.get(reason);
      if (i !== undefined) {
        let x = (this.reasons ??= new Uint16Array(this.stepAt.length * REASONS));
        if (x[row * REASONS + i] === 0xffff && x instanceof Uint16Array) x = this.reasons = new Uint32Array(x);
        x[row * REASONS + i]++;
      }
    }
    for (const r of this.rolls) if (step <= r.end && step > r.end - r.size) r[field]++;
  }

  /** Moves every rolling sum to end at `end` and forgets steps older than `keepFrom`. */
  advance(end: number, keepFrom: number): void {
    for (const r of this.rolls) {
      if (end <= r.end) continue;
      if (r.end === -Infinity || end - r.end >= r.size) {
        r.num = r.den = r.blocked = 0;
        for (let row = this.firstRowFrom(end - r.size + 1); row < this.tail && this.stepAt[row] <= end; row++) this.plus(r, row, 1);
      } else {
        for (let s = r.end + 1; s <= end; s++) {
          const enter = this.rowOf(s);
          if (enter >= 0) this.plus(r, enter, 1);
          const leave = this.rowOf(s - r.size);
          if (leave >= 0) this.plus(r, leave, -1);
        }
      }
      r.end = end;
    }
    if (keepFrom !== -Infinity) this.forgetBefore(keepFrom);
  }

  private plus(r: RollingSum, row: number, sign: 1 | -1): void {
    const c = this.counts;
    const at = row * FIELDS;
    r.num += sign * c[at];
    r.den += sign * c[at + 1];
    r.blocked += sign * c[at + 2];
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
    const c = this.counts;
    let end = r.end;
    let sNum = r.num;
    let sDen = r.den;
    if (end === -Infinity || end < to || end - to > r.size) {
      end = to;
      sNum = sDen = 0;
      for (let row = this.firstRowFrom(to - r.size + 1); row < this.tail && this.stepAt[row] <= to; row++) {
        sNum += c[row * FIELDS];
        sDen += c[row * FIELDS + 1];
      }
    }
    for (let i = end; i >= from; i--) {
      if (i <= to) {
        num[i - from] = sNum;
        den[i - from] = sDen;
      }
      const leave = this.rowOf(i);
      if (leave >= 0) {
        sNum -= c[leave * FIELDS];
        sDen -= c[leave * FIELDS + 1];
      }
      const enter = this.rowOf(i - r.size);
      if (enter >= 0) {
        sNum += c[enter * FIELDS];
        sDen += c[enter * FIELDS + 1];
      }
    }
    return { num, den };
  }

  topReasons(end: number, size: number, limit = 3): { reason: string; count: number }[] {
    const totals = new Map<string, number>();
    const x = this.reasons;
    if (x) {
      for (let row = this.firstRowFrom(end - size + 1); row < this.tail && this.stepAt[row] <= end; row++) {
        for (let i = 0; i < REASONS; i++) {
          const n = x[row * REASONS + i];
          if (n > 0) totals.set(FAILURE_REASON_CODES[i], (totals.get(FAILURE_REASON_CODES[i]) ?? 0) + n);
        }
      }
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

  /** First row in [head, tail) whose step is at or after `step` (tail when none). */
  private firstRowFrom(step: number): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.stepAt[mid] < step) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Row of `step`, or −1 when it has no counts. */
  private rowOf(step: number): number {
    const last = this.tail - 1;
    if (last >= this.head && this.stepAt[last] === step) return last;
    const row = this.firstRowFrom(step);
    return row < this.tail && this.stepAt[row] === step ? row : -1;
  }

  /** Row of `step`, made (zeroed) when it has none: appended in the usual case, inserted for a late event. */
  private rowFor(step: number): number {
    const last = this.tail - 1;
    if (last >= this.head && this.stepAt[last] === step) return last;
    let row = last < this.head || step > this.stepAt[last] ? this.tail : this.firstRowFrom(step);
    if (row < this.tail && this.stepAt[row] === step) return row;
    if (this.tail === this.stepAt.length) row -= this.makeRoom();
    if (row < this.tail) {
      // A step between two with counts: the later rows move one down (rare: a late event in a quiet stretch).
      this.stepAt.copyWithin(row + 1, row, this.tail);
      this.counts.copyWithin((row + 1) * FIELDS, row * FIELDS, this.tail * FIELDS);
      this.reasons?.copyWithin((row + 1) * REASONS, row * REASONS, this.tail * REASONS);
    }
    this.tail++;
    this.stepAt[row] = step;
    this.counts.fill(0, row * FIELDS, (row + 1) * FIELDS);
    this.reasons?.fill(0, row * REASONS, (row + 1) * REASONS);
    if (step > this.newestStep) this.newestStep = step;
    return row;
  }

  private forgetBefore(step: number): void {
    this.head = this.firstRowFrom(step);
    if (this.head === this.tail) this.head = this.tail = 0;
    // A part whose traffic fell gives its room back: a copy of twice what it holds once three quarters are free.
    const rows = this.stepAt.length;
    if (rows > MIN_ROWS && this.stepCount <= rows >> 2) this.resize(Math.max(MIN_ROWS, 2 * this.stepCount));
  }

  /**
   * Room for one more row at the tail: the rows move to the start, in place when an eighth of the arrays is free
   * there (the steps forgotten at the head), else into arrays a quarter larger than the rows held (a part grows
   * one row per step: copies are rare, room left unused is what stays). Returns how far the rows moved.
   */
  private makeRoom(): number {
    const shift = this.head;
    if (shift >= this.stepAt.length >> 3 && shift > 0) {
      this.stepAt.copyWithin(0, shift, this.tail);
      this.counts.copyWithin(0, shift * FIELDS, this.tail * FIELDS);
      this.reasons?.copyWithin(0, shift * REASONS, this.tail * REASONS);
      this.head = 0;
      this.tail -= shift;
    } else this.resize(this.stepCount + Math.max(MIN_ROWS, this.stepCount >> 2));
    return shift;
  }

  /** Moves the rows to the start of new arrays of `rows` rows (rows ≥ the steps held). */
  private resize(rows: number): void {
    const { head, tail } = this;
    const stepAt = new Float64Array(rows);
    stepAt.set(this.stepAt.subarray(head, tail));
    const counts = new Uint32Array(rows * FIELDS);
    counts.set(this.counts.subarray(head * FIELDS, tail * FIELDS));
    if (this.reasons) {
      const reasons = this.reasons instanceof Uint16Array ? new Uint16Array(rows * REASONS) : new Uint32Array(rows * REASONS);
      reasons.set(this.reasons.subarray(head * REASONS, tail * REASONS));
      this.reasons = reasons;
    }
    this.stepAt = stepAt;
    this.counts = counts;
    this.head = 0;
    this.tail = tail - head;
  }
}
