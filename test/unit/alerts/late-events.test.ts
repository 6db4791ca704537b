import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../../src/consumers/alerts/alert-engine.ts';
import { buildNotification, summaryOf } from '../../../src/consumers/alerts/alert-notification.ts';
import { loadRulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import type { ActionEvent } from '../../../src/events/index.ts';
import { drive, failed, fired, invoked, MIN, perMinute, refreshFailed, resolved, T0, traffic } from './engine-driver.ts';

const RULE = 'token-refresh-failures-15m';
const ORG = 'organization_id=org-x';
const engine = () => new AlertEngine(loadRulesFile(), { minuteMs: MIN });
/** Steady healthy traffic from another organization keeps event time moving. */
const background = (from: number, minutes: number): ActionEvent[] => perMinute(T0 + from * MIN, minutes, (m) => [invoked(m + 1000, 'qontak_chat_room_tag', 'org-bg')]);

describe('late events count', () => {
  it('six refresh failures spooled through a 10-minute outage page once when they arrive, saying when the breach began and how late', () => {
    const e = engine();
    const spooled = [0, 1, 2, 3, 4, 5].map((i) => refreshFailed(T0 + (5 + i) * MIN + 500, 'org-x'));
    // the broker is back at minute 20: the spool is delivered after 20 minutes of other traffic
    const ts = drive(e, [...background(0, 20), ...spooled, ...background(20, 10)]);
    const f = fired(ts, RULE, ORG);
    expect(f).toHaveLength(1);
    expect(f[0].at).toBe(T0 + 10 * MIN + 500);
    expect(f[0].late).toEqual({ breachBeganAt: T0 + 10 * MIN + 500, detectedAt: T0 + 19 * MIN + 1000, lateByMs: 9 * MIN + 500 });
    const line = summaryOf(buildNotification(f[0], 'trigger', { dashboardBaseUrl: 'http://d' }));
    expect(line).toContain(`Breach began ${new Date(T0 + 10 * MIN + 500).toISOString()}, detected 9 min 01 s late`);
    expect(e.stats.lateByLateness.le_10m + e.stats.lateByLateness.le_1h).toBe(6);
    // the emitter retries the same spool (duplicates), and time moves on: no second page, one resolve
    const more = drive(e, [...spooled, ...background(30, 60)], T0 + 120 * MIN);
    expect(fired(more, RULE)).toEqual([]);
    expect(resolved([...ts, ...more], RULE, ORG)).toHaveLength(1);
  });

  it('a late failure inside an episode already paged does not page again', () => {
    const e = engine();
    const ts = drive(e, [...[0, 1, 2, 3, 4, 5].map((i) => refreshFailed(T0 + i * MIN, 'org-x')), ...background(0, 60)]);
    expect(fired(ts, RULE, ORG)).toHaveLength(1);
    expect(resolved(ts, RULE, ORG)).toHaveLength(1);
    const late = drive(e, [refreshFailed(T0 + 3 * MIN + 1, 'org-x'), ...background(60, 5)]);
    expect(fired(late, RULE)).toEqual([]);
    expect(e.stats.lateBreachesAlreadyPaged).toBe(1);
  });

  it('late failed calls count in the ratio window they belong to (9% rises above 10% and pages)', () => {
    const e = engine();
    const onTime = perMinute(T0, 60, (m) => traffic(m, 100, 9));
    const ts1 = drive(e, onTime);
    expect(fired(ts1, 'failure-rate-1h')).toEqual([]);
    // 6 more failures per minute for minutes 40–59 arrive 10 minutes later, with the next minutes' traffic
    const late = perMinute(T0 + 40 * MIN, 20, (m) => [0, 1, 2, 3, 4, 5].map((i) => failed(m + 30_000 + i)));
    const ts2 = drive(e, [...perMinute(T0 + 60 * MIN, 10, (m) => traffic(m, 100, 9)), ...late, ...perMinute(T0 + 70 * MIN, 20, (m) => traffic(m, 100, 9))]);
    const f = fired(ts2, 'failure-rate-1h', 'node_type=qontak_crm_deal_create');
    expect(f).toHaveLength(1);
    expect(f[0].observation.value).toBeGreaterThan(0.1);
    // its window holds the late failures: 9 of every 100 calls would be 9 %
    expect(f[0].observation.numerator).toBeGreaterThan(0.1 * f[0].observation.denominator);
    expect(f[0].observation.numerator - 0.09 * (f[0].observation.denominator - 120)).toBeGreaterThan(0);
  });
});

describe('a ratio breach found through late events', () => {
  const DEAL = 'node_type=qontak_crm_deal_create';
  const healthy = (from: number, minutes: number) => perMinute(T0 + from * MIN, minutes, (m) => traffic(m, 100, 0));
  /** `perMinute` failed calls in each minute of [from, from + minutes). */
  const failures = (from: number, minutes: number, n: number) => perMinute(T0 + from * MIN, minutes, (m) => Array.from({ length: n }, (_, i) => failed(m + 30_000 + i)));

  it('pages once, marked late, at the step where it would have fired, when its events arrive after it left the current window', () => {
    const e = engine();
    const onTime = drive(e, healthy(0, 170));
    expect(fired(onTime, 'failure-rate-1h')).toEqual([]);
    // 15 minutes of failures (minutes 60–74) spooled for over an hour and a half, then delivered with the next traffic
    const ts = drive(e, [...failures(60, 15, 100), ...healthy(170, 30)], T0 + 200 * MIN);
    const f = fired(ts, 'failure-rate-1h', DEAL);
    expect(f).toHaveLength(1);
    expect(f[0].late).toBeDefined();
    expect(f[0].late!.breachBeganAt).toBe(f[0].at);
    // it would have fired 5 minutes (the pending duration) after the window first passed 10 %, inside minutes 60–75
    expect(f[0].at).toBeGreaterThan(T0 + 65 * MIN);
    expect(f[0].at).toBeLessThan(T0 + 76 * MIN);
    expect(f[0].observation.value).toBeGreaterThan(0.1);
    expect(f[0].next.pendingSince).toBe(f[0].at - 5 * MIN);
    // the current windows are healthy: it resolves after the 15-min hold, once
    expect(resolved(ts, 'failure-rate-1h', DEAL)).toHaveLength(1);
  });

  it('does not page when the late events make a breach shorter than the pending duration', () => {
    const e = engine();
    // on time: healthy traffic, with a burst of 20,000 good calls at minute 63
    const burst = perMinute(T0 + 63 * MIN, 1, (m) => traffic(m, 20_000, 0));
    drive(e, [...healthy(0, 170), ...burst].sort((a, b) => a.timestamp - b.timestamp));
    // late: 900 failed calls at minute 60 — 13 % of the window until the burst dilutes it 2.5 minutes later
    const ts = drive(e, [...failures(60, 1, 900), ...healthy(170, 30)], T0 + 200 * MIN);
    expect(fired(ts, 'failure-rate-1h')).toEqual([]);
    // the same failures over 6 minutes (60–65) keep the window above 10 % past the pending duration: a late page
    const e2 = engine();
    drive(e2, [...healthy(0, 170), ...burst].sort((a, b) => a.timestamp - b.timestamp));
    const ts2 = drive(e2, [...failures(60, 6, 3000), ...healthy(170, 30)], T0 + 200 * MIN);
    expect(fired(ts2, 'failure-rate-1h', DEAL)).toHaveLength(1);
    expect(fired(ts2, 'failure-rate-1h', DEAL)[0].late).toBeDefined();
  });

  it('does not page again for late copies of failures whose breach was already paged on time', () => {
    const e = engine();
    const spike = failures(60, 15, 100);
    const first = drive(e, [...healthy(0, 60), ...spike, ...healthy(60, 110)].sort((a, b) => a.timestamp - b.timestamp));
    expect(fired(first, 'failure-rate-1h', DEAL)).toHaveLength(1);
    const again = drive(e, [...spike, ...healthy(170, 30)], T0 + 200 * MIN);
    expect(fired(again, 'failure-rate-1h')).toEqual([]);
    expect(e.stats.duplicates).toBe(spike.length);
  });
});
