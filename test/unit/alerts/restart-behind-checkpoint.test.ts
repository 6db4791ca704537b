import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../../src/consumers/alerts/alert-engine.ts';
import { loadRulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import type { AlertState } from '../../../src/consumers/alerts/rule-state-machine.ts';
import { MIN, T0, drive, fired, perMinute, resolved, traffic } from './engine-driver.ts';

/**
 * A restart whose checkpoint lags the steps the previous run evaluated (the checkpoint is never saved ahead of the
 * evaluator's clock, and events may be read before the clock reaches them) re-reads those steps: they must not
 * decide again behind the states the previous run persisted.
 */
describe('alert engine: a restart behind its last decisions', () => {
  const DEAL = 'node_type=qontak_crm_deal_create';
  // 20 minutes failing 40 %, then 100 healthy minutes: one episode, paged at its start, resolved an hour later.
  const events = [...perMinute(T0, 20, (m) => traffic(m, 100, 40)), ...perMinute(T0 + 20 * MIN, 100, (m) => traffic(m, 100, 0))];
  const until = T0 + 120 * MIN;

  it('an uninterrupted run pages the episode once and resolves it once', () => {
    const ts = drive(new AlertEngine(loadRulesFile(), { minuteMs: MIN }), events, until);
    expect(fired(ts, 'failure-rate-1h', DEAL)).toHaveLength(1);
    expect(resolved(ts, 'failure-rate-1h', DEAL)).toHaveLength(1);
  });

  it('restored with the resolved states and a checkpoint inside the failing stretch, it decides nothing at or before those states and pages the episode no second time', () => {
    const first = new AlertEngine(loadRulesFile(), { minuteMs: MIN });
    const ts = drive(first, events, until);
    const resolveAt = resolved(ts, 'failure-rate-1h', DEAL)[0].at;
    // What the previous run persisted: every state as of its last transition (the store keeps nothing else).
    const persisted = new Map<string, AlertState>();
    for (const t of ts) persisted.set(`${t.next.ruleId}|${t.next.scopeKey}`, { ...t.next, version: t.prev.version + 1 });

    const checkpoint = T0 + 18 * MIN; // the clock when the run read the events ahead of it
    const again = new AlertEngine(loadRulesFile(), { minuteMs: MIN });
    again.restore(persisted.values(), checkpoint);
    const after = drive(again, events, until + 30 * MIN);
    expect(after.filter((t) => t.at <= resolveAt)).toEqual([]);
    expect(fired(after, 'failure-rate-1h')).toEqual([]);
    expect(again.state('failure-rate-1h', DEAL)).toMatchObject({ status: 'resolved', episode: 1 });
  });

  it('restored with a state evaluated only up to the checkpoint, the steps after it are decided (the guard holds back no step the previous run did not decide)', () => {
    const again = new AlertEngine(loadRulesFile(), { minuteMs: MIN });
    again.restore([], T0 + 2 * MIN);
    const ts = drive(again, events, until);
    expect(fired(ts, 'failure-rate-1h', DEAL)).toHaveLength(1);
    expect(resolved(ts, 'failure-rate-1h', DEAL)).toHaveLength(1);
  });
});
