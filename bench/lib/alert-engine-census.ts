/**
 * What the alert engine holds, counted from its private fields, and the memory each kind of entry takes: the
 * ratio steps' typed arrays by their byte lengths, the other entries measured on standalone instances. Together
 * they say which structure the memory is in. Diagnostics for the memory bench only; a field that moved makes
 * its figure zero or undefined instead of failing the bench.
 */
import { ActionGateView } from '../../src/consumers/alerts/action-gate-view.ts';
import type { AlertEngine } from '../../src/consumers/alerts/alert-engine.ts';
import { CountWindow } from '../../src/consumers/alerts/count-window.ts';
import type { EventDeduper, EventDeduperStats } from '../../src/consumers/alerts/event-deduper.ts';
import type { WindowSeries } from '../../src/consumers/alerts/window-series.ts';

interface SeriesColumns {
  stepAt?: Float64Array;
  counts?: Uint32Array;
  reasons?: Uint32Array;
}
interface RuntimeLike {
  kind: 'ratio' | 'count';
  rule: { id: string };
  scopes: Map<string, unknown>;
  parts?: Map<string, WindowSeries>;
}
interface EngineLike {
  runtimes?: RuntimeLike[];
  gate?: { nodeTypes?: Map<string, { steps: number[] }> };
  seen?: EventDeduper;
  states?: Map<string, unknown>;
}

export interface EngineCensus {
  /** Per ratio rule: parts (one per node_type), steps with counts over all of them, bytes of their arrays. */
  ratio: { rule: string; parts: number; steps: number; bytes: number }[];
  ratioSteps: number;
  ratioBytes: number;
  gateSteps: number;
  countScopes: number;
  countTimes: number;
  states: number;
  dedupe?: EventDeduperStats;
}

export function census(engine: AlertEngine): EngineCensus {
  const e = engine as unknown as EngineLike;
  const out: EngineCensus = { ratio: [], ratioSteps: 0, ratioBytes: 0, gateSteps: 0, countScopes: 0, countTimes: 0, states: e.states?.size ?? 0 };
  for (const rt of e.runtimes ?? []) {
    if (rt.kind === 'count') {
      out.countScopes += rt.scopes.size;
      for (const w of rt.scopes.values()) out.countTimes += (w as CountWindow).size;
      continue;
    }
    let steps = 0;
    let bytes = 0;
    for (const part of rt.parts?.values() ?? []) {
      steps += part.stepCount ?? 0;
      const c = part as unknown as SeriesColumns;
      bytes += (c.stepAt?.byteLength ?? 0) + (c.counts?.byteLength ?? 0) + (c.reasons?.byteLength ?? 0);
    }
    out.ratio.push({ rule: rt.rule.id, parts: rt.parts?.size ?? 0, steps, bytes });
    out.ratioSteps += steps;
    out.ratioBytes += bytes;
  }
  for (const n of e.gate?.nodeTypes?.values() ?? []) out.gateSteps += n.steps.length;
  out.dedupe = e.seen?.stats();
  return out;
}

export interface EntryBytes {
  gateStep: number;
  countTime: number;
}

/** V8 heap + array buffers per entry, after full collections, over `n` entries of each kind. */
export function entryBytes(gc: () => void, n = 100_000): EntryBytes {
  const used = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const per = (build: () => unknown): number => {
    const before = used();
    const kept = build();
    const bytes = (used() - before) / n;
    if (kept === undefined) throw new Error('unreachable');
    return bytes;
  };
  const base = Math.floor(Date.UTC(2026, 0, 1) / 10_000);
  return {
    gateStep: per(() => {
      const g = new ActionGateView(10_000);
      for (let s = base; s < base + n; s++) g.outcome('qontak_crm_deal_create', s * 10_000 + 1234);
      return g;
    }),
    countTime: per(() => {
      const w = new CountWindow({ organization_id: 'org-1' });
      for (let s = 0; s < n; s++) w.insert(base * 10_000 + s * 997);
      return w;
    }),
  };
}
