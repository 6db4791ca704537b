import type { ActionEvent } from '../../src/events/index.ts';
import type { Emitter } from '../../src/producers/emitter.ts';
import { toMixpanelRecord } from '../../src/consumers/mixpanel/event-mapping.ts';
import { generateWorkload, type Workload } from '../../src/workload/workload-generator.ts';

const HOUR = 3600_000;

/**
 * The soak's load: the seeded workload generator (so every metric has an exact ground truth), sized to
 * `rate × seconds` deliveries, sent through the real emitter at a steady rate.
 */
export interface SoakWorkload {
  workload: Workload;
  /** What must arrive: distinct events per event name, distinct ids, and the ids Mixpanel must hold. */
  expected: { perEvent: Map<string, number>; ids: Set<string>; mixpanelIds: Set<string> };
}

/** Deliveries ≈ 2.1 × invocations (+ heartbeats and configurations, + 5% retry duplicates). */
export function soakWorkload(o: { seed: number; deliveries: number; organizations?: number; agentsPerOrg?: number; hours?: number }): SoakWorkload {
  // Event time ends at the last whole hour: never ahead of the clock (the contract refuses events more than the
  // future allowance ahead), and whole-hour dashboard ranges line up with the ground truth.
  const endMs = Math.floor(Date.now() / HOUR) * HOUR;
  const workload = generateWorkload({
    seed: o.seed,
    endMs,
    hours: o.hours ?? 48,
    organizations: o.organizations ?? 40,
    agentsPerOrg: o.agentsPerOrg ?? 25,
    invocations: Math.max(100, Math.round(o.deliveries / 2.2)),
  });
  const perEvent = new Map<string, number>();
  const ids = new Set<string>();
  const mixpanelIds = new Set<string>();
  for (const e of workload.events) {
    perEvent.set(e.event, (perEvent.get(e.event) ?? 0) + 1);
    ids.add(e.event_id);
    if (toMixpanelRecord(e).kind === 'record') mixpanelIds.add(e.event_id);
  }
  return { workload, expected: { perEvent, ids, mixpanelIds } };
}

export interface LoadResult {
  emitted: number;
  ms: number;
  /** The longest gap between two ticks of the pacing loop (event-loop stalls in the producer process). */
  maxTickGapMs: number;
}

/**
 * Emits `events` at `rate` per second, in small slices every few ms so the flow is smooth; a late tick
 * catches up (the target is cumulative). `emit()` never blocks: when Kafka is down the emitter spools.
 */
export async function emitAtRate(emitter: Emitter, events: readonly ActionEvent[], rate: number, onProgress?: (sent: number) => void): Promise<LoadResult> {
  const started = performance.now();
  let sent = 0;
  let last = started;
  let maxGap = 0;
  while (sent < events.length) {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    const target = Math.min(events.length, Math.floor(((now - started) / 1000) * rate));
    while (sent < target) emitter.emit(events[sent++]);
    onProgress?.(sent);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { emitted: sent, ms: performance.now() - started, maxTickGapMs: Math.round(maxGap) };
}
