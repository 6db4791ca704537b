/** One look at the emitter: acknowledged sends so far and records waiting in its disk spool. */
export interface ProgressSample {
  t: number;
  sent: number;
  spooled: number;
}

/**
 * The longest stretch without a single acknowledged send that overlaps [fromMs, fromMs + windowMs]:
 * when a fault stopped the flow (`stoppedAt`) and when the first acknowledgement came back (`resumedAt`).
 * Undefined when no stretch longer than `minGapMs` exists (the fault never stopped the flow).
 */
export function stallAround(samples: readonly ProgressSample[], fromMs: number, windowMs = 15_000, minGapMs = 300): { stoppedAt: number; resumedAt: number } | undefined {
  let best: { stoppedAt: number; resumedAt: number } | undefined;
  let runStart: number | undefined;
  for (let i = 1; i < samples.length; i++) {
    const moved = samples[i].sent !== samples[i - 1].sent;
    if (!moved) {
      runStart ??= samples[i - 1].t;
      continue;
    }
    if (runStart !== undefined) {
      const gap = { stoppedAt: runStart, resumedAt: samples[i].t };
      const overlaps = gap.resumedAt >= fromMs && gap.stoppedAt <= fromMs + windowMs;
      if (overlaps && gap.resumedAt - gap.stoppedAt >= minGapMs && (!best || gap.resumedAt - gap.stoppedAt > best.resumedAt - best.stoppedAt)) best = gap;
      runStart = undefined;
    }
  }
  return best;
}
