import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyBlastRadius, isHealthyRest, type OrganizationCounts } from '../../../src/consumers/alerts/blast-radius.ts';
import { referenceSize } from './blast-radius-reference.ts';

const RUNS = Number(process.env.ALERT_PROPERTY_RUNS ?? 200);

const orgCounts = fc
  .array(
    fc.record({ completed: fc.integer({ min: 0, max: 200 }), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
    { minLength: 0, maxLength: 9 },
  )
  .map((xs) => xs.map((x, i): OrganizationCounts => ({ organization_id: `org-${i}`, completed: x.completed, failed: Math.round(x.completed * x.share) })));

describe('blast radius of a kill-switch breach', () => {
  it('equals the brute-force reference: organization-scoped exactly when the smallest set whose removal leaves the rest healthy has at most maxOrganizations members', () => {
    fc.assert(
      fc.property(orgCounts, fc.constantFrom(0, 0.1, 0.2, 0.5), fc.integer({ min: 1, max: 4 }), (orgs, threshold, maxOrganizations) => {
        const got = classifyBlastRadius(orgs, threshold, { maxOrganizations });
        const need = referenceSize(orgs, threshold);
        if (need > maxOrganizations) {
          expect(got.scope).toBe('global');
        } else {
          expect(got.scope).toBe('organization');
          if (got.scope !== 'organization') return;
          expect(got.organizations).toHaveLength(need);
          const rest = orgs.filter((o) => !got.organizations.includes(o.organization_id));
          expect(isHealthyRest(rest.reduce((s, o) => s + o.failed, 0), rest.reduce((s, o) => s + o.completed, 0), threshold)).toBe(true);
          // every organization it names is failing on its own
          for (const id of got.organizations) {
            const o = orgs.find((x) => x.organization_id === id)!;
            expect(o.failed / o.completed).toBeGreaterThan(threshold);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('no single organization can make the decision global: when removing any one organization leaves the rest healthy, it is organization-scoped', () => {
    fc.assert(
      fc.property(orgCounts, fc.constantFrom(0.1, 0.2), fc.integer({ min: 1, max: 4 }), (orgs, threshold, maxOrganizations) => {
        const total = (xs: readonly OrganizationCounts[]) => [xs.reduce((s, o) => s + o.failed, 0), xs.reduce((s, o) => s + o.completed, 0)] as const;
        const oneIsEnough = orgs.some((x) => isHealthyRest(...total(orgs.filter((o) => o !== x)), threshold));
        fc.pre(oneIsEnough);
        expect(classifyBlastRadius(orgs, threshold, { maxOrganizations }).scope).toBe('organization');
      }),
      { numRuns: RUNS },
    );
  });

  it('worked examples of the alerts README', () => {
    const org = (id: string, failed: number, completed: number): OrganizationCounts => ({ organization_id: id, failed, completed });
    const healthy = ['b', 'c', 'd', 'e', 'f', 'g'].map((id) => org(id, 1, 60));
    // one organization failing 100 % beside six healthy ones: the action as a whole is healthy (66 / 420 = 15.7 %), so
    // nothing is global and only that organization's own breach acts (its scope names itself)
    expect(classifyBlastRadius([org('a', 60, 60), ...healthy], 0.2, { maxOrganizations: 2 })).toEqual({ scope: 'organization', organizations: [] });
    // the same organization with more of the traffic (120 of 480 calls): the action breaches (126 / 480 = 26 %), and it alone is why
    expect(classifyBlastRadius([org('a', 120, 120), ...healthy], 0.2, { maxOrganizations: 2 })).toEqual({ scope: 'organization', organizations: ['a'] });
    // two failing with most of the traffic, five small healthy ones: removing either alone leaves the rest failing
    // (65 / 160 = 40.6 %), removing both leaves 5 / 100: both, one by one
    const small = ['c', 'd', 'e', 'f', 'g'].map((id) => org(id, 1, 20));
    expect(classifyBlastRadius([org('a', 60, 60), org('b', 60, 60), ...small], 0.2, { maxOrganizations: 2 })).toEqual({ scope: 'organization', organizations: ['a', 'b'] });
    // the same with maxOrganizations 1: global
    expect(classifyBlastRadius([org('a', 60, 60), org('b', 60, 60), ...small], 0.2, { maxOrganizations: 1 })).toEqual({ scope: 'global', failingOrganizations: 2 });
    // five of seven failing at 50 %: spread, global
    const spread = ['a', 'b', 'c', 'd', 'e'].map((id) => org(id, 30, 60));
    expect(classifyBlastRadius([...spread, org('f', 0, 60), org('g', 0, 60)], 0.2, { maxOrganizations: 2 })).toEqual({ scope: 'global', failingOrganizations: 5 });
    // a big healthy organization beside a small failing one: the small one alone, although it holds few of the failures
    expect(classifyBlastRadius([org('big', 190, 1000), org('small', 20, 20)], 0.2, { maxOrganizations: 2 })).toEqual({ scope: 'organization', organizations: ['small'] });
  });
});
