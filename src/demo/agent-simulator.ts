import type { NodeType, ParamsOf } from '../runtime/index.ts';
import type { RuntimeCalls } from '../runtime/agent-runtime.ts';
import type { Logger } from '../platform/logger.ts';
import { SeededRandom } from '../workload/seeded-random.ts';
import type { DemoAgent, DemoScenario } from './demo-scenario.ts';

/** What the simulator may ask of the simulated CRM to stage its incidents. */
export interface CrmIncidentControls {
  issueToken(org: string): { companyToken: string; refreshToken: string };
  expireTokens(org: string): void;
  setRefreshFailing(org: string, failing: boolean): void;
  setFailureShare(o: { method: string; pathPrefix: string; share: number; status: number }): void;
  setOrganizationFailure(org: string, f: { method: string; pathPrefix: string; status: number; message: string } | undefined): void;
  addLead(lead: { id: number; phone: string }): void;
  seedRecord(kind: 'deals' | 'tickets', id: string, fields?: Record<string, unknown>): void;
}

export interface SimulatorStats {
  calls: number;
  ok: number;
  failed: number;
  byReason: Map<string, number>;
  /** Configurations the builders took off an agent (each a `qontak_action_unconfigured`). */
  removed: number;
}

const TICK_MS = 50;

/**
 * A simulated agent runtime: conversations arrive at a steady rate, the agent function-calls one of its
 * configured actions through the REAL executors, builders save actions at the start and now and then take one
 * off an agent again, and every agent reports itself active through the runtime's recordAgentActive (the
 * adoption denominator; agents with no action call nothing else). The scenario's incidents start on schedule.
 */
export class AgentSimulator {
  readonly stats: SimulatorStats = { calls: 0, ok: 0, failed: 0, byReason: new Map(), removed: 0 };
  private readonly rng: SeededRandom;
  private timer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private conversationSeq = 0;
  private readonly now: () => number;
  private readonly startedAt: number;
  private carry = 0;
  private incidentStarted = false;
  private stopped = false;

  constructor(
    private readonly o: {
      /** The agent runtime's public entry point, as a runtime team embeds it (the calls an agent makes on it). */
      runtime: RuntimeCalls;
      crm: CrmIncidentControls;
      scenario: DemoScenario;
      callsPerSecond: number;
      /** How often each agent reports itself active (real ms). */
      heartbeatEveryMs: number;
      logger: Logger;
      maxInFlight?: number;
      /** The clock the incidents are scheduled on (default the wall clock; give the executors the same one). */
      clock?: () => number;
    },
  ) {
    this.rng = new SeededRandom(o.scenario.seed);
    this.now = o.clock ?? Date.now;
    this.startedAt = this.now();
  }

  /** Provisions tokens, rooms, leads and records, and records the builders' configured actions. */
  async provision(): Promise<void> {
    const { runtime, crm, scenario } = this.o;
    for (const org of scenario.organizations) {
      const token = crm.issueToken(org);
      await runtime.provisioning.putCrmToken(org, { companyToken: token.companyToken, refreshToken: token.refreshToken });
      await runtime.provisioning.upsertChannelIntegration({ id: `${org}-wa`, organizationId: org, channel: 'whatsapp' });
      for (let r = 1; r <= 20; r++) {
        await runtime.provisioning.upsertRoom({ organizationId: org, channelRoomId: `${org}-room-${r}`, roomId: `${org}-r${r}`, channelIntegrationId: `${org}-wa` });
      }
    }
    for (let id = 1; id <= 50; id++) {
      crm.addLead({ id, phone: `+62812000${String(id).padStart(4, '0')}` });
      crm.seedRecord('deals', String(id), { name: `Deal ${id}` });
      crm.seedRecord('tickets', String(id), { name: `Ticket ${id}` });
    }
    crm.setRefreshFailing(scenario.brokenTokenOrg, true);
    for (const agent of scenario.agents) {
      for (const nodeType of agent.actions) {
        runtime.recordConfigured({ node_type: nodeType, agent_id: agent.agentId, organization_id: agent.organizationId });
      }
    }
    this.heartbeat();
  }

  start(): void {
    // Each tick covers the time since the last one: on a busy machine the timer fires late, and the rate still holds.
    let last = this.now();
    this.timer = setInterval(() => {
      const now = this.now();
      this.tick(Math.min(now - last, 1000));
      last = now;
    }, TICK_MS);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.o.heartbeatEveryMs);
  }

  /**
   * One step of the workload, `ms` long: the incidents start on schedule, and the calls due in it are launched.
   * `start()` runs it every 50 ms; a test drives it on a clock of its own, waiting for `settled()` in between.
   */
  tick(ms: number): void {
    this.maybeStartIncident();
    this.maybeRemoveConfiguration();
    this.carry += (this.o.callsPerSecond * ms) / 1000;
    const n = Math.floor(this.carry);
    this.carry -= n;
    for (let i = 0; i < n; i++) this.launchOne();
  }

  /** Resolves once every call launched so far has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private maybeStartIncident(): void {
    const { scenario, crm } = this.o;
    if (!this.incidentStarted && this.now() - this.startedAt >= scenario.failingAfterMs) {
      this.incidentStarted = true;
      crm.setFailureShare({ method: 'PUT', pathPrefix: '/api/v3.1/deals', share: scenario.failingShare, status: 503 });
      this.o.logger.info({ node_type: scenario.failingNodeType }, 'demo incident: the CRM starts failing deal updates for every organization');
      const own = scenario.organizationIncident;
      crm.setOrganizationFailure(own.organizationId, { method: 'POST', pathPrefix: '/api/v3.1/deals', status: own.status, message: own.message });
      this.o.logger.info({ node_type: own.nodeType, organization_id: own.organizationId }, 'demo incident: one organization\'s CRM refuses its deal creates');
    }
    // The broken organization's tokens keep expiring; each refresh fails.
    if (this.rng.chance(0.05)) crm.expireTokens(scenario.brokenTokenOrg);
  }

  private heartbeat(): void {
    for (const agent of this.o.scenario.agents) {
      this.o.runtime.recordAgentActive({ organization_id: agent.organizationId, agent_id: agent.agentId });
    }
  }

  /**
   * About once a minute a builder takes an action off an agent that has several (never the incident's action,
   * so the incident still shows): adoption then counts only configurations still in place.
   */
  private maybeRemoveConfiguration(): void {
    if (!this.rng.chance(1 / 1200)) return;
    const { scenario } = this.o;
    const kept = (n: NodeType) => n !== scenario.failingNodeType && n !== scenario.organizationIncident.nodeType;
    const candidates = scenario.agents.filter((a) => a.actions.filter(kept).length > 1);
    if (candidates.length === 0) return;
    const agent = this.rng.pick(candidates);
    const nodeType = this.rng.pick(agent.actions.filter(kept));
    agent.actions = agent.actions.filter((n) => n !== nodeType);
    this.o.runtime.recordUnconfigured({ organization_id: agent.organizationId, agent_id: agent.agentId, node_type: nodeType, change: 'removed' });
    this.stats.removed++;
    this.o.logger.info({ organization_id: agent.organizationId, agent_id: agent.agentId, node_type: nodeType }, 'demo builder removed an action from an agent');
  }

  private launchOne(): void {
    if (this.stopped || this.inFlight.size >= (this.o.maxInFlight ?? 200)) return;
    const { agent, nodeType } = this.pickCall();
    const call = this.call(agent, nodeType).finally(() => this.inFlight.delete(call));
    this.inFlight.add(call);
  }

  /**
   * Each incident's action takes `incidentShare` of the calls (the spread one from every organization that
   * configured it, the organization one from that organization), so the kill switch's hour windows hold enough
   * calls at the demo's time scale; the rest go to any agent and action.
   */
  private pickCall(): { agent: DemoAgent; nodeType: NodeType } {
    const { scenario } = this.o;
    const agents = scenario.agents.filter((a) => a.actions.length > 0);
    const roll = this.rng.next();
    const busy = (nodeType: NodeType, org?: string) => {
      const callers = agents.filter((a) => a.actions.includes(nodeType) && (org === undefined || a.organizationId === org));
      return callers.length > 0 ? { agent: this.rng.pick(callers), nodeType } : undefined;
    };
    const incident = scenario.organizationIncident;
    const focused =
      roll < scenario.incidentShare
        ? busy(scenario.failingNodeType)
        : roll < 2 * scenario.incidentShare
          ? busy(incident.nodeType, incident.organizationId)
          : undefined;
    if (focused) return focused;
    // The broken organization is busy with CRM work, so its refresh failures show up fast.
    const agent = this.rng.chance(0.1) ? agents.find((a) => a.organizationId === scenario.brokenTokenOrg && a.actions.some(isCrm)) ?? this.rng.pick(agents) : this.rng.pick(agents);
    return { agent, nodeType: this.pickAction(agent) };
  }

  private pickAction(agent: DemoAgent): NodeType {
    const failing = this.o.scenario.failingNodeType;
    if (agent.actions.includes(failing) && this.rng.chance(0.3)) return failing;
    return this.rng.pick(agent.actions);
  }

  private async call(agent: DemoAgent, nodeType: NodeType): Promise<void> {
    const seq = ++this.conversationSeq;
    const room = this.rng.int(1, 21);
    const context = {
      organization_id: agent.organizationId,
      agent_id: agent.agentId,
      conversation_id: `conv-${agent.organizationId}-${seq}`,
      channel_room_id: `${agent.organizationId}-room-${room}`,
      contact: { name: `Customer ${seq}`, phone: `+62812000${String(this.rng.int(1, 60)).padStart(4, '0')}` },
    };
    const result = await this.o.runtime.execute(nodeType, this.params(nodeType), context);
    this.stats.calls++;
    if (result.ok) this.stats.ok++;
    else {
      this.stats.failed++;
      this.stats.byReason.set(result.reason, (this.stats.byReason.get(result.reason) ?? 0) + 1);
    }
  }

  /** Realistic parameters, with the occasional mistake an LLM makes (empty tags, missing ids). */
  private params(nodeType: NodeType): ParamsOf<NodeType> {
    const r = this.rng;
    switch (nodeType) {
      case 'qontak_crm_deal_create':
        return { crm_pipeline_id: r.int(1, 4), crm_stage_id: r.int(1, 6), name: 'Deal for {{customer_name}}', customer_contact_association: r.chance(0.3) };
      case 'qontak_crm_ticket_create':
        return { crm_pipeline_id: r.int(1, 4), crm_stage_id: r.int(1, 6), name: 'Support: {{customer_name}}' };
      case 'qontak_crm_ticket_update':
        return r.chance(0.01) ? { name: 'no id' } : { id: String(r.int(1, 51)), crm_stage_id: r.int(1, 6) };
      case 'qontak_crm_deal_update':
        return r.chance(0.01) ? { amount: 10 } : { id: String(r.int(1, 51)), stage_id: String(r.int(1, 6)), amount: r.int(1, 1000) * 1000 };
      case 'qontak_chat_room_assign': {
        const type = r.pick(['auto', 'division', 'agent'] as const);
        if (type === 'auto') return { assign_type: 'auto' };
        if (r.chance(0.02)) return { assign_type: type };
        return type === 'division' ? { assign_type: 'division', division_id: String(r.int(1, 5)) } : { assign_type: 'agent', agent_id: String(r.int(100, 120)), closing_message: 'Connecting you to our team' };
      }
      case 'qontak_chat_room_resolve':
        return r.chance(0.5) ? { closing_message: 'Thanks for chatting with us!' } : {};
      case 'qontak_chat_room_tag':
        return r.chance(0.01) ? { tags: ' , ' } : { tags: r.pick([['vip', 'lead'], 'complaint, billing', [{ name: 'promo' }, { name: 'Promo' }]]) };
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.heartbeatTimer);
    await Promise.allSettled([...this.inFlight]);
  }
}

function isCrm(nodeType: NodeType): boolean {
  return nodeType.startsWith('qontak_crm_');
}
