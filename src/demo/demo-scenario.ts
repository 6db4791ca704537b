import { NODE_TYPE_NAMES, type NodeType } from '../events/index.ts';
import { SeededRandom } from '../workload/seeded-random.ts';

/**
 * The demo's cast: organizations, their agents and which actions each agent's builder configured. Some
 * agents configure nothing, so adoption is below 100% as in real life. One organization's CRM company
 * token keeps failing to refresh, and one action starts failing after a while: the two incidents the
 * alert rules exist for.
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
  /** Starts failing `failingAfterMs` into the run (rules 1 and 3). */
  failingNodeType: NodeType;
  failingAfterMs: number;
  /** Share of that action's calls that fail once the incident starts. */
  failingShare: number;
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
  // Every action must be reachable, and the failing one must be used a lot.
  const failingNodeType: NodeType = 'qontak_crm_deal_update';
  for (const [i, nodeType] of NODE_TYPE_NAMES.entries()) {
    const holder = agents[i % agents.length];
    if (!holder.actions.includes(nodeType)) holder.actions.push(nodeType);
  }
  for (const agent of agents.filter((a) => a.actions.length > 0).slice(0, 6)) {
    if (!agent.actions.includes(failingNodeType)) agent.actions.push(failingNodeType);
  }
  return {
    seed: o.seed ?? 7,
    organizations,
    agents,
    brokenTokenOrg: organizations[organizations.length - 1],
    failingNodeType,
    failingAfterMs: o.failingAfterMs ?? 20_000,
    failingShare: 1,
  };
}
