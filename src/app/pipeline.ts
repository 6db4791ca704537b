import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Config } from '../platform/config.ts';
import { setFutureAllowanceMs } from '../events/future-allowance.ts';
import type { Logger } from '../platform/logger.ts';
import { createMetrics, type Metrics } from '../platform/metrics.ts';
import { startTelemetry, type Telemetry } from '../platform/telemetry.ts';
import { openRegistryDb, type SqlDb } from '../platform/registry-db.ts';
import type { RunningServer } from '../platform/http-server.ts';
import type { Emitter } from '../producers/emitter.ts';
import type { KafkaPort } from '../platform/kafka/kafka-port.ts';
import type { ConsumerRunner } from '../consumers/consumer-runner.ts';
import { migrateRegistry } from '../executors/registry-schema.ts';
import type { Runtime } from '../runtime/agent-runtime.ts';
import type { QontakCrmSimulator } from '../simulators/qontak-crm-simulator.ts';
import type { AgentSimulator } from '../demo/agent-simulator.ts';
import type { MixpanelRecorder } from '../simulators/mixpanel-recorder.ts';
import { connectKafka, type KafkaReady } from './local-infra.ts';
import { localSecret } from './local-secrets.ts';
import { HealthMonitor } from './pipeline-health.ts';
import type { AlertsHandle } from './alerts-wiring.ts';
import { migrateAlerts } from '../consumers/alerts/alert-store-schema.ts';

/**
 * The whole pipeline in one process, on local defaults or on configured infrastructure: Kafka, ClickHouse,
 * the registry database, the emitter, the three consumer groups, the HTTP service (ingest, admin,
 * dashboard, /metrics) and — when Kafka is local or the demo is switched on — a simulated agent runtime
 * calling the real executors against a simulated CRM. One process owns the embedded ClickHouse folder.
 *
 * A process loads only what its components use (each part below is imported when it starts): a Mixpanel or
 * alerts process never loads ClickHouse, chDB, the simulators or the demo, and opens the registry database
 * only if a component of it reads or writes that database.
 */
export interface ConsumerHandle {
  name: string;
  groupId: string;
  runner: ConsumerRunner;
  stop(): Promise<void>;
}

export interface Pipeline {
  config: Config;
  components: ReadonlySet<Component>;
  kafka: KafkaReady;
  clickhouse?: ClickHouseClient;
  /** The registry database, when a component here uses it (alerts, http, demo) or it is PostgreSQL. */
  db?: SqlDb;
  emitter?: Emitter;
  consumers: ConsumerHandle[];
  http?: RunningServer;
  dashboardUrl?: string;
  demo?: { simulator: AgentSimulator; runtime: Runtime; crm: QontakCrmSimulator };
  /** The local Mixpanel-compatible recorder, when no Mixpanel credentials are configured. */
  mixpanelRecorder?: MixpanelRecorder;
  health: HealthMonitor;
  alerts?: AlertsHandle;
  /** Bearer token of the admin API (configured, or generated under the data folder for local runs). */
  adminToken: string;
  /** Extra components (alerts, Mixpanel recorder) register their own stop here. */
  onStop: (() => Promise<void>)[];
  metrics: Metrics;
  stop(deadlineMs?: number): Promise<void>;
}

export interface PipelineOptions {
  /** Where alert notifications are printed when no Slack webhook is configured. */
  print?: (line: string) => void;
  /** Which parts run in this process (default: all; the demo only on local infrastructure). */
  components?: Set<Component>;
  /** Extra routers mounted on the HTTP service (admin API). */
  routers?: { path: string; router: Router }[];
}

export const COMPONENTS = ['clickhouse', 'mixpanel', 'alerts', 'http', 'demo'] as const;
export type Component = (typeof COMPONENTS)[number];

export function demoEnabled(config: Config): boolean {
  return config.demo.mode === 'on' || (config.demo.mode === 'auto' && !config.kafka.brokers);
}

/** What runs by default: everything, the demo only on local infrastructure (or ACTIONPULSE_DEMO=on). */
export function defaultComponents(config: Config): Set<Component> {
  return new Set(COMPONENTS.filter((c) => c !== 'demo' || demoEnabled(config)));
}

export async function startPipeline(config: Config, logger: Logger, options: PipelineOptions = {}): Promise<Pipeline> {
  // Every event this process validates (emit, ingest, each consumer) takes the configured future allowance.
  setFutureAllowanceMs(config.events.futureAllowanceSeconds * 1000);
  const run = options.components ?? defaultComponents(config);
  if (run.has('http') && !run.has('clickhouse') && !config.clickhouse.url) {
    // The embedded engine's folder belongs to one process; the dashboard must live where the data is.
    throw new Error('the http component serves the dashboard: with embedded ClickHouse run it together with the clickhouse component (or set CLICKHOUSE_URL)');
  }
  const onStop: (() => Promise<void>)[] = [];
  const metrics = createMetrics({ serviceName: config.telemetry.serviceName });
  const telemetry: Telemetry = startTelemetry({ serviceName: config.telemetry.serviceName, otlpEndpoint: config.telemetry.otlpTracesEndpoint, logger });
  const kafka = await connectKafka(config, logger);
  const needsClickhouse = run.has('clickhouse') || run.has('http');
  let clickhouse: ClickHouseClient | undefined;
  if (needsClickhouse) {
    const { createClickhouse, ensureDatabase } = await import('../platform/clickhouse-client.ts');
    clickhouse = createClickhouse({ ...config.clickhouse, dataDir: config.dataDir });
    await ensureDatabase(clickhouse, config.clickhouse.database, config.clickhouse.cluster);
  }
  let db: SqlDb | undefined;
  // PostgreSQL is cheap to reach from any process (the progress view reads alerts from it); embedded PGlite
  // is opened only where a component needs it.
  if (run.has('alerts') || run.has('http') || run.has('demo') || config.database.url) {
    db = await openRegistryDb({ url: config.database.url, dataDir: config.dataDir, logger });
    // These components read or write the registry and alert tables (admin API, executors, evaluator).
    await migrateRegistry(db);
    await migrateAlerts(db);
  }
  // Everything Kafka goes through the one port connectKafka made (it created the topics through it).
  const port: KafkaPort = kafka.kafka;
  let emitter: Emitter | undefined;
  if (run.has('http') || run.has('demo')) {
    const { createEmitter } = await import('../producers/emitter.ts');
    emitter = await createEmitter(config, { kafka: port, logger: logger.child({ component: 'emitter' }), meter: metrics.meter });
  }

  const consumers: ConsumerHandle[] = [];
  if (run.has('clickhouse') && clickhouse) {
    const [{ startClickhouseConsumer }, { topologyOf }] = await Promise.all([
      import('../consumers/clickhouse/clickhouse-consumer.ts'),
      import('../consumers/clickhouse/cluster-ddl.ts'),
    ]);
    const ch = await startClickhouseConsumer({
      kafka: port,
      clickhouse,
      database: config.clickhouse.database,
      ttlDays: config.clickhouse.ttlDays,
      topology: topologyOf(config.clickhouse),
      topic: config.kafka.eventsTopic,
      deadLetterTopic: config.kafka.deadLetterTopic,
      groupId: config.clickhouse.consumerGroup,
      logger: logger.child({ component: 'clickhouse-consumer' }),
    });
    consumers.push({ name: 'clickhouse', groupId: config.clickhouse.consumerGroup, runner: ch.runner, stop: () => ch.stop() });
  }
  let mixpanelRecorder: MixpanelRecorder | undefined;
  if (run.has('mixpanel')) {
    const mixpanel = await startMixpanel(config, logger, port, onStop);
    consumers.push(mixpanel.consumer);
    mixpanelRecorder = mixpanel.recorder;
  }

  let alerts: AlertsHandle | undefined;
  const adminToken = config.http.adminToken ?? localSecret(config.dataDir, 'admin-token', 24);
  if (run.has('alerts') && db) {
    const { startAlerts } = await import('./alerts-wiring.ts');
    const demo = run.has('demo') ? { organizationRoutes: (await import('../demo/demo-scenario.ts')).demoOrganizationRoutes(config.demo.organizations) } : false;
    alerts = await startAlerts(config, { kafka: port, db, logger, adminToken, demo, print: options.print ?? (() => undefined) });
    onStop.push(() => alerts!.stop());
    alerts.evaluator.register(metrics.meter);
  }

  const health = new HealthMonitor({ kafka: port, topic: config.kafka.eventsTopic, consumers: () => consumers, emitter });
  health.register(metrics.meter);
  let http: RunningServer | undefined;
  if (run.has('http') && clickhouse && emitter && db) {
    http = await startHttp(config, logger, { clickhouse, emitter, db, metrics, health, adminToken, routers: options.routers ?? [] });
  }

  let demo: Pipeline['demo'];
  if (run.has('demo') && emitter && db) {
    const { effectiveTimeScale } = await import('./alerts-wiring.ts');
    demo = await startDemo(config, logger, db, emitter, effectiveTimeScale(config, true));
  }

  const pipeline: Pipeline = {
    config,
    components: run,
    kafka,
    clickhouse,
    db,
    emitter,
    consumers,
    http,
    dashboardUrl: http ? `${http.url}/` : undefined,
    demo,
    mixpanelRecorder,
    alerts,
    adminToken,
    health,
    onStop,
    metrics,
    async stop(deadlineMs = 10_000) {
      // Producers first (nothing new enters), then flush the emitter, then consumers commit and leave.
      if (demo) {
        await demo.simulator.stop();
        await demo.runtime.close();
        await demo.crm.close();
      }
      await http?.close();
      await emitter?.close(deadlineMs);
      for (const stop of onStop.reverse()) await stop().catch((err: Error) => logger.warn({ err: err.message }, 'stop failed'));
      for (const c of consumers) await c.stop().catch((err: Error) => logger.warn({ consumer: c.name, err: err.message }, 'consumer stop failed'));
      // After the consumers: they commit and leave their groups through it.
      await port.close();
      await clickhouse?.close();
      await db?.close();
      await metrics.shutdown();
      await telemetry.shutdown();
    },
  };
  return pipeline;
}

/**
 * Mixpanel's own consumer group. Without credentials the events go to a local recorder that speaks the
 * same /import API (auth, limits, strict mode), so the whole delivery path runs as it would in production.
 */
async function startMixpanel(config: Config, logger: Logger, kafka: KafkaPort, onStop: (() => Promise<void>)[]) {
  let settings = config.mixpanel;
  let recorder: MixpanelRecorder | undefined;
  if (!settings.serviceAccountUser && !settings.apiSecret) {
    const { MixpanelRecorder } = await import('../simulators/mixpanel-recorder.ts');
    const secret = localSecret(config.dataDir, 'mixpanel-recorder-secret');
    recorder = await new MixpanelRecorder({ projectSecret: secret, keepRecords: false }).start();
    onStop.push(() => recorder!.stop());
    settings = { ...settings, apiHost: recorder.url, apiSecret: secret, projectToken: undefined };
    logger.info({ url: recorder.url }, 'no Mixpanel credentials: sending to the local Mixpanel recorder');
  }
  const { createMixpanelConsumer } = await import('../consumers/mixpanel/mixpanel-consumer.ts');
  const runner = createMixpanelConsumer(settings, {
    kafka,
    logger: logger.child({ component: 'mixpanel-consumer' }),
    topic: config.kafka.eventsTopic,
    deadLetterTopic: config.kafka.deadLetterTopic,
  });
  await runner.start();
  const consumer: ConsumerHandle = { name: 'mixpanel', groupId: settings.consumerGroup, runner, stop: () => runner.stop() };
  return { consumer, recorder };
}

interface HttpDeps {
  clickhouse: ClickHouseClient;
  emitter: Emitter;
  db: SqlDb;
  metrics: Metrics;
  health: HealthMonitor;
  adminToken: string;
  routers: { path: string; router: Router }[];
}

/** The HTTP service: ingest, health, admin API, weekly report, dashboard, /metrics. */
async function startHttp(config: Config, logger: Logger, d: HttpDeps): Promise<RunningServer> {
  const [{ createHttpApp, listen }, { createIngestRouter }, { createDashboardRouter, ensureWebAssets }, { createReportRouter }, { createAlertsAdminRouter }, { loadRateThresholds }] = await Promise.all([
    import('../platform/http-server.ts'),
    import('../producers/ingest-router.ts'),
    import('../consumers/clickhouse/dashboard-api.ts'),
    import('./report-router.ts'),
    import('../consumers/alerts/admin-router.ts'),
    import('../consumers/alerts/rate-thresholds.ts'),
  ]);
  ensureWebAssets();
  // The rules the alerts process loads (same settings), so the dashboard and the review flag where the alerts fire.
  const thresholds = loadRateThresholds(config.alerts);
  const { clickhouse, emitter, db, adminToken } = d;
  const app = createHttpApp({
    logger: logger.child({ component: 'http' }),
    metrics: d.metrics,
    readiness: {
      kafka: () => emitter.ready(),
      clickhouse: async () => (await clickhouse.ping()).success,
    },
    routers: [
      { path: '/', router: createIngestRouter(config.http, { emitter, meter: d.metrics.meter }) },
      { path: '/', router: d.health.router() },
      { path: '/', router: createAlertsAdminRouter({ db, adminToken, logger: logger.child({ component: 'admin' }) }) },
      { path: '/', router: createReportRouter({ clickhouse, database: config.clickhouse.database, adminToken, thresholds, db }) },
      ...d.routers,
      { path: '/', router: createDashboardRouter({ clickhouse, database: config.clickhouse.database, logger: logger.child({ component: 'dashboard' }), thresholds, db }) },
    ],
  });
  return listen(app, config.http.port, config.http.host);
}

async function startDemo(config: Config, logger: Logger, db: SqlDb, emitter: Emitter, timeScale: number): Promise<NonNullable<Pipeline['demo']>> {
  // The simulated CRM accepts the fallback API key, as the real one does for QONTAK_CRM_API_KEY: the broken
  // organization's refreshes fail (rule 2 fires) while its actions still go through.
  const [{ QontakCrmSimulator }, { AgentSimulator }, { buildScenario }, { createExecutor, fileBackend }, { assembleRuntime }] = await Promise.all([
    import('../simulators/qontak-crm-simulator.ts'),
    import('../demo/agent-simulator.ts'),
    import('../demo/demo-scenario.ts'),
    import('../executors/index.ts'),
    import('../runtime/agent-runtime.ts'),
  ]);
  const apiKey = config.crm.apiKey ?? localSecret(config.dataDir, 'crm-api-key', 16);
  const crm = new QontakCrmSimulator({ apiKey, maxRecordedRequests: 1000 });
  await crm.start();
  let redis: Redis | undefined;
  if (config.redis.url) {
    const ioredis = await import('ioredis');
    redis = new ioredis.Redis(config.redis.url, { maxRetriesPerRequest: 1 });
    redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis error'));
  }
  const executor = await createExecutor({
    db,
    redis,
    jobBackend: redis ? undefined : fileBackend(join(config.dataDir, 'chat-jobs')),
    emitter,
    logger: logger.child({ component: 'demo-executor' }),
    source: 'agent-runtime',
    crm: { ...config.crm, baseUrl: crm.url, apiKey, tokenEncryptionKey: config.crm.tokenEncryptionKey ?? localSecret(config.dataDir, 'crm-token-key') },
    chat: { queue: 'actionpulse_demo', keyPrefix: 'actionpulse:demo:' },
    spanNames: config.telemetry.executorSpanNames,
  });
  const scenario = buildScenario({
    seed: config.demo.seed,
    organizations: config.demo.organizations,
    agentsPerOrg: config.demo.agentsPerOrg,
    failingAfterMs: config.demo.failingAfterMs,
  });
  // The demo embeds the runtime as a runtime team does; the emitter is the pipeline's, closed by the pipeline.
  const release = redis ? [async () => redis.disconnect()] : [];
  const runtime = assembleRuntime({ executor, emitter, logger: logger.child({ component: 'demo-runtime' }), closeEmitter: false, release });
  const simulator = new AgentSimulator({
    runtime,
    crm,
    scenario,
    callsPerSecond: config.demo.callsPerSecond,
    heartbeatEveryMs: Math.max(1000, Math.round(3_600_000 / timeScale)),
    logger: logger.child({ component: 'agent-simulator' }),
  });
  await simulator.provision();
  simulator.start();
  return { simulator, crm, runtime };
}
