import type { Transition } from './alert-engine.ts';
import type { AlertNotification } from './alert-notification.ts';
import { organizationReceiversOf, type BlastRadiusConfig } from './alert-rules.ts';
import { breakdownOf, breakdownText, pageRouteOf } from './blast-radius.ts';

/**
 * Who a rule routed by blast radius (`routeByBlastRadius`) pages when an action's scope or the overall scope triggers,
 * decided from the window's failures per organization at the trigger's instant (the transition carries them; for the
 * overall scope summed over the actions switched on): the organizations the
 * failures are concentrated in, through their routes, or the rule's own receivers when the failures are spread. The
 * episode's repeats and resolve go where the trigger went (alert-store.ts reads it back from the outbox). Other
 * rules and scopes: undefined.
 */
export function pageRouteOfTrigger(t: Transition, b: BlastRadiusConfig): { receivers: string[]; told: NonNullable<AlertNotification['blastRadius']> } | undefined {
  if (!t.rule.routeByBlastRadius || t.next.scope.organization_id !== undefined) return undefined;
  const orgs = t.organizations ?? [];
  const withCalls = orgs.filter((o) => o.completed > 0).length;
  const breakdown = breakdownOf(orgs);
  const byOrg = breakdownText(breakdown, withCalls);
  const route = pageRouteOf(orgs, t.rule.threshold, b);
  if (route.scope === 'organization') {
    const names = route.organizations.join(', ');
    const message = `Failures concentrated in organization${route.organizations.length > 1 ? 's' : ''} ${names} (the other ${withCalls - route.organizations.length} with calls are healthy together): paged ${route.organizations.length > 1 ? 'their' : 'its'} receivers, not global on-call.${byOrg}`;
    return { receivers: organizationReceiversOf(b, route.organizations), told: { scope: 'organization', organizations: route.organizations, breakdown, message } };
  }
  const message = `Failures not concentrated in at most ${b.maxOrganizations} organization${b.maxOrganizations > 1 ? 's' : ''} beside healthy ones (${route.failingOrganizations} of ${withCalls} with calls failing): global on-call paged.${byOrg}`;
  return { receivers: [...t.rule.receivers], told: { scope: 'global', organizations: [], breakdown, message } };
}
