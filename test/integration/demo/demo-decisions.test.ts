import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertRouting, DEMO_TIME_SCALE } from '../../../src/app/alerts-wiring.ts';
import { AlertEngine, type Transition } from '../../../src/consumers/alerts/alert-engine.ts';
import { AlertStore } from '../../../src/consumers/alerts/alert-store.ts';
import type { Notifier } from '../../../src/consumers/alerts/notifiers/notifier.ts';
import { SlackNotifier } from '../../../src/consumers/alerts/notifiers/slack-notifier.ts';
import { AgentSimulator } from '../../../src/demo/agent-simulator.ts';
import { buildScenario, demoOrganizationRoutes } from '../../../src/demo/demo-scenario.ts';
import { createExecutor, fileBackend, type Executor } from '../../../src/executors/index.ts';
import { readRegistry } from '../../../src/executors/registry-schema.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import type { SqlDb } from '../../../src/platform/registry-db.ts';
import { RecordingEmitter } from '../../../src/producers/emitter-port.ts';
import { executorCalls } from '../../../src/runtime/agent-runtime.ts';
import { QontakCrmSimulator } from '../../../src/simulators/qontak-crm-simulator.ts';
import { drive } from '../../unit/alerts/engine-driver.ts';
import { freshRegistryDb } from '../alerts/alerts-harness.ts';

/**
 * The demo workload (`npm start`) shows both kinds of kill-switch decision within its first minutes: its seeded
 * scenario, the real executors against the simulated CRM, on a clock the test moves (50 ms a tick, as the demo
 * ticks), at the demo's rate and time scale; the events then go through the alert engine and the store with the
 * shipped rules and the demo's routes, as `npm start` wires them. One organization's CRM refusing its deal creates
 * switches that action off for that organization only and pages its channel; deal updates failing for every
 * organization switch that action off for everyone and page global on-call.
 */
describe('the demo workload', () => {
  const config = loadConfig({});
  const scenario = buildScenario({ seed: config.demo.seed, organizations: config.demo.organizations, agentsPerOrg: config.demo.agentsPerOrg, failingAfterMs: config.demo.failingAfterMs });
  const minuteMs = 60_000 / DEMO_TIME_SCALE;
  /** Four minutes of the demo's wall time. */
  const RUN_MS = 240_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'demo-decisions-'));
  const emitter = new RecordingEmitter();
  let registry: Awaited<ReturnType<typeof freshRegistryDb>> | undefined;
  let db: SqlDb;
  let crm: QontakCrmSimulator;
  let executor: Executor;
  let start = 0;
  const transitions: Transition[] = [];

  beforeAll(async () => {
    registry = await freshRegistryDb();
    db = registry.db;
    const apiKey = 'demo-api-key-0123';
    crm = new QontakCrmSimulator({ apiKey, maxRecordedRequests: 1000 });
    await crm.start();
    start = Date.now();
    const clock = { now: start };
    executor = await createExecutor({
      db,
      jobBackend: fileBackend(join(dataDir, 'chat-jobs')),
      emitter,
      logger: silentLogger,
      source: 'agent-runtime',
      // The CRM retries of a failing call wait 1 ms instead of the wall clock's backoff: every attempt fails alike.
      crm: { ...config.crm, baseUrl: crm.url, apiKey, tokenEncryptionKey: 'a'.repeat(64), retryBaseDelayMs: 1, retryMaxDelayMs: 1 },
      chat: { queue: 'actionpulse_demo', keyPrefix: 'actionpulse:demo:' },
      clock: () => clock.now,
    });
    const simulator = new AgentSimulator({
      runtime: executorCalls(executor),
      crm,
      scenario,
      callsPerSecond: config.demo.callsPerSecond,
      heartbeatEveryMs: 3_600_000 / DEMO_TIME_SCALE,
      logger: silentLogger,
      clock: () => clock.now,
    });
    await simulator.provision();
    for (let t = 0; t < RUN_MS; t += 50) {
      simulator.tick(50);
      await simulator.settled();
      clock.now += 50;
    }
    await simulator.stop();

    // The shipped rules with the demo's routes, exactly as the pipeline wires them for the demo.
    const slack = (name: string): Notifier => new SlackNotifier({ name, webhookUrl: 'http://127.0.0.1:9/not-sent' });
    const { rules, routes } = alertRouting(config, { organizationRoutes: demoOrganizationRoutes(config.demo.organizations) }, slack);
    const events = [...emitter.events].sort((a, b) => a.timestamp - b.timestamp);
    transitions.push(...drive(new AlertEngine(rules, { minuteMs }), events, clock.now));
    const store = new AlertStore(db, {
      routes,
      dashboardBaseUrl: 'http://127.0.0.1:8080',
      killSwitch: { dryRun: config.alerts.killSwitchDryRun, maxPer24h: config.alerts.killSwitchMaxPer24h, capWindowMs: 24 * 60 * minuteMs, blastRadius: rules.blastRadius, recovery: rules.recovery, minuteMs },
    });
    for (const t of transitions) expect((await store.apply(t)).won).toBe(true);
  }, 900_000);

  afterAll(async () => {
    await executor?.close();
    await crm?.close();
    await registry?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const own = scenario.organizationIncident;

  it('one organization failing 100 % on deal creates, the others healthy: disabled for that organization only, its channel paged', async () => {
    const off = await db.query<{ node_type: string; organization_id: string }>(`SELECT node_type, organization_id FROM node_registry_organizations WHERE enabled = false`);
    expect(off).toEqual([{ node_type: own.nodeType, organization_id: own.organizationId }]);
    expect((await readRegistry(db)).find((r) => r.node_type === own.nodeType)?.enabled).toBe(true);
    const pages = await db.query<{ receiver: string; payload: { killSwitch: { message: string; scope: string } } }>(
      `SELECT receiver, payload FROM alert_outbox WHERE kind = 'kill_switch' AND payload->'killSwitch'->>'nodeType' = $1`,
      [own.nodeType],
    );
    expect(pages.map((p) => p.receiver)).toEqual([`cs-${own.organizationId}`]);
    expect(pages[0].payload.killSwitch.message).toContain(`Disabled ${own.nodeType} for organization ${own.organizationId} (`);
    expect(pages[0].payload.killSwitch.message).toContain('crm_client_error');
  });

  it('deal updates failing for most organizations: disabled for everyone, global on-call paged', async () => {
    expect((await readRegistry(db)).find((r) => r.node_type === scenario.failingNodeType)?.enabled).toBe(false);
    const pages = await db.query<{ receiver: string; payload: { killSwitch: { message: string } } }>(
      `SELECT receiver, payload FROM alert_outbox WHERE kind = 'kill_switch' AND payload->'killSwitch'->>'nodeType' = $1`,
      [scenario.failingNodeType],
    );
    expect(pages.map((p) => p.receiver)).toEqual(['bot-oncall']);
    expect(pages[0].payload.killSwitch.message).toContain(`Disabled ${scenario.failingNodeType} (`);
    const failing = new Set(emitter.events.filter((e) => e.event === 'qontak_action_failed' && e.node_type === scenario.failingNodeType).map((e) => e.organization_id));
    expect(failing.size).toBeGreaterThanOrEqual(Math.ceil(scenario.organizations.length / 2) + 1);
  });

  it('both decisions are made within the first four minutes of the run, each audited with its scope, and no other action is disabled', async () => {
    // The first kill-switch transition of each action (its own scope, or one of its organizations').
    const first = (nodeType: string) => transitions.find((t) => t.effects.includes('action') && t.next.scope.node_type === nodeType);
    for (const nodeType of [own.nodeType, scenario.failingNodeType]) expect(first(nodeType)!.at - start).toBeLessThanOrEqual(RUN_MS);
    const audit = await db.query<{ node_type: string; scope: string; organization_id: string | null; action: string; actor: string }>(
      `SELECT node_type, scope, organization_id, action, actor FROM node_registry_audit ORDER BY node_type`,
    );
    expect(audit).toEqual([
      { node_type: own.nodeType, scope: 'organization', organization_id: own.organizationId, action: 'disable', actor: 'alert:sustained-failure-kill-switch' },
      { node_type: scenario.failingNodeType, scope: 'global', organization_id: null, action: 'disable', actor: 'alert:sustained-failure-kill-switch' },
    ]);
    const log = await db.query<{ node_type: string; scope: string }>(`SELECT node_type, scope FROM alert_kill_switch_log WHERE decision = 'done' ORDER BY node_type`);
    expect(log).toEqual([
      { node_type: own.nodeType, scope: 'organization' },
      { node_type: scenario.failingNodeType, scope: 'global' },
    ]);
  });
});
