import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import type { Config } from '../platform/config.ts';
import { brokerServesMetadata, KAFKA_LIBS_DIR } from '../platform/kafka/local-broker.ts';
import { kafkaConnectionFromConfig } from '../platform/kafka/kafka-connection.ts';
import { createClickhouse } from '../platform/clickhouse-client.ts';
import { openRegistryDb } from '../platform/registry-db.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it, for warn and fail. */
  fix?: string;
}

function tcpReachable(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(timeoutMs);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function attempt(name: string, fn: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await fn();
  } catch (err) {
    return { name, status: 'fail', detail: (err as Error).message };
  }
}

function nodeCheck(): CheckResult {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const ok = major > 22 || (major === 22 && minor >= 22);
  return ok
    ? { name: 'node', status: 'ok', detail: `Node ${process.versions.node}` }
    : { name: 'node', status: 'fail', detail: `Node ${process.versions.node} is too old (Node 20 reached its end of life on 2026-04-30)`, fix: 'install Node 22.22 or newer (22 or 24 LTS); `npm start` and `npm test` bring a pinned Node 22 LTS themselves' };
}

async function kafkaCheck(config: Config): Promise<CheckResult> {
  if (config.kafka.brokers) {
    // Loaded on use: the client needs Node >= 22.22, which nodeCheck reports on its own.
    const { createPlatformaticKafka } = await import('../platform/kafka/platformatic-adapter.ts');
    const kafka = createPlatformaticKafka(kafkaConnectionFromConfig(config, config.kafka.brokers));
    const admin = kafka.admin();
    try {
      const topics = await admin.listTopics();
      const missing = [config.kafka.eventsTopic, config.kafka.deadLetterTopic].filter((t) => !topics.includes(t));
      return missing.length
        ? { name: 'kafka', status: 'warn', detail: `reachable; topics missing: ${missing.join(', ')}`, fix: '`actionpulse start` creates them (or ask the cluster admins if auto-creation is restricted)' }
        : { name: 'kafka', status: 'ok', detail: `${config.kafka.brokers.join(',')}: topics present` };
    } catch (err) {
      return {
        name: 'kafka',
        status: 'fail',
        detail: `KAFKA_BROKERS=${config.kafka.brokers.join(',')} unreachable: ${(err as Error).message}`,
        fix: 'check the broker addresses, KAFKA_SSL and KAFKA_SASL_* settings, and that this host can reach them',
      };
    } finally {
      await kafka.close().catch(() => undefined);
    }
  }
  const jars = existsSync(join(KAFKA_LIBS_DIR, 'kafka_2.13-3.9.1.jar'));
  let java = false;
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    java = true;
  } catch {
    java = false;
  }
  const brokers = [`127.0.0.1:${config.kafka.localPort}`];
  const running = await brokerServesMetadata(brokers);
  if (!java) return { name: 'kafka', status: 'fail', detail: 'local broker needs Java 17, not found', fix: 'apt-get install -y openjdk-17-jre-headless, or set KAFKA_BROKERS' };
  if (!jars) return { name: 'kafka', status: 'fail', detail: `Kafka jars missing in ${KAFKA_LIBS_DIR}`, fix: 'run `npx actionpulse kafka start` (fetches them with Maven on first use), or set KAFKA_BROKERS' };
  return running
    ? { name: 'kafka', status: 'ok', detail: `local broker serving at ${brokers[0]}` }
    : { name: 'kafka', status: 'warn', detail: `local broker not running on ${brokers[0]}`, fix: '`actionpulse kafka start` (or `npm start` starts it)' };
}

async function clickhouseCheck(config: Config): Promise<CheckResult> {
  if (config.clickhouse.url) {
    const client = createClickhouse({ ...config.clickhouse, dataDir: config.dataDir });
    try {
      const ping = await client.ping();
      if (!ping.success) throw ping.error;
      const rs = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
      const [{ v }] = (await rs.json()) as { v: string }[];
      return { name: 'clickhouse', status: 'ok', detail: `${config.clickhouse.url} (server ${v})` };
    } catch (err) {
      return { name: 'clickhouse', status: 'fail', detail: `CLICKHOUSE_URL unreachable: ${(err as Error).message}`, fix: 'check CLICKHOUSE_URL, CLICKHOUSE_USER and CLICKHOUSE_PASSWORD' };
    } finally {
      await client.close();
    }
  }
  const dir = join(config.dataDir, 'chdb');
  mkdirSync(dir, { recursive: true });
  accessSync(dir, constants.W_OK);
  return { name: 'clickhouse', status: 'ok', detail: `embedded chDB, data in ${dir} (one process may own it at a time)` };
}

async function databaseCheck(config: Config): Promise<CheckResult> {
  if (!config.database.url) return { name: 'registry-db', status: 'ok', detail: `embedded PGlite in ${join(config.dataDir, 'pglite')}` };
  const db = await openRegistryDb({ url: config.database.url });
  try {
    const [row] = await db.query<{ v: string }>('SELECT version() AS v');
    return { name: 'registry-db', status: 'ok', detail: String(row.v).split(',')[0] };
  } finally {
    await db.close();
  }
}

async function redisCheck(config: Config): Promise<CheckResult> {
  if (!config.redis.url) return { name: 'redis', status: 'warn', detail: 'REDIS_URL not set: chat-action jobs use the local fallback queue', fix: 'set REDIS_URL to enqueue real Sidekiq jobs' };
  const u = new URL(config.redis.url);
  const ok = await tcpReachable(u.hostname, Number(u.port || 6379));
  return ok ? { name: 'redis', status: 'ok', detail: `${u.host} reachable` } : { name: 'redis', status: 'fail', detail: `${u.host} unreachable`, fix: 'start Redis or fix REDIS_URL' };
}

function mixpanelCheck(config: Config): CheckResult {
  const m = config.mixpanel;
  if (m.serviceAccountUser || m.apiSecret) {
    if (m.serviceAccountUser && (!m.serviceAccountSecret || !m.projectId)) {
      return { name: 'mixpanel', status: 'fail', detail: 'service account set without its secret or project id', fix: 'set MIXPANEL_SERVICE_ACCOUNT_SECRET and MIXPANEL_PROJECT_ID' };
    }
    return { name: 'mixpanel', status: 'ok', detail: `sending to ${m.apiHost}` };
  }
  return { name: 'mixpanel', status: 'warn', detail: 'no Mixpanel credentials: events go to the local Mixpanel recorder', fix: 'set MIXPANEL_SERVICE_ACCOUNT_USER/SECRET + MIXPANEL_PROJECT_ID (or MIXPANEL_API_SECRET)' };
}

function alertingCheck(config: Config): CheckResult {
  const a = config.alerts;
  if (!a.slackWebhookUrl) return { name: 'alerting', status: 'warn', detail: 'no SLACK_WEBHOOK_URL: alerts are written to the terminal/log', fix: 'set SLACK_WEBHOOK_URL (and PAGERDUTY_ROUTING_KEY for paging)' };
  return { name: 'alerting', status: 'ok', detail: `Slack${a.pagerdutyRoutingKey ? ' + PagerDuty' : ''}${a.killSwitchDryRun ? ', kill switch in dry-run' : ''}` };
}

export async function runDoctor(config: Config): Promise<CheckResult[]> {
  return [
    nodeCheck(),
    await attempt('kafka', () => kafkaCheck(config)),
    await attempt('clickhouse', () => clickhouseCheck(config)),
    await attempt('registry-db', () => databaseCheck(config)),
    await attempt('redis', () => redisCheck(config)),
    mixpanelCheck(config),
    alertingCheck(config),
  ];
}
