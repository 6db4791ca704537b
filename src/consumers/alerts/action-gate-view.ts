/**
 * Whether an action was switched off at an event time, as the event stream shows it: a blocked call
 * (`isBlockedCall`) says the registry refused the action then; a call that reached the action (executed, or
 * failed for another reason) says it was on. Read from events, not from the registry, so a rebuild or a replay
 * decides exactly as the first pass did, and an instant is judged only by calls at or before it (events read
 * ahead of the evaluated instant do not leak back).
 *
 * Kept as runs: the event time at which the stream switched between "refused" and "reached", per node_type.
 * Memory: one entry per switch within the lateness horizon (a few per disable/re-enable).
 */
interface Run {
  blocked: boolean;
  start: number;
}

export class ActionGateView {
  private readonly runs = new Map<string, Run[]>();

  blocked(nodeType: string, ts: number): void {
    this.record(nodeType, ts, true);
  }

  outcome(nodeType: string, ts: number): void {
    // Only matters once something was refused: before that the action is simply on.
    if (this.runs.has(nodeType)) this.record(nodeType, ts, false);
  }

  private record(nodeType: string, ts: number, blocked: boolean): void {
    let runs = this.runs.get(nodeType);
    if (!runs) {
      runs = [];
      this.runs.set(nodeType, runs);
    }
    const i = this.indexAt(runs, ts);
    if (i >= 0 && runs[i].blocked === blocked) return;
    if (i === runs.length - 1) {
      runs.push({ blocked, start: ts });
      return;
    }
    // Out of order, inside another run: a switch at ts and back right after it.
    if (i >= 0 && runs[i].start === ts) runs[i] = { blocked, start: ts };
    else runs.splice(i + 1, 0, { blocked, start: ts }, { blocked: !blocked, start: ts + 1 });
  }

  /** Index of the last run starting at or before ts (-1: none). */
  private indexAt(runs: Run[], ts: number): number {
    let lo = 0;
    let hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (runs[mid].start <= ts) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** Disabled at `at`: the newest call at or before `at` was refused. */
  disabledAt(nodeType: string, at: number): boolean {
    const runs = this.runs.get(nodeType);
    if (!runs) return false;
    const i = this.indexAt(runs, at);
    return i >= 0 && runs[i].blocked;
  }

  /** When calls reached the action again after being refused, if the newest call at or before `at` did; else null. */
  reenabledAt(nodeType: string, at: number): number | null {
    const runs = this.runs.get(nodeType);
    if (!runs) return null;
    const i = this.indexAt(runs, at);
    return i >= 1 && !runs[i].blocked && runs[i - 1].blocked ? runs[i].start : null;
  }

  /** True when some call after `t` (up to `at`) was refused. */
  refusedBetween(nodeType: string, t: number, at: number): boolean {
    const runs = this.runs.get(nodeType);
    if (!runs) return false;
    const i = this.indexAt(runs, t);
    if (i >= 0 && runs[i].blocked) return true;
    return runs.some((r) => r.blocked && r.start > t && r.start <= at);
  }

  /** Forgets switches before `t`, keeping the run in force at `t`. */
  forgetBefore(t: number): void {
    for (const runs of this.runs.values()) {
      const i = this.indexAt(runs, t);
      if (i > 0) runs.splice(0, i);
    }
  }
}
