import fc from 'fast-check';
import { AlertEngine, type Transition } from '../../../src/consumers/alerts/alert-engine.ts';
import { isRecoveryStep } from '../../../src/consumers/alerts/recovery.ts';
import type { RulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import type { AlertState } from '../../../src/consumers/alerts/rule-state-machine.ts';
import type { ActionEvent } from '../../../src/events/index.ts';
import { SeededRandom } from '../../../src/workload/seeded-random.ts';
import { MIN } from './engine-driver.ts';

/**
 * How an engine reads a stream in the property tests: in order one by one, in batches, shuffled within the evaluation
 * delay, with duplicates, or with a restart of the engine anywhere (a new leader restoring the persisted states).
 */
/** The workload's mulberry32 as a function: the stream's details from one seed, so fast-check shrinks the segments and the seed. */
export function rng(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

export type Reading = { kind: 'sorted' } | { kind: 'batches'; seed: number } | { kind: 'shuffled'; seed: number } | { kind: 'restart'; seed: number; at: number; lag: number };

/** The order events arrive in and how they are cut into reads; duplicates arrive again later. */
export function arrivals(events: ActionEvent[], reading: Reading, dupPercent: number, seed: number, delayMs: number): ActionEvent[][] {
  const r = rng(seed ^ 0x9e3779b9);
  let order = events.map((e) => ({ e, key: e.timestamp }));
  if (reading.kind === 'shuffled' || reading.kind === 'restart') {
    const jitter = rng(reading.seed);
    order = events.map((e) => ({ e, key: e.timestamp + Math.floor(jitter() * 0.9 * delayMs) }));
  }
  // A duplicate arrives after its original, anywhere up to 30 minutes of event time later.
  for (const e of events) if (r() * 100 < dupPercent) order.push({ e, key: e.timestamp + delayMs + Math.floor(r() * 30 * MIN) });
  order.sort((a, b) => a.key - b.key);
  const flat = order.map((o) => o.e);
  if (reading.kind === 'sorted') return flat.map((e) => [e]);
  const cut = rng(reading.seed ^ 0x51ed27);
  const batches: ActionEvent[][] = [];
  for (let i = 0; i < flat.length; ) {
    const n = 1 + Math.floor(cut() ** 3 * 400);
    batches.push(flat.slice(i, i + n));
    i += n;
  }
  return batches;
}

/** Reads as the evaluator does: each read is ingested, then early firings, late breaches, the steps closed. */
/**
 * `checkpointLag` (0–1) picks the checkpoint a restart finds among those the run had reached: 0 the latest, towards
 * 1 an earlier one. The evaluator never saves one ahead of its clock, so a restart can find a checkpoint behind the
 * steps it had evaluated (events read before the clock reached them).
 */
export function run(batches: ActionEvent[][], until: number, restartAfter: number | undefined, rules: RulesFile, checkpointLag = 0): Transition[] {
  const out: Transition[] = [];
  const persisted = new Map<string, AlertState>();
  let checkpoint: number | null = null;
  const reached: number[] = [];
  let engine = new AlertEngine(rules, { minuteMs: MIN, latenessAllowanceMinutes: 360 });
  const accept = (t: Transition) => {
    const state = { ...t.next, version: t.prev.version + 1 };
    persisted.set(`${state.ruleId}|${state.scopeKey}`, state);
    engine.commit(state);
    out.push(t);
  };
  const evaluate = () => {
    for (const t of engine.decide()) {
      if (isRecoveryStep(t)) engine.commitRecovery({ ...t.next, version: t.prev.version + 1 });
      else accept(t);
    }
    checkpoint = engine.closedThroughMs === -Infinity ? checkpoint : engine.closedThroughMs;
    if (checkpoint !== null && checkpoint !== reached[reached.length - 1]) reached.push(checkpoint);
  };
  batches.forEach((batch, i) => {
    if (i === restartAfter) {
      // A new leader: the persisted states and checkpoint, then everything read so far replayed for its counts.
      engine = new AlertEngine(rules, { minuteMs: MIN, latenessAllowanceMinutes: 360 });
      const found = reached.length === 0 ? null : reached[reached.length - 1 - Math.floor(checkpointLag * reached.length * 0.999)];
      engine.restore(persisted.values(), found);
      for (const e of batches.slice(0, i).flat()) engine.ingest(e, 0, false);
      evaluate();
    }
    for (const e of batch) engine.ingest(e, 0);
    evaluate();
  });
  engine.watermark.setCaughtUp(0, true);
  engine.watermark.advanceTo(until + rules.evaluationDelayMinutes * MIN);
  evaluate();
  return out;
}

export const reading: fc.Arbitrary<Reading> = fc.oneof(
  fc.constant<Reading>({ kind: 'sorted' }),
  fc.record({ kind: fc.constant('batches' as const), seed: fc.integer() }),
  fc.record({ kind: fc.constant('shuffled' as const), seed: fc.integer() }),
  fc.record({ kind: fc.constant('restart' as const), seed: fc.integer(), at: fc.double({ min: 0, max: 1, noNaN: true }), lag: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })) }),
);
