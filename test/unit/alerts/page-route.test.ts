import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlertEngine, type Transition } from '../../../src/consumers/alerts/alert-engine.ts';
import { loadRulesFile, parseRules, type RulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { isHealthyRest, pageRouteOf, type OrganizationCounts } from '../../../src/consumers/alerts/blast-radius.ts';
import { pageRouteOfTrigger } from '../../../src/consumers/alerts/page-route.ts';
import { buildEvent, type ActionEvent } from '../../../src/events/index.ts';
import { SeededRandom } from '../../../src/workload/seeded-random.ts';
import { referenceSize } from './blast-radius-reference.ts';
import { drive, MIN, perMinute, T0, traffic } from './engine-driver.ts';
import { arrivals, reading, run } from './reading-driver.ts';

/**
 * A failure-rate rule routed by blast radius (`routeByBlastRadius`): a node_type trigger pages the organizations its
 * failures are concentrated in, or global on-call. The decision is checked against a plain reference: failures per
 * organization counted from the sorted, deduplicated events in the window ending at the trigger, and the smallest
 * set of organizations whose removal leaves the rest healthy found by trying every subset.
 */
const RUNS = Number(process.env.ALERT_PROPERTY_RUNS ?? 25);
const ORGS = ['o1', 'o2', 'o3', 'o4', 'o5'];
const ROUTES = Object.fromEntries(ORGS.map((o) => [o, [`cs-${o}`]]));
const completed = { event: ['qontak_action_executed', 'qontak_action_failed'] };
const RULES: RulesFile = parseRules({
  evaluationDelayMinutes: 2,
  resolutionSeconds: 10,
  blastRadius: { maxOrganizations: 2, organizationReceivers: ['crm-oncall'], organizationRoutes: ROUTES },
  rules: [
    {
      id: 'rate', title: 'rate', kind: 'ratio', numerator: { event: 'qontak_action_failed' }, denominator: completed, groupBy: [['node_type'], []],
      windowMinutes: 10, threshold: 0.2, minVolume: 5, pendingMinutes: 2, recoveryHoldMinutes: 3, repeatMinutes: 15, receivers: ['bot-oncall'], routeByBlastRadius: true,
    },
  ],
});
const RULE = RULES.rules[0];
const DEAL = 'qontak_crm_deal_create';

/** The reference route: organization-scoped when 1 to maxOrganizations organizations explain the breach and some other organization has calls. */
function referenceRoute(orgs: readonly OrganizationCounts[], threshold: number, maxOrganizations: number): { scope: 'global' } | { scope: 'organization'; size: number } {
  const need = referenceSize(orgs, threshold);
  const withCalls = orgs.filter((o) => o.completed > 0).length;
  return need >= 1 && need <= maxOrganizations && withCalls > need ? { scope: 'organization', size: need } : { scope: 'global' };
}

function checkAgainstReference(orgs: readonly OrganizationCounts[], threshold: number, maxOrganizations: number, got: ReturnType<typeof pageRouteOf>): void {
  const want = referenceRoute(orgs, threshold, maxOrganizations);
  expect(got.scope).toBe(want.scope);
  if (got.scope !== 'organization' || want.scope !== 'organization') return;
  expect(got.organizations).toHaveLength(want.size);
  const rest = orgs.filter((o) => !got.organizations.includes(o.organization_id));
  expect(isHealthyRest(rest.reduce((s, o) => s + o.failed, 0), rest.reduce((s, o) => s + o.completed, 0), threshold)).toBe(true);
}

interface Segment {
  minutes: number;
  /** Per organization: calls a minute and the percentage failing. */
  orgs: { calls: number; failPercent: number }[];
}

const segment = fc.record({
  minutes: fc.integer({ min: 3, max: 15 }),
  orgs: fc.array(fc.record({ calls: fc.integer({ min: 0, max: 6 }), failPercent: fc.constantFrom(0, 0, 10, 50, 100) }), { minLength: ORGS.length, maxLength: ORGS.length }),
});

let ids = 0;
const id = () => `00000000-0000-4000-8000-${(++ids).toString(16).padStart(12, '0')}`;

function streamOf(segments: Segment[], seed: number): { events: ActionEvent[]; until: number } {
  const random = new SeededRandom(seed);
  const events: ActionEvent[] = [];
  let start = T0;
  for (const s of segments) {
    for (let i = 0; i < s.minutes; i++) {
      s.orgs.forEach((o, n) => {
        for (let c = 0; c < o.calls; c++) {
          const ts = start + i * MIN + Math.floor(random.next() * MIN);
          const base = { event_id: id(), timestamp: ts, source: 'test', organization_id: ORGS[n], node_type: DEAL, agent_id: 'a1', conversation_id: 'c1', duration_ms: 5 } as const;
          events.push(random.next() * 100 < o.failPercent ? buildEvent({ ...base, event: 'qontak_action_failed', reason: 'crm_server_error' }) : buildEvent({ ...base, event: 'qontak_action_executed' }));
        }
      });
    }
    start += s.minutes * MIN;
  }
  events.sort((a, b) => a.timestamp - b.timestamp);
  return { events, until: start + 30 * MIN };
}

/** Failed and completed calls (executed + failed) per organization in [at − window, at), from the events themselves (each event_id once). */
function referenceCounts(events: readonly ActionEvent[], at: number): OrganizationCounts[] {
  const from = at - RULE.windowMinutes * MIN;
  const by = new Map<string, OrganizationCounts>();
  const seen = new Set<string>();
  for (const e of events) {
    const outcome = e.event === 'qontak_action_executed' || e.event === 'qontak_action_failed';
    if (!outcome || seen.has(e.event_id) || e.timestamp < from || e.timestamp >= at) continue;
    seen.add(e.event_id);
    const org = (e as { organization_id: string }).organization_id;
    const c = by.get(org) ?? { organization_id: org, failed: 0, completed: 0 };
    c.completed++;
    if (e.event === 'qontak_action_failed') c.failed++;
    by.set(org, c);
  }
  return [...by.values()].sort((a, b) => (a.organization_id < b.organization_id ? -1 : 1));
}

const countsOf = (t: Transition) => (t.organizations ?? []).filter((o) => o.completed > 0).map(({ organization_id, failed, completed: c }) => ({ organization_id, failed, completed: c }));

const org = (organization_id: string, failed: number, c: number): OrganizationCounts => ({ organization_id, failed, completed: c });

describe('failure-rate pages routed by blast radius', () => {
  it('pageRouteOf equals the brute-force reference: organization-scoped when at most maxOrganizations organizations explain the breach and another organization has calls', () => {
    const counts = fc
      .array(fc.record({ completed: fc.integer({ min: 0, max: 200 }), share: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 8 })
      .map((xs) => xs.map((x, i) => org(`org-${i}`, Math.round(x.completed * x.share), x.completed)));
    fc.assert(
      fc.property(counts, fc.constantFrom(0, 0.1, 0.2, 0.5), fc.integer({ min: 1, max: 4 }), (orgs, threshold, maxOrganizations) => {
        checkAgainstReference(orgs, threshold, maxOrganizations, pageRouteOf(orgs, threshold, { maxOrganizations }));
      }),
      { numRuns: 500 },
    );
  });

  it('worked examples of the alerts README', () => {
    const healthy = ['b', 'c', 'd', 'e', 'f', 'g'].map((id) => org(id, 0, 60));
    // one organization failing 100 % beside six healthy ones: its channel
    expect(pageRouteOf([org('a', 60, 60), ...healthy], 0.1, { maxOrganizations: 2 })).toEqual({ scope: 'organization', organizations: ['a'] });
    // five of seven failing half their calls: global on-call
    const spread = ['a', 'b', 'c', 'd', 'e'].map((id) => org(id, 30, 60));
    expect(pageRouteOf([...spread, org('f', 0, 60), org('g', 0, 60)], 0.1, { maxOrganizations: 2 })).toEqual({ scope: 'global', failingOrganizations: 5 });
    // a single organization calls the action at all: nothing shows the action works elsewhere, global on-call
    expect(pageRouteOf([org('a', 60, 60)], 0.1, { maxOrganizations: 2 })).toEqual({ scope: 'global', failingOrganizations: 1 });
  });

  it('an action\'s trigger and the overall scope\'s carry the window\'s failures per organization and page the reference\'s route, for any batching, shuffle, duplicates and restart', { timeout: Math.max(60_000, RUNS * 1000) }, () => {
    let triggers = 0;
    fc.assert(
      fc.property(fc.array(segment, { minLength: 2, maxLength: 6 }), fc.integer(), reading, fc.constantFrom(0, 5, 30), (segments, seed, how, dupPercent) => {
        const { events, until } = streamOf(segments, seed);
        const batches = arrivals(events, how, dupPercent, seed, RULES.evaluationDelayMinutes * MIN);
        const restartAfter = how.kind === 'restart' ? Math.floor(how.at * batches.length) : undefined;
        const ts = run(batches, until, restartAfter, RULES, how.kind === 'restart' ? how.lag : 0);
        for (const t of ts.filter((x) => x.effects.includes('trigger'))) {
          // One action in the stream: the overall scope's organizations are that action's, routed the same way.
          const routed = pageRouteOfTrigger(t, RULES.blastRadius);
          triggers++;
          const want = referenceCounts(events, t.at);
          expect(countsOf(t)).toEqual(want);
          const route = pageRouteOf(t.organizations ?? [], RULE.threshold, RULES.blastRadius);
          checkAgainstReference(want, RULE.threshold, RULES.blastRadius.maxOrganizations, route);
          expect(routed!.receivers).toEqual(route.scope === 'organization' ? route.organizations.map((o) => `cs-${o}`) : ['bot-oncall']);
          expect(routed!.told.scope).toBe(route.scope);
        }
      }),
      { numRuns: RUNS },
    );
    expect(triggers).toBeGreaterThan(0);
  });

  it('a breach found through late events pages with the failures per organization of its own instant, not of the step the stream has reached', () => {
    const engine = new AlertEngine(RULES, { minuteMs: MIN });
    const healthy = perMinute(T0, 30, (m) => [...traffic(m, 5, 0, DEAL, 'o2'), ...traffic(m + 1000, 5, 0, DEAL, 'o3')]);
    // o1's failures of minutes 5–15 arrive in one read after minute 30 was read: within the lateness allowance,
    // behind the evaluated steps
    const late = perMinute(T0 + 5 * MIN, 10, (m) => traffic(m + 2000, 5, 5, DEAL, 'o1'));
    const all = [...healthy, ...late];
    const ts = drive(engine, healthy);
    for (const e of late) engine.ingest(e, 0);
    ts.push(...drive(engine, [], T0 + 31 * MIN));
    const triggers = ts.filter((t) => t.effects.includes('trigger') && t.next.scopeKey === `node_type=${DEAL}`);
    expect(triggers).toHaveLength(1);
    const [t] = triggers;
    expect(t.late).toBeDefined();
    expect(countsOf(t)).toEqual(referenceCounts(all, t.at));
    expect(pageRouteOfTrigger(t, RULES.blastRadius)!.receivers).toEqual(['cs-o1']);
  });

  it('the overall scope sums each organization\'s calls over every action: one organization failing on one action pages its channel, not global on-call', () => {
    const TAG = 'qontak_chat_room_tag';
    const engine = new AlertEngine(RULES, { minuteMs: MIN });
    // o1: 10 deal creates a minute, all failing, and 4 healthy room tags; o2–o5: 4 of each, all fine (overall 21.7 %)
    const minute = (m: number) => ORGS.flatMap((o, k) => [
      ...traffic(m + k * 1000, o === 'o1' ? 10 : 4, o === 'o1' ? 10 : 0, DEAL, o),
      ...traffic(m + k * 1000 + 500, 4, 0, TAG, o),
    ]);
    const events = perMinute(T0, 12, minute);
    const ts = drive(engine, events, T0 + 13 * MIN);
    const overall = ts.filter((t) => t.effects.includes('trigger') && t.next.scopeKey === 'all');
    expect(overall).toHaveLength(1);
    const [t] = overall;
    // the window's calls of both actions: o1's completed calls include its healthy room tags
    const want = referenceCounts(events, t.at);
    expect(countsOf(t)).toEqual(want);
    expect(want[0].organization_id).toBe('o1');
    expect(want[0].completed).toBe(want[0].failed * 1.4);
    expect(t.organizations![0].topReasons).toEqual([{ reason: expect.any(String), count: want[0].failed }]);
    const routed = pageRouteOfTrigger(t, RULES.blastRadius)!;
    expect(routed.receivers).toEqual(['cs-o1']);
    expect(routed.told.scope).toBe('organization');
  });

  it('the setting is refused, naming its path, on a count rule, a kill-switch rule or a rule not grouped by node_type', () => {
    const base = loadRulesFile();
    const rate = base.rules.find((r) => r.id === 'failure-rate-1h')!;
    const ks = base.rules.find((r) => r.id === 'sustained-failure-kill-switch')!;
    const refresh = base.rules.find((r) => r.id === 'token-refresh-failures-15m')!;
    const bad = [{ ...refresh, routeByBlastRadius: true }, { ...ks, routeByBlastRadius: true }, { ...rate, groupBy: [[]] }];
    for (const rule of bad) expect(() => parseRules({ ...base, rules: [rule] })).toThrow(/rules\.0\.routeByBlastRadius: only for ratio rules/);
    expect(rate.routeByBlastRadius).toBe(true);
  });
});
