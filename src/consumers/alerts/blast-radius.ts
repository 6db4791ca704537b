/**
 * Where a kill-switch breach comes from, decided from the failures per organization in the rule's window at the
 * decision instant: concentrated in a few organizations (disable the action for those organizations only, page
 * their receiver) or spread across organizations (disable it for everyone, page global on-call).
 *
 * The concentrated set is the smallest set of organizations whose removal leaves the rest of the action's calls
 * healthy (failed / completed at or below the rule's threshold, or no completed calls). Removing the organizations
 * with the largest excess failures (failed − threshold × completed) first finds it: the rest is healthy exactly
 * when its summed excess is at most 0, and the largest terms go first. The breach is concentrated when that set
 * has at most `maxOrganizations` members; otherwise it is spread, and every organization in it is failing.
 *
 * So no single organization can make a global disable: if removing any one organization leaves the rest healthy,
 * the set has at most one member and the decision is organization-scoped (`maxOrganizations` is at least 1).
 */
export interface OrganizationCounts {
  organization_id: string;
  /** Failed calls (blocked ones left out) in the window. */
  failed: number;
  /** Completed calls (executed + failed, blocked ones left out) in the window. */
  completed: number;
  /** Its most frequent failure reasons in the window (at most three), when it has failures: the message shows them. */
  topReasons?: { reason: string; count: number }[];
}

export interface BlastRadiusSettings {
  /** At most this many organizations are disabled one by one; a breach that needs more is spread (global). */
  maxOrganizations: number;
}

export type BlastRadius =
  | { scope: 'global'; failingOrganizations: number }
  | { scope: 'organization'; organizations: string[] };

const excessOf = (o: OrganizationCounts, threshold: number): number => o.failed - threshold * o.completed;

/** Healthy as the rules read it: no completed calls, or failed / completed at or below the threshold. */
export function isHealthyRest(failed: number, completed: number, threshold: number): boolean {
  return completed === 0 || failed / completed <= threshold;
}

export function classifyBlastRadius(orgs: readonly OrganizationCounts[], threshold: number, s: BlastRadiusSettings): BlastRadius {
  const sorted = orgs
    .filter((o) => o.completed > 0)
    .map((o) => ({ o, excess: excessOf(o, threshold) }))
    .sort((a, b) => b.excess - a.excess || (a.o.organization_id < b.o.organization_id ? -1 : a.o.organization_id > b.o.organization_id ? 1 : 0));
  let restFailed = 0;
  let restCompleted = 0;
  for (const { o } of sorted) {
    restFailed += o.failed;
    restCompleted += o.completed;
  }
  const chosen: string[] = [];
  for (const { o } of sorted) {
    if (isHealthyRest(restFailed, restCompleted, threshold)) break;
    if (chosen.length === s.maxOrganizations) {
      return { scope: 'global', failingOrganizations: sorted.filter(({ o: x }) => x.failed / x.completed > threshold).length };
    }
    chosen.push(o.organization_id);
    restFailed -= o.failed;
    restCompleted -= o.completed;
  }
  return { scope: 'organization', organizations: chosen };
}

/**
 * Where a failure-rate page of an action goes (rules with `routeByBlastRadius`): to the organizations the breach is
 * concentrated in (classifyBlastRadius) when at least one organization outside them has completed calls in the
 * window, so the action is seen working elsewhere; otherwise (spread, or no other organization to compare with) to
 * the rule's own receivers, global on-call.
 */
export function pageRouteOf(orgs: readonly OrganizationCounts[], threshold: number, s: BlastRadiusSettings): BlastRadius {
  const radius = classifyBlastRadius(orgs, threshold, s);
  if (radius.scope === 'global') return radius;
  const others = orgs.filter((o) => o.completed > 0 && !radius.organizations.includes(o.organization_id));
  if (radius.organizations.length > 0 && others.length > 0) return radius;
  return { scope: 'global', failingOrganizations: orgs.filter((o) => o.completed > 0 && o.failed / o.completed > threshold).length };
}

export const pctOf = (v: number): string => `${(v * 100).toFixed(1)}%`;

/** The organizations with the most failures first, as messages and the audit show them (at most 10). */
export function breakdownOf(orgs: readonly OrganizationCounts[]): OrganizationCounts[] {
  return [...orgs].sort((a, b) => b.failed - a.failed || (a.organization_id < b.organization_id ? -1 : 1)).slice(0, 10);
}

/** " By organization (failed/completed): org-a 100/100 (100.0%: crm_timeout 100), …" — `total` organizations with calls. */
export function breakdownText(b: readonly OrganizationCounts[], total: number): string {
  if (b.length === 0) return '';
  const reasons = (o: OrganizationCounts) => (o.topReasons && o.topReasons.length > 0 ? `: ${o.topReasons.map((r) => `${r.reason} ${r.count}`).join(', ')}` : '');
  const parts = b.map((o) => `${o.organization_id} ${o.failed}/${o.completed} (${pctOf(o.completed > 0 ? o.failed / o.completed : 0)}${reasons(o)})`);
  return ` By organization (failed/completed): ${parts.join(', ')}${total > b.length ? `, and ${total - b.length} more` : ''}.`;
}
