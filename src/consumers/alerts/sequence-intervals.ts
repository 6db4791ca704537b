/**
 * An exact set of non-negative integers (a producer's event-id sequence numbers) kept as sorted, disjoint,
 * non-adjacent intervals. A producer's ids arrive nearly in order, so they merge into one interval; ids read from
 * several partitions leave holes that close again when the other partitions catch up. Memory grows with the holes,
 * not with the ids.
 */
export class SequenceIntervals {
  /**
   * lo₀, hi₀, lo₁, hi₁, …, with lo[i+1] > hi[i] + 1. A plain array of small integers: V8 keeps them inline as
   * Smis in one backing store (8 bytes each, no object per interval), and splice moves them with one memmove.
   */
  private ends: number[] = [];
  /** The most values `ends` held since it was last copied. */
  private most = 0;

  /** Adds `seq` (an integer from 0 to 2³⁰ − 1, a Smi everywhere); true when it was not in the set yet. */
  add(seq: number): boolean {
    const e = this.ends;
    const len = e.length;
    if (len === 0) {
      // A literal of two: pushing onto [] would reserve room for 17 values, and most sets keep one interval.
      this.ends = [seq, seq];
      this.most = 2;
      return true;
    }
    // Arrival in order: at or past the start of the last interval, no search.
    if (seq >= e[len - 2]) {
      const hi = e[len - 1];
      if (seq <= hi) return false;
      if (seq === hi + 1) e[len - 1] = seq;
      else this.grew(e.push(seq, seq));
      return true;
    }
    // The last interval starting at or before seq (i = -1: none does).
    let lo = 0;
    let hi = (len >> 1) - 1;
    let i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (e[2 * mid] <= seq) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (i >= 0 && seq <= e[2 * i + 1]) return false;
    const left = i >= 0 && e[2 * i + 1] + 1 === seq;
    // interval i + 1 exists here: seq is before the last interval's start
    const right = e[2 * i + 2] === seq + 1;
    if (left && right) {
      e[2 * i + 1] = e[2 * i + 3];
      e.splice(2 * i + 2, 2);
      // Holes closing give no memory back (splice keeps the array's room): once three quarters of the most it
      // held are gone, a copy of exactly its size. Otherwise a partition's backlog would leave kilobytes per
      // producer and bucket for the rest of the lateness allowance.
      if (e.length <= this.most >> 2) {
        this.ends = e.slice();
        this.most = e.length;
      }
    } else if (left) e[2 * i + 1] = seq;
    else if (right) e[2 * i + 2] = seq;
    else {
      e.splice(2 * i + 2, 0, seq, seq);
      this.grew(e.length);
    }
    return true;
  }

  private grew(length: number): void {
    if (length > this.most) this.most = length;
  }

  has(seq: number): boolean {
    const e = this.ends;
    let lo = 0;
    let hi = (e.length >> 1) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (seq < e[2 * mid]) hi = mid - 1;
      else if (seq > e[2 * mid + 1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Number of intervals. */
  get intervals(): number {
    return this.ends.length >> 1;
  }

  /** Number of integers in the set. */
  get size(): number {
    let n = 0;
    for (let j = 0; j < this.ends.length; j += 2) n += this.ends[j + 1] - this.ends[j] + 1;
    return n;
  }

  /** The intervals as [lo, hi] pairs, lowest first (tests, diagnostics). */
  toArray(): [number, number][] {
    const out: [number, number][] = [];
    for (let j = 0; j < this.ends.length; j += 2) out.push([this.ends[j], this.ends[j + 1]]);
    return out;
  }
}
