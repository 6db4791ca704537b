/**
 * Whether an action is switched off, as the event stream shows it: a blocked call (`isBlockedCall`: failed with
 * a blocked reason) says the registry refused the action at that event time; a call that reached the action
 * (executed, or failed for another reason) after the newest blocked call says it is on again. Read from events,
 * not from the registry, so a rebuild or a replay decides exactly as the first pass did.
 */
interface Track {
  lastBlocked: number;
  /** Earliest call that reached the action after `lastBlocked` (null: none yet). */
  outcomeAfter: number | null;
}

export class ActionGateView {
  private readonly byNodeType = new Map<string, Track>();

  blocked(nodeType: string, ts: number): void {
    const t = this.byNodeType.get(nodeType);
    if (!t) {
      this.byNodeType.set(nodeType, { lastBlocked: ts, outcomeAfter: null });
      return;
    }
    if (ts > t.lastBlocked) {
      t.lastBlocked = ts;
      if (t.outcomeAfter !== null && t.outcomeAfter <= ts) t.outcomeAfter = null;
    }
  }

  outcome(nodeType: string, ts: number): void {
    const t = this.byNodeType.get(nodeType);
    if (t && ts > t.lastBlocked && (t.outcomeAfter === null || ts < t.outcomeAfter)) t.outcomeAfter = ts;
  }

  /** Disabled at `at`: calls were blocked and none has reached the action since (up to `at`). */
  disabledAt(nodeType: string, at: number): boolean {
    const t = this.byNodeType.get(nodeType);
    return t !== undefined && (t.outcomeAfter === null || t.outcomeAfter > at);
  }

  lastBlocked(nodeType: string): number {
    return this.byNodeType.get(nodeType)?.lastBlocked ?? -Infinity;
  }

  /** When calls reached the action again after the newest blocked call, if they did by `at`. */
  reenabledAt(nodeType: string, at: number): number | null {
    const t = this.byNodeType.get(nodeType);
    return t && t.outcomeAfter !== null && t.outcomeAfter <= at ? t.outcomeAfter : null;
  }
}
