/**
 * Whether an action was switched off at an evaluation instant, as the event stream shows it: a blocked call
 * (`isBlockedCall`) says the registry refused the action then; a call that reached the action (executed, or
 * failed for another reason) says it was on. Read from events, not from the registry, so a rebuild or a replay
 * decides exactly as the first pass did, and an instant is judged only by calls before it (events read ahead of
 * the evaluated instant do not leak back).
 *
 * Kept per step of event time (the engine's 10 s resolution, the instants it evaluates at): the newest refused
 * and the newest reaching call of each step with calls. That is all the answers below need, whatever order the
 * calls arrive in, so one stream gives the same answers read one by one, in batches or shuffled. Memory: per
 * node_type three parallel arrays, one Smi and two unboxed doubles per step with calls (about 20 bytes, and the
 * engine keeps the longest rule's horizon, 3 days + 6 h: 28,000 steps), where an object in a Map per step took
 * about 120.
 */
interface NodeTypeCalls {
  /** Steps with calls, ascending. */
  steps: number[];
  /** Per step: time of its newest refused call (−Infinity: none). */
  refused: number[];
  /** Per step: time of its newest call that reached the action (−Infinity: none). */
  reached: number[];
}

export class ActionGateView {
  private readonly nodeTypes = new Map<string, NodeTypeCalls>();

  constructor(private readonly stepMs: number) {}

  /** Whether any call of `nodeType` is held (refused or reaching). */
  has(nodeType: string): boolean {
    return this.nodeTypes.has(nodeType);
  }

  blocked(nodeType: string, ts: number): void {
    const n = this.calls(nodeType);
    const i = this.at(n, ts);
    if (ts > n.refused[i]) n.refused[i] = ts;
  }

  outcome(nodeType: string, ts: number): void {
    const n = this.calls(nodeType);
    const i = this.at(n, ts);
    if (ts > n.reached[i]) n.reached[i] = ts;
  }

  private calls(nodeType: string): NodeTypeCalls {
    let n = this.nodeTypes.get(nodeType);
    if (!n) {
      n = { steps: [], refused: [], reached: [] };
      this.nodeTypes.set(nodeType, n);
    }
    return n;
  }

  /** Index of the step holding `ts`, added when it has no calls yet. */
  private at(n: NodeTypeCalls, ts: number): number {
    const step = Math.floor(ts / this.stepMs);
    const last = n.steps.length - 1;
    if (last >= 0 && n.steps[last] === step) return last; // calls arrive mostly in order
    const i = upper(n.steps, step);
    if (i > 0 && n.steps[i - 1] === step) return i - 1;
    if (i === n.steps.length) {
      n.steps.push(step);
      n.refused.push(-Infinity);
      n.reached.push(-Infinity);
    } else {
      n.steps.splice(i, 0, step);
      n.refused.splice(i, 0, -Infinity);
      n.reached.splice(i, 0, -Infinity);
    }
    return i;
  }

  /** The step whose end is `at` (evaluation instants are step ends): calls before `at` are in it or earlier. */
  private lastStep(at: number): number {
    return Math.ceil(at / this.stepMs) - 1;
  }

  /** Disabled at `at`: the newest call before `at` was refused (a reaching call at the same instant wins). */
  disabledAt(nodeType: string, at: number): boolean {
    const n = this.nodeTypes.get(nodeType);
    if (!n) return false;
    const i = upper(n.steps, this.lastStep(at)) - 1;
    if (i < 0) return false;
    return n.refused[i] > n.reached[i];
  }

  /**
   * When calls reached the action again after being refused, if the newest call before `at` reached it: the end
   * of the step that holds the first reaching call after the last refused one. Null when the newest call was
   * refused, or none was ever refused in the horizon.
   */
  reenabledAt(nodeType: string, at: number): number | null {
    const n = this.nodeTypes.get(nodeType);
    if (!n) return null;
    const last = upper(n.steps, this.lastStep(at)) - 1;
    for (let i = last; i >= 0; i--) {
      const refused = n.refused[i];
      if (refused === -Infinity) continue;
      if (i === last && refused > n.reached[i]) return null; // off now
      // The step of the last refused call: the action was on again within it, or at the next step with calls.
      const back = n.reached[i] > refused ? n.steps[i] : n.steps[i + 1];
      return back === undefined ? null : (back + 1) * this.stepMs;
    }
    return null;
  }

  /** True when the newest call before `t` was refused, or a call in [t, at) was. */
  refusedBetween(nodeType: string, t: number, at: number): boolean {
    if (this.disabledAt(nodeType, t)) return true;
    const n = this.nodeTypes.get(nodeType);
    if (!n) return false;
    for (let i = upper(n.steps, this.lastStep(t)); i < n.steps.length && n.steps[i] <= this.lastStep(at); i++) {
      if (n.refused[i] !== -Infinity) return true;
    }
    return false;
  }

  /** Forgets steps before `t`, keeping the newest one before it (the state in force at `t`). */
  forgetBefore(t: number): void {
    const keepFrom = Math.floor(t / this.stepMs);
    for (const [nodeType, n] of this.nodeTypes) {
      const i = upper(n.steps, keepFrom - 1) - 1; // the newest step before keepFrom stays
      if (i <= 0) continue;
      n.steps.splice(0, i);
      n.refused.splice(0, i);
      n.reached.splice(0, i);
      if (n.steps.length === 0) this.nodeTypes.delete(nodeType);
    }
  }
}

/** First index with a[i] > x. */
function upper(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
