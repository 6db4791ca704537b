import { NODE_TYPE_NAMES, type NodeType } from '../events/index.ts';
import { SeededRandom } from '../workload/seeded-random.ts';

/**
 * The demo's cast: organizations, their agents and which actions each agent's builder configured. Some
 * agents configure nothing, so adoption is below 100% as in real life. The incidents the alert rules exist for:
 * one organization's CRM company token keeps failing to refresh; after a while one action starts failing for
 * every organization (the kill switch disables it for everyone), and one organization's own CRM setup starts
 * refusing another action while the other organizations' calls of it go through (the kill switch disables it for
 * that organization only and pages its channel).
 */
export interface DemoAgent {
  organizationId: string;
  agentId: string;
  actions: NodeType[];
}

export interface DemoScenario {
  seed: number;
  organizations: string[];
  agents: DemoAgent[];
  /** Its company token refresh fails every time (rule 2); its calls still succeed through the API-key fallback. */
  brokenTokenOrg: string;
  /** Starts failing for every organization `failingAfterMs` into the run (rules 1 and 3: a global disable). */
  failingNodeType: NodeType;
  failingAfterMs: number;
  /** Share of that action's calls that fail once the incident starts. */
  failingShare: number;
  /**
   * Starts at the same time: the CRM answers this organization's calls of `nodeType` with `status` (its pipeline was
   * deleted in its CRM account), every call of it; the other organizations' calls are fine (an organization-scoped
   * disable).
   */
  organizationIncident: { organizationId: string; nodeType: NodeType; status: number; message: string };
  /** Share of all calls that go to each incident's action (its callers are busy with it), so both windows fill fast. */
  incidentShare: number;
}

/** The demo's organization ids: org-001, org-002, … */
export function demoOrganizationIds(count = 6): string[] {
  return Array.from({ length: count }, (_, i) => `org-${String(i + 1).padStart(3, '0')}`);
}

/** Each demo organization's own customer-success channel (`cs-org-001`, …), as a rules file's organizationRoutes. */
export function demoOrganizationRoutes(count = 6): Record<string, string[]> {
  return Object.fromEntries(demoOrganizationIds(count).map((org) => [org, [`cs-${org}`]]));
}

export function buildScenario(o: { seed?: number; organizations?: number; agentsPerOrg?: number; failingAfterMs?: number } = {}): DemoScenario {
  const rng = new SeededRandom(o.seed ?? 7);
  const organizations = demoOrganizationIds(o.organizations);
  const agents: DemoAgent[] = [];
  for (const org of organizations) {
    for (let a = 1; a <= (o.agentsPerOrg ?? 5); a++) {
      // ~40% of agents have no Qontak action configured
      const actions = rng.chance(0.4) ? [] : NODE_TYPE_NAMES.filter(() => rng.chance(0.55));
      agents.push({ organizationId: org, agentId: `${org}-agent-${a}`, actions: actions.length || rng.chance(0.4) ? actions : ['qontak_chat_room_tag'] });
    }
  }
  // Every action must be reachable; the failing one is configured in every organization (its failure is spread),
  // the organization incident's action in its organization.
  const failingNodeType: NodeType = 'qontak_crm_deal_update';
  const organizationIncident = {
    organizationId: organizations[Math.min(1, organizations.length - 1)],
    nodeType: 'qontak_crm_deal_create' as NodeType,
    status: 422,
    message: 'crm_pipeline_id not found in this company',
  };
  for (const [i, nodeType] of NODE_TYPE_NAMES.entries()) {
    const holder = agents[i % agents.length];
    if (!holder.actions.includes(nodeType)) holder.actions.push(nodeType);
  }
  const configure = (org: string, nodeType: NodeType) => {
    const own = agents.filter((a) => a.organizationId === org);
    const holder = own.find((a) => a.actions.length > 0) ?? own[0];
    if (!holder.actions.includes(nodeType)) holder.actions.push(nodeType);
  };
  for (const org of organizations) configure(org, failingNodeType);
  configure(organizationIncident.organizationId, organizationIncident.nodeType);
  return {
    seed: o.seed ?? 7,
    organizations,
    agents,
    brokenTokenOrg: organizations[organizations.length - 1],
    failingNodeType,
    failingAfterMs: o.failingAfterMs ?? 20_000,
    failingShare: 1,
    organizationIncident,
    incidentShare: 0.2,
  };
}
