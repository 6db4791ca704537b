import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseBoundedJson } from '../events/bounded-json.ts';
import { DEFAULT_FUTURE_ALLOWANCE_MS, MAX_FUTURE_ALLOWANCE_MS } from '../events/future-allowance.ts';
import { DEFAULT_DLQ_TOPIC, DEFAULT_EVENTS_TOPIC } from '../events/wire.ts';
import { EXAMPLES } from './config-examples.ts';

/**
 * Every setting of Actionpulse, declared once. Sources, later wins: defaults → JSON config file
 * (ACTIONPULSE_CONFIG) → environment variables (the ENV_SETTINGS map below). Validated once at
 * start-up; an invalid value stops the process naming the setting and what was expected.
 */
const csv = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  z.array(z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:,/[\]]+):\d{1,5}$/, 'host:port')).min(1, 'at least one host:port'),
);
const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  return v;
}, z.boolean());
// Numeric strings (env vars) become numbers; anything else stays as is and fails as "expected number",
// so `true` or `null` in the config file is an error rather than a silent 1 or 0 (z.coerce would).
const toNumber = (v: unknown) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);
const num = (min: number, max: number) => z.preprocess(toNumber, z.number().min(min).max(max));
const int = (min: number, max: number) => z.preprocess(toNumber, z.number().int().min(min).max(max));
// Every URL setting is an HTTP API (ClickHouse, CRM, Mixpanel, Slack, PagerDuty, webhooks).
const url = z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' });
// Kafka's own rule for topic names.
const topic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name: letters, digits, . _ - (max 249)');
const pairs = z
  .string()
  .regex(/^\s*[^=,\s]+=[^,\s]+\s*(,\s*[^=,\s]+=[^,\s]+\s*)*$/, 'comma-separated name=value pairs');

// `name=url,name=url` from the environment, or an object in the config file: one Slack webhook per receiver name.
const receiverWebhooks = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const pairs = v.split(',').filter((p) => p.trim() !== '').map((p) => (p.includes('=') ? p.split(/=(.*)/s, 2) : [p, '']));
    return Object.fromEntries(pairs.map(([name, value]) => [name.trim(), value.trim()]));
  },
  z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a receiver name: lowercase letters, digits, - and _'), url),
);

const CLUSTER_NAME = /^([A-Za-z_][A-Za-z0-9_.-]*|\{[A-Za-z_]+\})$/;

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('.data').describe('Folder for local state: broker logs, chDB, PGlite, spool'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  events: z
    .strictObject({
      futureAllowanceSeconds: int(0, MAX_FUTURE_ALLOWANCE_MS / 1000)
        .default(DEFAULT_FUTURE_ALLOWANCE_MS / 1000)
        .describe('How far ahead of this process clock an event time may be (producer clock drift); further is refused, dead-lettered as timestamp_in_future, never counted by the alert evaluator'),
    })
    .prefault({}),
  kafka: z
    .strictObject({
      brokers: csv.optional().describe('Broker list; unset = start the local broker'),
      clientId: z.string().min(1).default('actionpulse'),
      client: z.enum(['platformatic']).default('platformatic').describe('The Kafka client behind the Kafka port: @platformatic/kafka, the only one (README, "One Kafka client")'),
      eventsTopic: topic.default(DEFAULT_EVENTS_TOPIC),
      deadLetterTopic: topic.default(DEFAULT_DLQ_TOPIC),
      partitions: int(1, 1024).default(6),
      replicationFactor: int(1, 10).optional().describe('Copies of every pipeline topic; unset = 1, or 3 on a local cluster of 3+ brokers'),
      minInsyncReplicas: int(1, 10).optional().describe('min.insync.replicas of every pipeline topic: acks=all writes fail (and the emitter spools) below it; unset = 1, or 2 on a local cluster'),
      ssl: bool.default(false),
      saslMechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
      saslUsername: z.string().optional(),
      saslPassword: z.string().optional(),
      localPort: int(1024, 65535).default(19092),
      localControllerPort: int(1024, 65535).default(19093),
      localHeapMb: int(128, 4096).default(512),
      connectionTimeoutMs: int(100, 600_000).default(5000).describe('How long connecting to a broker may take'),
      requestTimeoutMs: int(100, 600_000).default(30_000).describe('How long a broker may take to answer a request'),
      localBrokers: int(1, 9).default(1).describe('Brokers of the local Kafka (1 = one combined node; more = a controller plus this many brokers)'),
    })
    .prefault({}),
  clickhouse: z
    .strictObject({
      url: url.optional().describe('ClickHouse HTTP(S) URL; unset = embedded chDB under dataDir'),
      username: z.string().default('default'),
      password: z.string().default(''),
      database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('actionpulse'),
      ttlDays: int(1, 3650).default(400),
      consumerGroup: z.string().min(1).default('actionpulse-clickhouse').describe('Kafka consumer group of the ClickHouse sink'),
      cluster: z
        .string()
        .regex(CLUSTER_NAME, 'a cluster name from remote_servers (or a macro like {cluster})')
        .optional()
        .describe('Self-managed cluster: migrations ON CLUSTER, Replicated tables, Distributed tables in front'),
      cloud: bool.default(false).describe('ClickHouse Cloud: Shared engines, DDL replicated by the service, no cluster name'),
    })
    .prefault({}),
  database: z
    .strictObject({
      url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').optional().describe('PostgreSQL URL; unset = PGlite under dataDir'),
    })
    .prefault({}),
  redis: z.strictObject({ url: z.string().regex(/^rediss?:\/\//, 'a redis:// URL').optional() }).prefault({}),
  crm: z
    .strictObject({
      baseUrl: url.default('http://127.0.0.1:18081'),
      apiKey: z.string().optional().describe('Fallback X-Crm-Api-Key when a token refresh fails'),
      tokenEncryptionKey: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, '64 hex characters (a 256-bit AES key)')
        .optional(),
      requestTimeoutMs: int(100, 120_000).default(10_000),
      maxRetries: int(0, 10).default(2),
      retryBaseDelayMs: int(1, 600_000).default(200).describe('First backoff between CRM retries'),
      retryMaxDelayMs: int(1, 3600_000).default(5_000).describe('Longest backoff between CRM retries'),
    })
    .prefault({}),
  mixpanel: z
    .strictObject({
      apiHost: url.default('https://api.mixpanel.com'),
      projectId: z.string().optional(),
      projectToken: z.string().optional(),
      apiSecret: z.string().optional(),
      serviceAccountUser: z.string().optional(),
      serviceAccountSecret: z.string().optional(),
      maxBatchEvents: int(1, 2000).default(2000),
      maxBatchBytes: int(1024, 10 * 1024 * 1024).default(2 * 1024 * 1024),
      concurrency: int(1, 64).default(4),
      requestTimeoutMs: int(100, 120_000).default(30_000),
      consumerGroup: z.string().min(1).default('actionpulse-mixpanel'),
      groupProfileIntervalMs: int(1000, 7 * 24 * 3600_000).default(3600_000).describe('At most one group profile update per organization per interval'),
      retryInitialMs: int(10, 600_000).default(2000).describe("Mixpanel's advice: start at 2 s, double up to 60 s, with jitter"),
      retryMaxMs: int(10, 3600_000).default(60_000),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      rulesFile: z.string().optional(),
      slackWebhookUrl: url.optional(),
      slackCrmWebhookUrl: url.optional(),
      slackReceiverWebhooks: receiverWebhooks
        .default({})
        .describe('More Slack receivers the rules file may name (an organization\'s channel in blastRadius.organizationRoutes): name=webhook URL pairs, comma separated'),
      pagerdutyUrl: url.default('https://events.pagerduty.com'),
      pagerdutyRoutingKey: z.string().optional(),
      webhookUrl: url.optional(),
      webhookSecret: z.string().optional(),
      killSwitchDryRun: bool.default(false),
      killSwitchMaxPer24h: int(0, 100).default(2),
      consumerGroup: z.string().min(1).default('actionpulse-alerts').describe('Kafka consumer group of the alert evaluators'),
      sloBurnRate: bool.default(true).describe('Page on burn rate of the 97% success SLO (slo-burn-rate-rules.json) beside the spec rules'),
      latenessAllowanceMinutes: int(0, 10_080)
        .default(360)
        .describe("Event-time minutes an alert event may arrive late and still count (covers the emitter's spool horizon); the rebuild after a restart reads this far back too"),
      timeScale: num(1, 100_000).optional().describe('Compresses alert windows (60 = a minute lasts a second); default 1, or 480 when the demo runs'),
    })
    .prefault({}),
  telemetry: z
    .strictObject({
      otlpTracesEndpoint: url.optional().describe('OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces'),
      serviceName: z.string().min(1).default('actionpulse'),
      traceUrlTemplate: url
        .refine((v) => v.includes('{trace_id}'), 'a URL with {trace_id} where the trace id goes')
        .optional()
        .describe('Trace UI link in notifications, e.g. https://jaeger.example/trace/{trace_id} or Tempo/Grafana explore'),
      executorSpanNames: z
        .enum(['gen_ai', 'legacy'])
        .default('gen_ai')
        .describe('Span name of an action call: gen_ai = `execute_tool {node_type}` (OpenTelemetry GenAI conventions), legacy = `qontak_action {node_type}` as before'),
    })
    .prefault({}),
  demo: z
    .strictObject({
      mode: z.enum(['auto', 'on', 'off']).default('auto').describe('auto = run the simulated agent runtime when Kafka is local'),
      callsPerSecond: num(0.1, 10_000).default(60),
      organizations: int(1, 1000).default(6),
      agentsPerOrg: int(1, 200).default(5),
      seed: int(0, 2 ** 31 - 1).default(7),
      failingAfterMs: int(0, 86_400_000).default(20_000),
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: int(0, 65535).default(8080),
      publicDashboardUrl: url
        .optional()
        .describe('Where people reach the dashboard (notification links); unset = http://HTTP_HOST:HTTP_PORT of this service'),
      adminToken: z.string().min(16).optional(),
      ingestSecrets: pairs.optional().describe('source=secret pairs, comma separated'),
      ingestBearerTokens: pairs.optional().describe('source=token pairs, comma separated'),
      ingestMaxEvents: int(1, 10_000).default(500).describe('Most events in one POST /v1/events'),
      ingestMaxBodyBytes: int(1024, 64 * 1024 * 1024).default(1024 * 1024).describe('Largest POST /v1/events body'),
      ingestRateEventsPerSecond: int(1, 10_000_000).default(5000).describe('Per-source sustained event rate'),
      ingestRateBurstEvents: int(1, 10_000_000).default(10_000).describe('Per-source burst size'),
    })
    .prefault({}),
  cli: z
    .strictObject({
      serviceUrl: url.optional().describe('The running service the operator commands talk to; unset = the one pipeline announced under dataDir/run (cli/pipeline-discovery.ts)'),
      requestTimeoutMs: int(100, 600_000).default(30_000).describe('How long an operator command waits for the service'),
    })
    .prefault({}),
  spool: z
    .strictObject({
      dir: z.string().optional(),
      fsync: z.enum(['always', 'interval', 'never']).default('interval'),
      maxBytes: int(1024 * 1024, Number.MAX_SAFE_INTEGER).default(1024 * 1024 * 1024),
      memoryQueueEvents: int(100, 10_000_000).default(50_000),
      segmentBytes: int(64 * 1024, 1024 * 1024 * 1024).default(64 * 1024 * 1024).describe('Spool segment file size before rotating'),
      fsyncIntervalMs: int(10, 60_000).default(200).describe('fsync period when spool.fsync = interval'),
    })
    .prefault({}),
  producer: z
    .strictObject({
      compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('gzip'),
      lingerMs: int(0, 10_000).default(5).describe('How long a partial batch waits for more events'),
      batchMaxEvents: int(1, 100_000).default(2000),
      batchMaxBytes: int(1024, 8 * 1024 * 1024).default(1024 * 1024),
      spillAfterMs: int(50, 600_000).default(2000).describe('A send pending this long moves the memory queue to the spool'),
      shutdownDeadlineMs: int(0, 600_000).default(10_000),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;

interface CrossFieldProblem {
  /** The setting to change. */
  path: string;
  message: string;
  /** Every setting the rule reads: a rule reading an invalid one is not judged (that one is reported instead). */
  reads: string[];
}

/**
 * Rules between settings, checked by loadConfig in the same pass as the single settings, before anything
 * starts. Each problem's path is the setting to change, so the error names it like any other.
 */
function crossFieldProblems(c: Config): CrossFieldProblem[] {
  const out: CrossFieldProblem[] = [];
  const need = (path: string, when: string, reads: string[]) => out.push({ path, message: `required with ${when}`, reads });
  const k = c.kafka;
  const sasl = ['kafka.saslMechanism', 'kafka.saslUsername', 'kafka.saslPassword'];
  if (k.saslMechanism) {
    if (!k.saslUsername) need('kafka.saslUsername', 'KAFKA_SASL_MECHANISM', sasl);
    if (!k.saslPassword) need('kafka.saslPassword', 'KAFKA_SASL_MECHANISM', sasl);
  } else if (k.saslUsername || k.saslPassword) {
    need('kafka.saslMechanism', k.saslUsername ? 'KAFKA_SASL_USERNAME' : 'KAFKA_SASL_PASSWORD', sasl);
  }
  const ports = ['kafka.localPort', 'kafka.localControllerPort', 'kafka.localBrokers'];
  if (k.localPort === k.localControllerPort) out.push({ path: 'kafka.localControllerPort', message: 'must differ from KAFKA_LOCAL_PORT', reads: ports });
  // A local cluster's brokers listen on KAFKA_LOCAL_PORT, +2, +4, …: the controller must not be one of them.
  if (k.localBrokers > 1 && k.localControllerPort >= k.localPort && k.localControllerPort < k.localPort + 2 * k.localBrokers && (k.localControllerPort - k.localPort) % 2 === 0) {
    out.push({ path: 'kafka.localControllerPort', message: `is a broker port of the local cluster (KAFKA_LOCAL_PORT ${k.localPort}, +2, +4, …)`, reads: ports });
  }
  // The copies the topics get when KAFKA_REPLICATION_FACTOR is unset (see topicReplication in kafka/topics.ts).
  const copies = k.replicationFactor ?? (!k.brokers && k.localBrokers > 1 ? Math.min(3, k.localBrokers) : 1);
  const replication = ['kafka.minInsyncReplicas', 'kafka.replicationFactor', 'kafka.brokers', 'kafka.localBrokers'];
  if (k.minInsyncReplicas !== undefined && k.minInsyncReplicas > copies) {
    out.push({ path: 'kafka.minInsyncReplicas', message: `must not exceed the replication factor (${copies}): no write could ever succeed`, reads: replication });
  }
  if (!k.brokers && k.replicationFactor !== undefined && k.replicationFactor > k.localBrokers) {
    out.push({ path: 'kafka.replicationFactor', message: `the local Kafka has ${k.localBrokers} broker(s) (KAFKA_LOCAL_BROKERS): at most that many copies`, reads: replication });
  }
  const ch = c.clickhouse;
  const topology = ['clickhouse.cluster', 'clickhouse.cloud', 'clickhouse.url'];
  if (ch.cluster && ch.cloud) out.push({ path: 'clickhouse.cloud', message: 'ClickHouse Cloud has no cluster name to give: set CLICKHOUSE_CLUSTER or CLICKHOUSE_CLOUD, not both', reads: topology });
  if ((ch.cluster || ch.cloud) && !ch.url) out.push({ path: ch.cluster ? 'clickhouse.cluster' : 'clickhouse.cloud', message: 'needs CLICKHOUSE_URL (the embedded engine is one node)', reads: topology });
  const m = c.mixpanel;
  const account = ['mixpanel.serviceAccountUser', 'mixpanel.serviceAccountSecret', 'mixpanel.projectId'];
  if (m.serviceAccountUser && !m.serviceAccountSecret) need('mixpanel.serviceAccountSecret', 'MIXPANEL_SERVICE_ACCOUNT_USER', account);
  if (m.serviceAccountSecret && !m.serviceAccountUser) need('mixpanel.serviceAccountUser', 'MIXPANEL_SERVICE_ACCOUNT_SECRET', account);
  if (m.serviceAccountUser && !m.projectId) need('mixpanel.projectId', 'a service account (MIXPANEL_SERVICE_ACCOUNT_USER)', account);
  if (m.retryInitialMs > m.retryMaxMs) {
    out.push({ path: 'mixpanel.retryInitialMs', message: `must not exceed MIXPANEL_RETRY_MAX_MS (${m.retryMaxMs})`, reads: ['mixpanel.retryInitialMs', 'mixpanel.retryMaxMs'] });
  }
  if (c.crm.retryBaseDelayMs > c.crm.retryMaxDelayMs) {
    out.push({ path: 'crm.retryBaseDelayMs', message: `must not exceed CRM_RETRY_MAX_DELAY_MS (${c.crm.retryMaxDelayMs})`, reads: ['crm.retryBaseDelayMs', 'crm.retryMaxDelayMs'] });
  }
  if (c.alerts.webhookUrl && !c.alerts.webhookSecret) need('alerts.webhookSecret', 'ALERT_WEBHOOK_URL (deliveries are signed)', ['alerts.webhookUrl', 'alerts.webhookSecret']);
  if (c.http.ingestRateBurstEvents < c.http.ingestMaxEvents) {
    // A batch larger than the burst could never be admitted: every such request would get 429 forever.
    out.push({ path: 'http.ingestRateBurstEvents', message: `must be at least INGEST_MAX_EVENTS (${c.http.ingestMaxEvents})`, reads: ['http.ingestRateBurstEvents', 'http.ingestMaxEvents'] });
  }
  return out;
}

/** A setting a particular program cannot run without, though the schema leaves it optional for others. */
export interface RequiredSetting {
  path: string;
  why: string;
}

/** An npm package a particular program loads, checked with the settings so that a missing one is one more line. */
export interface PackageNeed {
  package: string;
  /** What needs it, said in the problem line. */
  why: string;
}

/** What one program needs beyond the schema: settings it requires, packages it will load (given the settings). */
export interface Requirements {
  settings?: RequiredSetting[];
  packages?: (config: Config) => PackageNeed[];
}

/** The agent runtime (`createRuntime`): where events go, and the key its CRM tokens are stored with. */
export const RUNTIME_REQUIREMENTS: Requirements = {
  settings: [
    { path: 'kafka.brokers', why: 'required by the agent runtime: the Kafka brokers its events go to (it never starts one)' },
    { path: 'crm.tokenEncryptionKey', why: 'required by the agent runtime: CRM tokens are stored encrypted with it' },
  ],
  packages: (c) => [
    c.database.url ? { package: 'pg', why: 'the registry database at DATABASE_URL' } : { package: '@electric-sql/pglite', why: 'the local registry database (no DATABASE_URL)' },
    ...(c.redis.url ? [{ package: 'ioredis', why: 'chat jobs in Redis (REDIS_URL)' }] : []),
  ],
};

/** What a pipeline process loads for the components it runs (`actionpulse start --only …`). */
export function pipelinePackages(components: ReadonlySet<string>, c: Config): PackageNeed[] {
  const out: PackageNeed[] = [];
  const has = (name: string) => components.has(name);
  if (has('clickhouse') || has('http')) {
    out.push({ package: '@clickhouse/client', why: 'the ClickHouse sink and the dashboard' });
    if (!c.clickhouse.url && has('clickhouse')) out.push({ package: 'chdb', why: 'the embedded ClickHouse (or set CLICKHOUSE_URL to a server)' });
  }
  if (has('mixpanel')) out.push({ package: 'mixpanel', why: 'the Mixpanel sink' });
  if (has('http')) out.push({ package: 'express', why: 'the HTTP service' });
  if (has('http') || has('alerts') || has('demo')) {
    out.push(c.database.url ? { package: 'pg', why: 'the registry database at DATABASE_URL' } : { package: '@electric-sql/pglite', why: 'the local registry database (no DATABASE_URL)' });
  }
  return out;
}

/** Environment variable → setting path. */
export const ENV_SETTINGS: Record<string, string> = {
  ACTIONPULSE_DATA_DIR: 'dataDir',
  LOG_LEVEL: 'logLevel',
  EVENT_FUTURE_ALLOWANCE_SECONDS: 'events.futureAllowanceSeconds',
  KAFKA_BROKERS: 'kafka.brokers',
  KAFKA_CLIENT_ID: 'kafka.clientId',
  KAFKA_CLIENT: 'kafka.client',
  KAFKA_EVENTS_TOPIC: 'kafka.eventsTopic',
  KAFKA_DLQ_TOPIC: 'kafka.deadLetterTopic',
  KAFKA_PARTITIONS: 'kafka.partitions',
  KAFKA_REPLICATION_FACTOR: 'kafka.replicationFactor',
  KAFKA_MIN_INSYNC_REPLICAS: 'kafka.minInsyncReplicas',
  KAFKA_LOCAL_BROKERS: 'kafka.localBrokers',
  KAFKA_SSL: 'kafka.ssl',
  KAFKA_SASL_MECHANISM: 'kafka.saslMechanism',
  KAFKA_SASL_USERNAME: 'kafka.saslUsername',
  KAFKA_SASL_PASSWORD: 'kafka.saslPassword',
  KAFKA_LOCAL_PORT: 'kafka.localPort',
  KAFKA_LOCAL_CONTROLLER_PORT: 'kafka.localControllerPort',
  KAFKA_LOCAL_HEAP_MB: 'kafka.localHeapMb',
  KAFKA_CONNECTION_TIMEOUT_MS: 'kafka.connectionTimeoutMs',
  KAFKA_REQUEST_TIMEOUT_MS: 'kafka.requestTimeoutMs',
  CLICKHOUSE_URL: 'clickhouse.url',
  CLICKHOUSE_USER: 'clickhouse.username',
  CLICKHOUSE_PASSWORD: 'clickhouse.password',
  CLICKHOUSE_DATABASE: 'clickhouse.database',
  CLICKHOUSE_TTL_DAYS: 'clickhouse.ttlDays',
  CLICKHOUSE_CONSUMER_GROUP: 'clickhouse.consumerGroup',
  CLICKHOUSE_CLUSTER: 'clickhouse.cluster',
  CLICKHOUSE_CLOUD: 'clickhouse.cloud',
  DATABASE_URL: 'database.url',
  REDIS_URL: 'redis.url',
  QONTAK_CRM_BASE_URL: 'crm.baseUrl',
  QONTAK_CRM_API_KEY: 'crm.apiKey',
  CRM_TOKEN_ENCRYPTION_KEY: 'crm.tokenEncryptionKey',
  CRM_REQUEST_TIMEOUT_MS: 'crm.requestTimeoutMs',
  CRM_MAX_RETRIES: 'crm.maxRetries',
  CRM_RETRY_BASE_DELAY_MS: 'crm.retryBaseDelayMs',
  CRM_RETRY_MAX_DELAY_MS: 'crm.retryMaxDelayMs',
  MIXPANEL_API_HOST: 'mixpanel.apiHost',
  MIXPANEL_PROJECT_ID: 'mixpanel.projectId',
  MIXPANEL_PROJECT_TOKEN: 'mixpanel.projectToken',
  MIXPANEL_API_SECRET: 'mixpanel.apiSecret',
  MIXPANEL_SERVICE_ACCOUNT_USER: 'mixpanel.serviceAccountUser',
  MIXPANEL_SERVICE_ACCOUNT_SECRET: 'mixpanel.serviceAccountSecret',
  MIXPANEL_MAX_BATCH_EVENTS: 'mixpanel.maxBatchEvents',
  MIXPANEL_MAX_BATCH_BYTES: 'mixpanel.maxBatchBytes',
  MIXPANEL_CONCURRENCY: 'mixpanel.concurrency',
  MIXPANEL_REQUEST_TIMEOUT_MS: 'mixpanel.requestTimeoutMs',
  MIXPANEL_CONSUMER_GROUP: 'mixpanel.consumerGroup',
  MIXPANEL_GROUP_PROFILE_INTERVAL_MS: 'mixpanel.groupProfileIntervalMs',
  MIXPANEL_RETRY_INITIAL_MS: 'mixpanel.retryInitialMs',
  MIXPANEL_RETRY_MAX_MS: 'mixpanel.retryMaxMs',
  ALERT_RULES_FILE: 'alerts.rulesFile',
  SLACK_WEBHOOK_URL: 'alerts.slackWebhookUrl',
  SLACK_CRM_WEBHOOK_URL: 'alerts.slackCrmWebhookUrl',
  SLACK_RECEIVER_WEBHOOKS: 'alerts.slackReceiverWebhooks',
  PAGERDUTY_URL: 'alerts.pagerdutyUrl',
  PAGERDUTY_ROUTING_KEY: 'alerts.pagerdutyRoutingKey',
  ALERT_WEBHOOK_URL: 'alerts.webhookUrl',
  ALERT_WEBHOOK_SECRET: 'alerts.webhookSecret',
  KILL_SWITCH_DRY_RUN: 'alerts.killSwitchDryRun',
  KILL_SWITCH_MAX_PER_24H: 'alerts.killSwitchMaxPer24h',
  ALERTS_CONSUMER_GROUP: 'alerts.consumerGroup',
  ALERT_LATENESS_ALLOWANCE_MINUTES: 'alerts.latenessAllowanceMinutes',
  ALERT_SLO_BURN_RATE: 'alerts.sloBurnRate',
  ACTIONPULSE_TIME_SCALE: 'alerts.timeScale',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'telemetry.otlpTracesEndpoint',
  OTEL_SERVICE_NAME: 'telemetry.serviceName',
  TRACE_URL_TEMPLATE: 'telemetry.traceUrlTemplate',
  EXECUTOR_SPAN_NAMES: 'telemetry.executorSpanNames',
  ACTIONPULSE_DEMO: 'demo.mode',
  DEMO_CALLS_PER_SECOND: 'demo.callsPerSecond',
  DEMO_ORGANIZATIONS: 'demo.organizations',
  DEMO_AGENTS_PER_ORG: 'demo.agentsPerOrg',
  DEMO_SEED: 'demo.seed',
  DEMO_FAILING_AFTER_MS: 'demo.failingAfterMs',
  HTTP_HOST: 'http.host',
  HTTP_PORT: 'http.port',
  PUBLIC_DASHBOARD_URL: 'http.publicDashboardUrl',
  ADMIN_TOKEN: 'http.adminToken',
  INGEST_HMAC_SECRETS: 'http.ingestSecrets',
  INGEST_BEARER_TOKENS: 'http.ingestBearerTokens',
  SPOOL_DIR: 'spool.dir',
  SPOOL_FSYNC: 'spool.fsync',
  SPOOL_MAX_BYTES: 'spool.maxBytes',
  EMITTER_MEMORY_QUEUE_EVENTS: 'spool.memoryQueueEvents',
  SPOOL_SEGMENT_BYTES: 'spool.segmentBytes',
  SPOOL_FSYNC_INTERVAL_MS: 'spool.fsyncIntervalMs',
  PRODUCER_COMPRESSION: 'producer.compression',
  PRODUCER_LINGER_MS: 'producer.lingerMs',
  PRODUCER_BATCH_MAX_EVENTS: 'producer.batchMaxEvents',
  PRODUCER_BATCH_MAX_BYTES: 'producer.batchMaxBytes',
  PRODUCER_SPILL_AFTER_MS: 'producer.spillAfterMs',
  PRODUCER_SHUTDOWN_DEADLINE_MS: 'producer.shutdownDeadlineMs',
  INGEST_MAX_EVENTS: 'http.ingestMaxEvents',
  INGEST_MAX_BODY_BYTES: 'http.ingestMaxBodyBytes',
  INGEST_RATE_EVENTS_PER_SECOND: 'http.ingestRateEventsPerSecond',
  INGEST_RATE_BURST_EVENTS: 'http.ingestRateBurstEvents',
  ACTIONPULSE_URL: 'cli.serviceUrl',
  ACTIONPULSE_CLI_TIMEOUT_MS: 'cli.requestTimeoutMs',
};

/** One thing to fix: the setting (or package), why, and a value or command that would do. */
export interface ConfigProblem {
  setting: string;
  message: string;
  example?: string;
}

/** Every problem of the configuration at once, one line each; thrown before anything starts. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(`Invalid configuration (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}):\n${problems.map((p) => `  - ${problemLine(p)}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function problemLine(p: ConfigProblem): string {
  return `${p.setting}: ${p.message}${p.example ? `; e.g. ${p.example}` : ''}`;
}

type Tree = Record<string, unknown>;

function setPath(target: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1]] = value;
}

function deletePath(target: Tree, parts: string[]): void {
  let node: unknown = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Tree)[part];
  }
  if (typeof node === 'object' && node !== null) delete (node as Tree)[parts[parts.length - 1]];
}

const PATH_TO_ENV = new Map(Object.entries(ENV_SETTINGS).map(([name, path]) => [path, name]));

/** The declared setting a schema path is in: `kafka.brokers.1` (one element of a list) is kafka.brokers. */
function settingPath(path: string): string {
  for (const p of PATH_TO_ENV.keys()) if (path === p || path.startsWith(`${p}.`)) return p;
  return path;
}

function settingName(path: string): string {
  const env = PATH_TO_ENV.get(path);
  return env ? `${env} (${path})` : path;
}

function example(path: string): string | undefined {
  const env = PATH_TO_ENV.get(path);
  const value = env ? EXAMPLES[env] : undefined;
  return env && value !== undefined ? `${env}=${value}` : undefined;
}

/** Known keys of the schema section at `parents`, for "did you mean" on an unknown key in the config file. */
function knownKeys(parents: string[]): string[] {
  const prefix = parents.length ? `${parents.join('.')}.` : '';
  const keys = new Set<string>();
  for (const path of PATH_TO_ENV.keys()) if (path.startsWith(prefix)) keys.add(path.slice(prefix.length).split('.')[0]);
  return [...keys];
}

function closest(key: string, candidates: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const next = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        prev = next;
      }
    }
    return row[b.length];
  };
  const best = candidates.map((c) => [c, distance(key, c)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(key.length / 3)) ? best[0] : undefined;
}

/** Whether `name` is installed where this module would load it from (its package.json on the module path). */
export function packageInstalled(name: string): boolean {
  const paths = createRequire(import.meta.url).resolve.paths(name) ?? [];
  return paths.some((dir) => existsSync(join(dir, name, 'package.json')));
}

/** The version range this package asks for, so the install line matches what was tested. */
function wantedRange(name: string): string | undefined {
  try {
    const own = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Record<string, Record<string, string> | undefined>;
    return own.dependencies?.[name] ?? own.optionalDependencies?.[name] ?? own.peerDependencies?.[name];
  } catch {
    return undefined;
  }
}

/** The one line for a package that is not installed: what needs it and the command that installs it. */
export function missingPackageProblem(name: string, why: string): ConfigProblem {
  const range = wantedRange(name);
  return { setting: `package ${name}`, message: `not installed; ${why} needs it`, example: `npm install ${range ? `'${name}@${range}'` : name}` };
}

/** The npm package a failed import was looking for, when that is what failed (not a file of this package). */
export function missingPackage(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' && e?.code !== 'MODULE_NOT_FOUND') return undefined;
  return /Cannot find (?:package|module) '((?:@[^/']+\/)?[^/'.][^/']*)/.exec(e.message)?.[1];
}

/**
 * Loads and validates the configuration in one pass: every single setting, the rules between settings, the
 * settings and packages the calling program requires. Throws one ConfigError listing every problem.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Tree = {}, requirements: Requirements = {}): Config {
  const raw: Tree = {};
  const problems: ConfigProblem[] = [];
  const file = env.ACTIONPULSE_CONFIG;
  const fileExample = 'ACTIONPULSE_CONFIG=/etc/actionpulse/config.json (a JSON object like {"kafka":{"brokers":"kafka-1:9092"}})';
  if (file) {
    // Bounded like every JSON from outside: valid UTF-8, an optional BOM, no nesting deep enough to hurt.
    let parsed: ReturnType<typeof parseBoundedJson> | undefined;
    try {
      parsed = parseBoundedJson(readFileSync(resolve(file)));
    } catch (err) {
      problems.push({ setting: 'ACTIONPULSE_CONFIG', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, example: fileExample });
    }
    if (parsed && !parsed.ok) problems.push({ setting: 'ACTIONPULSE_CONFIG', message: `${file}: ${parsed.message}`, example: fileExample });
    else if (parsed?.ok) {
      const value = parsed.value;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problems.push({ setting: 'ACTIONPULSE_CONFIG', message: `${file} must hold a JSON object`, example: fileExample });
      } else Object.assign(raw, value);
    }
  }
  for (const [name, path] of Object.entries(ENV_SETTINGS)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, value);
  }
  for (const [path, value] of Object.entries(overrides)) setPath(raw, path, value);

  let result = configSchema.safeParse(raw);
  const invalid = new Set<string>();
  if (!result.success) {
    for (const issue of result.error.issues) {
      const parents = issue.path.map(String);
      if (issue.code === 'unrecognized_keys') {
        // Unknown keys can only come from the config file (env vars map to known settings): name each one.
        for (const key of issue.keys) {
          const near = closest(key, knownKeys(parents));
          problems.push({ setting: [...parents, key].join('.'), message: `unknown setting${file ? ` in ${file}` : ''}`, example: near ? `${[...parents, near].join('.')} (the closest known setting)` : undefined });
          deletePath(raw, [...parents, key]);
        }
        continue;
      }
      const path = settingPath(parents.join('.'));
      if (invalid.has(path)) continue;
      invalid.add(path);
      problems.push({ setting: settingName(path), message: issue.message, example: example(path) });
      deletePath(raw, path.split('.'));
    }
    // Without the invalid values (their defaults in their place) the rest can still be judged in this pass.
    result = configSchema.safeParse(raw);
  }
  if (result.success) {
    const config = result.data;
    for (const p of crossFieldProblems(config)) {
      if (p.reads.some((read) => invalid.has(read))) continue;
      problems.push({ setting: settingName(p.path), message: p.message, example: example(p.path) });
    }
    for (const need of requirements.settings ?? []) {
      if (invalid.has(need.path)) continue;
      if (need.path.split('.').reduce<unknown>((node, part) => (node as Tree | undefined)?.[part], config) === undefined) {
        problems.push({ setting: settingName(need.path), message: need.why, example: example(need.path) });
      }
    }
    for (const need of requirements.packages?.(config) ?? []) {
      if (!packageInstalled(need.package)) problems.push(missingPackageProblem(need.package, need.why));
    }
    if (problems.length === 0) return config;
  }
  throw new ConfigError(problems);
}
