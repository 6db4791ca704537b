import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertEngine } from '../../../src/consumers/alerts/alert-engine.ts';
import { DEFAULT_RULES_PATH, loadRulesFile, parseRules, RulesFileError } from '../../../src/consumers/alerts/alert-rules.ts';
import { drive, executed, fired, MIN, perMinute, refreshFailed, resolved, T0, traffic } from './engine-driver.ts';

const defaults = loadRulesFile();
const engine = () => new AlertEngine(defaults, { minuteMs: MIN });
const DEAL = 'node_type=qontak_crm_deal_create';

describe('rule 1: failure rate > 10% over 1 h', () => {
  it('exactly at 10% never fires (strict >)', () => {
    const ts = drive(engine(), perMinute(T0, 90, (m) => traffic(m, 100, 10)), T0 + 90 * MIN);
    expect(fired(ts, 'failure-rate-1h')).toEqual([]);
    expect(ts.filter((t) => t.rule.id === 'failure-rate-1h')).toEqual([]); // not even pending
  });

  it('just below (9.9%) never fires; just above (10.1%) fires after the 5-minute pending period', () => {
    const below = drive(engine(), perMinute(T0, 90, (m) => traffic(m, 1000, 99)), T0 + 90 * MIN);
    expect(fired(below, 'failure-rate-1h')).toEqual([]);

    const above = drive(engine(), perMinute(T0, 30, (m) => traffic(m, 1000, 101)), T0 + 30 * MIN);
    const deal = fired(above, 'failure-rate-1h', DEAL);
    expect(deal).toHaveLength(1);
    const pending = above.find((t) => t.rule.id === 'failure-rate-1h' && t.next.scopeKey === DEAL && t.next.status === 'pending')!;
    expect(deal[0].at - pending.at).toBe(5 * MIN);
    expect(deal[0].observation.value).toBeCloseTo(0.101, 3);
    expect(deal[0].observation.topReasons).toEqual([{ reason: 'crm_server_error', count: deal[0].observation.numerator }]);
    // the overall scope crosses too, with its own lifecycle
    expect(fired(above, 'failure-rate-1h', 'all')).toHaveLength(1);
  });

  it('does not page below the minimum volume (1 failure out of 3 calls)', () => {
    const ts = drive(engine(), traffic(T0 + 1000, 3, 1), T0 + 120 * MIN);
    expect(ts.filter((t) => t.rule.id === 'failure-rate-1h')).toEqual([]);
  });

  it('a breach shorter than the pending period goes back to inactive without a page', () => {
    // 3 minutes of spike (900 failed calls against 6,900 in the window: 13 %), then a burst of healthy calls dilutes it.
    const events = [...perMinute(T0, 60, (m) => traffic(m, 100, 0)), ...perMinute(T0 + 60 * MIN, 3, (m) => traffic(m, 300, 300))];
    events.push(...traffic(T0 + 63 * MIN, 10_000, 0));
    const ts = drive(engine(), [...events, ...perMinute(T0 + 64 * MIN, 60, (m) => traffic(m, 100, 0))], T0 + 124 * MIN);
    expect(ts.some((t) => t.rule.id === 'failure-rate-1h' && t.next.status === 'pending')).toBe(true);
    expect(fired(ts, 'failure-rate-1h')).toEqual([]);
  });

  it('resolves once after the recovery hold, not before', () => {
    const bad = perMinute(T0, 20, (m) => traffic(m, 100, 50));
    const good = perMinute(T0 + 20 * MIN, 150, (m) => traffic(m, 100, 0));
    const ts = drive(engine(), [...bad, ...good], T0 + 170 * MIN);
    expect(fired(ts, 'failure-rate-1h', DEAL)).toHaveLength(1);
    const res = resolved(ts, 'failure-rate-1h', DEAL);
    expect(res).toHaveLength(1);
    // 1000 failures among the window's invocations drop to <= 10% when the window holds >= 10000 calls:
    // 20 bad minutes (2000 calls) + 80 good ones … the hold then adds 15 minutes.
    const recoveringSince = [...ts].reverse().find((t) => t.next.scopeKey === DEAL && t.rule.id === 'failure-rate-1h' && t.next.recoveringSince !== null && t.at < res[0].at)!;
    expect(res[0].at - recoveringSince.next.recoveringSince!).toBe(15 * MIN);
    expect(res[0].observation.value).toBeLessThanOrEqual(0.1);
  });
});

describe('rule 2: token refresh failures > 5 in 15 min for one organization', () => {
  it('5 does not fire, 6 fires once for that organization only', () => {
    const five = drive(engine(), [1, 2, 3, 4, 5].map((i) => refreshFailed(T0 + i * MIN, 'org-a')), T0 + 30 * MIN);
    expect(fired(five, 'token-refresh-failures-15m')).toEqual([]);
    const events = [1, 2, 3, 4, 5, 6].map((i) => refreshFailed(T0 + i * MIN, 'org-a'));
    events.push(...[1, 2, 3].map((i) => refreshFailed(T0 + i * MIN + 5, 'org-b')));
    const six = drive(engine(), events, T0 + 60 * MIN);
    const f = fired(six, 'token-refresh-failures-15m');
    expect(f.map((t) => t.next.scopeKey)).toEqual(['organization_id=org-a']);
    expect(f[0].observation.value).toBe(6);
    expect(resolved(six, 'token-refresh-failures-15m')).toHaveLength(1);
  });

  it('fires at the sixth failure\'s own instant once the watermark passes it, not before; late and redelivered failures do not page again', () => {
    const e = engine();
    const burst = [0, 1, 2, 3, 4, 5].map((s) => refreshFailed(T0 + 10 * MIN + s * 1000, 'org-a'));
    // The watermark (newest event − the 2-minute delay) has not reached the burst: an earlier failure could still come.
    expect(fired(drive(e, burst), 'token-refresh-failures-15m')).toEqual([]);
    // Another organization's event 2 min 05 s after the sixth failure moves the watermark past it.
    const early = drive(e, [refreshFailed(T0 + 12 * MIN + 5000, 'org-b')]);
    expect(e.closedThroughMs).toBeLessThanOrEqual(T0 + 10 * MIN + 5000);
    const f = fired(early, 'token-refresh-failures-15m');
    expect(f).toHaveLength(1);
    expect(f[0].observation.value).toBe(6);
    // The evaluation instant is the crossing event's own time (exact window, no minute rounding).
    expect(f[0].at).toBe(T0 + 10 * MIN + 5000);
    expect(f[0].late).toBeUndefined();
    // The ratio rules never fire before their step closes: a late successful call could still lower a ratio.
    const ratio = drive(engine(), traffic(T0 + 10 * MIN, 30, 30));
    expect(ratio).toEqual([]);
    // More failures, a redelivery and a late one for a minute before: still one firing, then the minutes close.
    const later = drive(e, [refreshFailed(T0 + 10 * MIN + 9000, 'org-a'), burst[0], refreshFailed(T0 + 9 * MIN, 'org-a')], T0 + 60 * MIN);
    expect(fired(later, 'token-refresh-failures-15m')).toEqual([]);
    expect(resolved(later, 'token-refresh-failures-15m').filter((t) => t.next.scopeKey === 'organization_id=org-a')).toHaveLength(1);
  });

  it('6 failures spread over more than 15 minutes do not fire', () => {
    const ts = drive(engine(), [0, 4, 8, 12, 16, 20].map((m) => refreshFailed(T0 + m * MIN, 'org-a')), T0 + 60 * MIN);
    expect(fired(ts, 'token-refresh-failures-15m')).toEqual([]);
  });
});

describe('rule 3: > 20% sustained for 24 h', () => {
  it('fires (with the kill-switch action) exactly 24 h after the breach began; an hour without failures (600 calls) restarts the clock, a minute without failures does not', () => {
    const day = 24 * 60;
    const steady = drive(engine(), perMinute(T0, day + 120, (m) => traffic(m, 10, 3)), T0 + (day + 120) * MIN);
    const f = fired(steady, 'sustained-failure-kill-switch', DEAL);
    expect(f).toHaveLength(1);
    expect(f[0].effects).toEqual(['trigger', 'action']);
    expect(f[0].at - f[0].next.pendingSince!).toBe(day * MIN);

    // Until hour 12 the rate is 30%; then one hour at 0% failures dips the 1-h window below 20%.
    const dipped = drive(
      engine(),
      perMinute(T0, day + 120, (m, i) => traffic(m, 10, i >= 720 && i < 780 ? 0 : 3)),
      T0 + (day + 120) * MIN,
    );
    expect(fired(dipped, 'sustained-failure-kill-switch')).toEqual([]);

    // One minute at 0% leaves the 1-h window at 29.5%: the clock keeps running.
    const blip = drive(
      engine(),
      perMinute(T0, day + 120, (m, i) => traffic(m, 10, i === 720 ? 0 : 3)),
      T0 + (day + 120) * MIN,
    );
    const b = fired(blip, 'sustained-failure-kill-switch', DEAL);
    expect(b).toHaveLength(1);
    expect(b[0].at - b[0].next.pendingSince!).toBe(day * MIN);
  });
});

describe('event time, lateness and duplicates', () => {
  it('counts a duplicated event once', () => {
    const e = engine();
    const events = perMinute(T0, 10, (m) => traffic(m, 10, 5));
    const outcomes = events.filter((ev) => ev.event !== 'qontak_action_invoked');
    expect(outcomes.map((ev) => e.ingest(ev)).every((r) => r === 'counted')).toBe(true);
    expect(e.ingest(outcomes[3])).toBe('duplicate');
    expect(e.stats.duplicates).toBe(1);
    // duplicates do not move the rate: 50 failures / 100 calls
    const dup = engine();
    const doubled = drive(dup, [...events, ...events.slice(0, 50)], T0 + 10 * MIN);
    const single = drive(engine(), events, T0 + 10 * MIN);
    expect(doubled.map((t) => t.observation.value)).toEqual(single.map((t) => t.observation.value));
  });

  it('labels out-of-order events within the evaluation delay counted, later ones within the allowance late, and those beyond it too late (not counted)', () => {
    const e = new AlertEngine(defaults, { minuteMs: MIN, latenessAllowanceMinutes: 360 });
    drive(e, perMinute(T0, 10, (m) => traffic(m, 1, 0)));
    // newest event is in minute 9: watermark = 9:xx − 2 min, so minute 8 is still open, minute 5 evaluated
    expect(e.ingest(executed(T0 + 8 * MIN + 30_000))).toBe('counted');
    expect(e.ingest(executed(T0 + 5 * MIN + 30_000))).toBe('late');
    expect(e.stats.late).toBe(1);
    drive(e, perMinute(T0 + 10 * MIN, 400, (m) => traffic(m, 1, 0)));
    // evaluated through about minute 407: 6 h before is minute 47
    expect(e.ingest(executed(T0 + 50 * MIN))).toBe('late');
    expect(e.ingest(executed(T0 + 40 * MIN))).toBe('too_late');
    expect(e.stats.tooLate).toBe(1);
    expect(e.stats.lateByLateness.le_6h).toBe(1);
    expect(e.stats.lateByLateness.more).toBe(1);
  });

  it('scales windows with timeScale: the same stream in 1-second "minutes" gives the same decisions', () => {
    const scaled = new AlertEngine(defaults, { minuteMs: 1000 });
    const events = perMinute(T0, 30, (m) => traffic(m, 1000, 101)).map((ev) => ({ ...ev, timestamp: T0 + (ev.timestamp - T0) / 60 }));
    const ts = drive(scaled, events, T0 + 30_000);
    const deal = fired(ts, 'failure-rate-1h', DEAL);
    expect(deal).toHaveLength(1);
    const pending = ts.find((t) => t.next.scopeKey === DEAL && t.next.status === 'pending')!;
    expect(deal[0].at - pending.at).toBe(5 * 1000);
  });
});

describe('rules file validation', () => {
  it('rejects a ratio rule without denominator, a bad threshold, and duplicate ids, naming the field', () => {
    const base = defaults.rules[0];
    expect(() => parseRules({ rules: [{ ...base, denominator: undefined }] })).toThrow(/denominator/);
    expect(() => parseRules({ rules: [{ ...base, threshold: 10 }] })).toThrow(/threshold/);
    expect(() => parseRules({ rules: [base, base] })).toThrow(RulesFileError);
    expect(() => parseRules({ rules: [{ ...defaults.rules[2], groupBy: [['organization_id']] }] })).toThrow(/kill-switch/);
  });
});

describe('loadRulesFile on hostile files', () => {
  it('reads a rules file with a byte-order mark; refuses deep nesting and invalid UTF-8 with a RulesFileError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ap-rules-'));
    try {
      const good = join(dir, 'bom.json');
      writeFileSync(good, `\ufeff${readFileSync(DEFAULT_RULES_PATH, 'utf8')}`);
      expect(loadRulesFile(good)).toEqual(loadRulesFile());
      const deep = join(dir, 'deep.json');
      writeFileSync(deep, `{"rules":${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
      expect(() => loadRulesFile(deep)).toThrow(/nested deeper than/);
      const bytes = join(dir, 'bytes.json');
      writeFileSync(bytes, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
      expect(() => loadRulesFile(bytes)).toThrow(RulesFileError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
