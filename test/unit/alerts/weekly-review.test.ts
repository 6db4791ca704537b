import { describe, expect, it } from 'vitest';
import { countsFromEvents, weeklyReview } from '../../../src/consumers/alerts/weekly-review.ts';
import type { ActionEvent } from '../../../src/events/index.ts';
import { failed, invoked, refreshFailed, T0 } from './engine-driver.ts';
import { buildEvent } from '../../../src/events/index.ts';

const WEEK = 7 * 24 * 3600_000;
const executed = (ts: number): ActionEvent =>
  buildEvent({ event: 'qontak_action_executed', timestamp: ts, source: 'test', organization_id: 'o', node_type: 'qontak_crm_deal_create', agent_id: 'a', conversation_id: 'c', duration_ms: 5 });

function week(start: number, calls: number, failures: number, refreshFailures: number): ActionEvent[] {
  const out: ActionEvent[] = [];
  for (let i = 0; i < calls; i++) {
    out.push(invoked(start + i * 1000));
    out.push(i < failures ? failed(start + i * 1000 + 1, 'qontak_crm_deal_create', 'o', i % 2 ? 'empty_tags' : 'crm_server_error') : executed(start + i * 1000 + 1));
  }
  for (let i = 0; i < refreshFailures; i++) out.push(refreshFailed(start + 5000 + i, 'o'));
  return out;
}

describe('weekly review', () => {
  it('computes success rate, reason mix, volumes and raises both flags when things got worse', async () => {
    const events = [...week(T0 - WEEK, 100, 5, 1), ...week(T0, 100, 8, 3)];
    const r = await weeklyReview({ weekCounts: async (from, to) => countsFromEvents(events, from, to) }, T0);
    expect(r.successRate).toBeCloseTo(92 / 100, 5);
    expect(r.failedRate).toBeCloseTo(0.08, 5);
    expect(r.previousFailedRate).toBeCloseTo(0.05, 5);
    expect(r.flags.map((f) => f.code)).toEqual(['failed_rate_up', 'token_refresh_failures_up']);
    expect(r.current.failedByReason).toEqual({ crm_server_error: 4, empty_tags: 4 });
    expect(r.markdown).toContain('| qontak_crm_deal_create | 100 | 92 | 8 | 8.0% | 0 |');
    expect(r.markdown).toContain('| qontak_chat_room_tag | 0 | 0 | 0 | n/a | 0 |');
    expect(JSON.stringify(r.slack.blocks)).toContain('crm_server_error');
  });

  it('raises no flag for a stable or better week (a 10% relative rise is not "more than 10%")', async () => {
    const events = [...week(T0 - WEEK, 100, 10, 2), ...week(T0, 100, 11, 2)];
    const r = await weeklyReview({ weekCounts: async (from, to) => countsFromEvents(events, from, to) }, T0);
    expect(r.failedRate).toBeCloseTo(0.11, 5);
    expect(r.flags).toEqual([]);
    expect(r.markdown).toContain('- none');
  });

  it('leaves blocked calls out of every rate and shows them, and unknown outcomes, as their own counts', async () => {
    const fail = (ts: number, reason: 'registry_disabled' | 'crm_create_outcome_unknown') =>
      buildEvent({ event: 'qontak_action_failed', timestamp: ts, source: 'test', organization_id: 'o', node_type: 'qontak_crm_deal_create', agent_id: 'a', conversation_id: 'c', reason, duration_ms: 0 });
    const blockedCalls = Array.from({ length: 30 }, (_, i) => [invoked(T0 + 900_000 + i * 10), fail(T0 + 900_001 + i * 10, 'registry_disabled')]).flat();
    const unknown = [invoked(T0 + 950_000), fail(T0 + 950_001, 'crm_create_outcome_unknown')];
    const events = [...week(T0 - WEEK, 100, 5, 0), ...week(T0, 100, 5, 0), ...blockedCalls, ...unknown];
    const r = await weeklyReview({ weekCounts: async (from, to) => countsFromEvents(events, from, to) }, T0);
    expect(r.current).toMatchObject({ invoked: 101, executed: 95, failed: 6, blocked: 30, unknownOutcome: 1 });
    expect(r.current.byNodeType.qontak_crm_deal_create).toEqual({ invoked: 101, executed: 95, failed: 6, blocked: 30 });
    expect(r.current.failedByReason).not.toHaveProperty('registry_disabled');
    expect(r.successRate).toBeCloseTo(95 / 101, 10);
    expect(r.failedRate).toBeCloseTo(6 / 101, 10);
    expect(r.markdown).toContain('- Blocked calls (action disabled; in no rate): 30 (last week 0)');
    expect(r.markdown).toContain('of which 1 with an unknown outcome');
    expect(r.markdown).toContain('| qontak_crm_deal_create | 101 | 95 | 6 | 5.9% | 30 |');
    expect(JSON.stringify(r.slack.blocks)).toContain('*Blocked calls*\\n30 (prev 0)');
  });
});
