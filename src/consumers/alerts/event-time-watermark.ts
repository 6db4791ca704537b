/**
 * Event-time progress across partitions. Events are keyed by organization, so partitions progress
 * independently — worst while rebuilding, when one partition may be read to "now" before another
 * starts. A partition that is still catching up holds the watermark back; partitions that are caught
 * up do not (they may simply be quiet). The watermark never moves backwards.
 *
 * Evaluation delay (default 2 event-time minutes, `evaluationDelayMinutes` in the rules file): a step is
 * evaluated once the watermark passes its end, where watermark = newest usable event time − delay. Events for
 * an instant already evaluated still count within the lateness allowance (see AlertEngine).
 *
 * Bounded ahead: the evaluator passes its clock + the future allowance (`limitTo`), and event time never counts
 * as reached beyond that, so one event dated a day ahead cannot close a day of empty steps (nor make the real
 * events that follow late). The evaluator also leaves such events out; this holds even if one got through.
 */
interface PartitionProgress {
  maxTs: number;
  caughtUp: boolean;
}

export class EventTimeWatermark {
  private readonly partitions = new Map<number, PartitionProgress>();
  private value = -Infinity;
  private ceiling: () => number = () => Infinity;

  constructor(private readonly latenessMs: number) {}

  /** The newest event time that may count as reached, read at each update (unbounded until set). */
  limitTo(ceiling: () => number): void {
    this.ceiling = ceiling;
  }

  observe(partition: number, ts: number): void {
    const p = this.partitions.get(partition);
    if (!p) this.partitions.set(partition, { maxTs: ts, caughtUp: false });
    else if (ts > p.maxTs) p.maxTs = ts;
  }

  setCaughtUp(partition: number, caughtUp: boolean): void {
    const p = this.partitions.get(partition);
    if (p) p.caughtUp = caughtUp;
    else if (!caughtUp) this.partitions.set(partition, { maxTs: -Infinity, caughtUp });
  }

  /** Recomputes from the partitions; returns the (monotonic) watermark. */
  update(): number {
    this.value = this.peek();
    return this.value;
  }

  /** What `update` would return now, without moving the watermark (the evaluation steps still move it). */
  peek(): number {
    let lagging = Infinity;
    let newest = -Infinity;
    for (const p of this.partitions.values()) {
      if (!p.caughtUp) lagging = Math.min(lagging, p.maxTs);
      newest = Math.max(newest, p.maxTs);
    }
    const usable = Math.min(lagging === Infinity ? newest : lagging, this.ceiling());
    return usable === -Infinity ? this.value : Math.max(this.value, usable - this.latenessMs);
  }

  /** Wall-clock fallback for quiet periods: no partition has anything left to deliver. */
  advanceTo(ts: number): number {
    this.value = Math.max(this.value, Math.min(ts, this.ceiling()) - this.latenessMs);
    return this.value;
  }

  allCaughtUp(): boolean {
    for (const p of this.partitions.values()) if (!p.caughtUp) return false;
    return true;
  }

  get current(): number {
    return this.value;
  }
}
