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
