import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EXAMPLES } from '../../../src/platform/config-examples.ts';
import {
  ConfigError,
  ENV_SETTINGS,
  RUNTIME_REQUIREMENTS,
  configSchema,
  loadConfig,
  missingPackage,
  missingPackageProblem,
  packageInstalled,
  pipelinePackages,
} from '../../../src/platform/config.ts';

/** A wrong value for every setting that can have one. */
const WRONG: Record<string, string[]> = {
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ['collector:4318'],
  ACTIONPULSE_DEMO: ['maybe'],
  DEMO_CALLS_PER_SECOND: ['fast', '0'],
  DEMO_ORGANIZATIONS: ['0', '1.5'],
  DEMO_AGENTS_PER_ORG: ['none'],
  DEMO_SEED: ['-1'],
  DEMO_FAILING_AFTER_MS: ['soon'],
  LOG_LEVEL: ['verbose'],
  EVENT_FUTURE_ALLOWANCE_SECONDS: ['-1', '3601', '1.5', 'five minutes'],
  KAFKA_BROKERS: [',', 'localhost', 'kafka:port', 'a:9092,b'],
  KAFKA_CLIENT: ['confluent', 'librdkafka'],
  KAFKA_EVENTS_TOPIC: ['events topic', 'x'.repeat(250)],
  KAFKA_DLQ_TOPIC: ['dlq/v1'],
  KAFKA_PARTITIONS: ['abc', '0', '1.5', '2000'],
  KAFKA_REPLICATION_FACTOR: ['0'],
  KAFKA_MIN_INSYNC_REPLICAS: ['0', 'two'],
  KAFKA_LOCAL_BROKERS: ['0', '10'],
  KAFKA_SSL: ['sometimes'],
  KAFKA_SASL_MECHANISM: ['gssapi'],
  KAFKA_LOCAL_PORT: ['80', 'ninety'],
  KAFKA_LOCAL_CONTROLLER_PORT: ['70000'],
  KAFKA_LOCAL_HEAP_MB: ['64'],
  KAFKA_CONNECTION_TIMEOUT_MS: ['0', 'slow'],
  KAFKA_REQUEST_TIMEOUT_MS: ['99', '1e9'],
  CLICKHOUSE_URL: ['notaurl', 'ftp://clickhouse:8123'],
  CLICKHOUSE_DATABASE: ['my-db', '1db'],
  CLICKHOUSE_TTL_DAYS: ['0'],
  CLICKHOUSE_CLUSTER: ['my cluster', 'a;b'],
  CLICKHOUSE_CLOUD: ['sometimes'],
  DATABASE_URL: ['mysql://x', 'localhost:5432'],
  REDIS_URL: ['http://127.0.0.1:6379'],
  QONTAK_CRM_BASE_URL: ['notaurl'],
  CRM_TOKEN_ENCRYPTION_KEY: ['short', 'z'.repeat(64)],
  CRM_REQUEST_TIMEOUT_MS: ['50'],
  CRM_MAX_RETRIES: ['11', '-1'],
  CRM_RETRY_BASE_DELAY_MS: ['0', 'soon'],
  CRM_RETRY_MAX_DELAY_MS: ['-5'],
  MIXPANEL_API_HOST: ['api.mixpanel.com'],
  MIXPANEL_MAX_BATCH_EVENTS: ['2001'],
  MIXPANEL_MAX_BATCH_BYTES: ['100'],
  MIXPANEL_CONCURRENCY: ['0'],
  MIXPANEL_REQUEST_TIMEOUT_MS: ['1.5'],
  MIXPANEL_GROUP_PROFILE_INTERVAL_MS: ['10'],
  MIXPANEL_RETRY_INITIAL_MS: ['5'],
  MIXPANEL_RETRY_MAX_MS: ['soon'],
  SLACK_WEBHOOK_URL: ['hooks.slack.com/services/x'],
  SLACK_CRM_WEBHOOK_URL: ['notaurl'],
  SLACK_RECEIVER_WEBHOOKS: ['cs-acme=notaurl', 'Bad Name=https://hooks.slack.com/services/T/B/x', 'cs-acme'],
  PAGERDUTY_URL: ['notaurl'],
  ALERT_WEBHOOK_URL: ['mailto:oncall@example.com'],
  PUBLIC_DASHBOARD_URL: ['notaurl', 'dash.example.com'],
  TRACE_URL_TEMPLATE: ['jaeger/trace/{trace_id}', 'https://jaeger.example/trace/'],
  EXECUTOR_SPAN_NAMES: ['genai', 'qontak_action', 'GEN_AI'],
  KILL_SWITCH_DRY_RUN: ['perhaps'],
  KILL_SWITCH_MAX_PER_24H: ['-1', '101'],
  ALERT_LATENESS_ALLOWANCE_MINUTES: ['-1', '10081', 'six hours'],
  ALERT_SLO_BURN_RATE: ['maybe', '2'],
  ACTIONPULSE_TIME_SCALE: ['0', 'fast'],
  HTTP_PORT: ['70000', 'http'],
  ADMIN_TOKEN: ['short'],
  INGEST_HMAC_SECRETS: ['just-a-secret', 'svc='],
  INGEST_BEARER_TOKENS: ['svc-a token'],
  SPOOL_FSYNC: ['sometimes'],
  SPOOL_MAX_BYTES: ['10'],
  EMITTER_MEMORY_QUEUE_EVENTS: ['5'],
  SPOOL_SEGMENT_BYTES: ['1'],
  SPOOL_FSYNC_INTERVAL_MS: ['0'],
  PRODUCER_COMPRESSION: ['brotli'],
  PRODUCER_LINGER_MS: ['-1'],
  PRODUCER_BATCH_MAX_EVENTS: ['0'],
  PRODUCER_BATCH_MAX_BYTES: ['12'],
  PRODUCER_SPILL_AFTER_MS: ['1'],
  PRODUCER_SHUTDOWN_DEADLINE_MS: ['soon'],
  INGEST_MAX_EVENTS: ['0'],
  INGEST_MAX_BODY_BYTES: ['10'],
  INGEST_RATE_EVENTS_PER_SECOND: ['0'],
  INGEST_RATE_BURST_EVENTS: ['many'],
  ACTIONPULSE_URL: ['127.0.0.1:8080', 'ftp://host'],
  ACTIONPULSE_CLI_TIMEOUT_MS: ['0'],
};

/** Free-form settings: any non-empty string is a valid value (an empty one means "unset"). */
const FREE_FORM = [
  'OTEL_SERVICE_NAME',
  'ACTIONPULSE_DATA_DIR',
  'KAFKA_CLIENT_ID',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'CLICKHOUSE_USER',
  'CLICKHOUSE_PASSWORD',
  'QONTAK_CRM_API_KEY',
  'MIXPANEL_PROJECT_ID',
  'MIXPANEL_PROJECT_TOKEN',
  'MIXPANEL_API_SECRET',
  'MIXPANEL_SERVICE_ACCOUNT_USER',
  'MIXPANEL_SERVICE_ACCOUNT_SECRET',
  'MIXPANEL_CONSUMER_GROUP',
  'CLICKHOUSE_CONSUMER_GROUP',
  'ALERTS_CONSUMER_GROUP',
  'ALERT_RULES_FILE',
  'PAGERDUTY_ROUTING_KEY',
  'ALERT_WEBHOOK_SECRET',
  'HTTP_HOST',
  'SPOOL_DIR',
];

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'actionpulse-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function configFile(content: unknown): string {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('loadConfig', () => {
  it('loads the defaults from an empty environment', () => {
    const config = loadConfig({});
    expect(config).toEqual(configSchema.parse({}));
    expect(config.dataDir).toBe('.data');
    expect(config.kafka).toMatchObject({ eventsTopic: 'actionpulse.events.v1', deadLetterTopic: 'actionpulse.events.dlq.v1', partitions: 6 });
    expect(config.kafka.brokers).toBeUndefined();
    expect(config.clickhouse.url).toBeUndefined();
    expect(config.clickhouse.database).toBe('actionpulse');
    expect(config.database.url).toBeUndefined();
    expect(config.http.port).toBe(8080);
    expect(config.spool.fsync).toBe('interval');
  });

  it('reads and converts environment variables', () => {
    const config = loadConfig({
      KAFKA_BROKERS: 'k1:9092, k2:9093,[::1]:9094',
      KAFKA_PARTITIONS: '12',
      KAFKA_SSL: 'true',
      KILL_SWITCH_DRY_RUN: 'off',
      CLICKHOUSE_URL: 'https://ch.example.com:8443',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      CRM_TOKEN_ENCRYPTION_KEY: 'ab'.repeat(32),
      ACTIONPULSE_TIME_SCALE: '60.5',
      INGEST_HMAC_SECRETS: 'builder-api=s3cr3t==, crm-webhooks=abc',
      HTTP_PORT: '0',
      LOG_LEVEL: '',
    });
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9093', '[::1]:9094']);
    expect(config.kafka.partitions).toBe(12);
    expect(config.kafka.ssl).toBe(true);
    expect(config.alerts.killSwitchDryRun).toBe(false);
    expect(config.alerts.timeScale).toBe(60.5);
    expect(config.clickhouse.url).toBe('https://ch.example.com:8443');
    expect(config.http.port).toBe(0);
    expect(config.logLevel).toBe('info'); // empty means unset
  });

  it('EVENT_FUTURE_ALLOWANCE_SECONDS: 300 by default, 0 and 3600 accepted', () => {
    expect(loadConfig({}).events.futureAllowanceSeconds).toBe(300);
    expect(loadConfig({ EVENT_FUTURE_ALLOWANCE_SECONDS: '0' }).events.futureAllowanceSeconds).toBe(0);
    expect(loadConfig({ EVENT_FUTURE_ALLOWANCE_SECONDS: '3600' }).events.futureAllowanceSeconds).toBe(3600);
  });

  it('every env var is either tested with a wrong value here or free-form', () => {
    // A new setting must be added to WRONG (or, if any string is valid, to FREE_FORM).
    const covered = new Set([...Object.keys(WRONG), ...FREE_FORM]);
    expect(Object.keys(ENV_SETTINGS).filter((name) => !covered.has(name))).toEqual([]);
  });

  // Only settings that exist: others are added in parallel and their entries here may run ahead.
  for (const [name, values] of Object.entries(WRONG).filter(([name]) => name in ENV_SETTINGS)) {
    for (const value of values) {
      it(`${name}=${value.length > 40 ? `${value.slice(0, 20)}…` : value} fails naming ${name}`, () => {
        const err = configError(() => loadConfig({ [name]: value }));
        expect(err.message).toContain(name);
        expect(err.message).toContain(ENV_SETTINGS[name]);
        expect(err.problems).toHaveLength(1);
        expect(err.problems[0].setting).toBe(`${name} (${ENV_SETTINGS[name]})`);
        expect(err.problems[0].message.length).toBeGreaterThan(3);
      });
    }
  }

  it('says what is expected', () => {
    expect(configError(() => loadConfig({ CLICKHOUSE_URL: 'ftp://x' })).message).toMatch(/http:\/\/ or https:\/\//);
    expect(configError(() => loadConfig({ CRM_TOKEN_ENCRYPTION_KEY: 'short' })).message).toMatch(/64 hex/);
    expect(configError(() => loadConfig({ KAFKA_BROKERS: 'localhost' })).message).toMatch(/host:port/);
    expect(configError(() => loadConfig({ HTTP_PORT: '70000' })).message).toMatch(/65535/);
  });

  it('reports every invalid setting at once', () => {
    const err = configError(() => loadConfig({ KAFKA_PARTITIONS: 'abc', HTTP_PORT: '70000', SPOOL_FSYNC: 'sometimes' }));
    expect(err.problems.map((p) => p.setting).sort()).toEqual([
      'HTTP_PORT (http.port)',
      'KAFKA_PARTITIONS (kafka.partitions)',
      'SPOOL_FSYNC (spool.fsync)',
    ]);
  });
});

describe('rules between settings, checked with the rest before anything starts', () => {
  const ok = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' };
  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['a SASL mechanism without a user name', { ...ok, KAFKA_SASL_USERNAME: '' }, 'KAFKA_SASL_USERNAME (kafka.saslUsername)', /required with KAFKA_SASL_MECHANISM/],
    ['a SASL mechanism without a password', { ...ok, KAFKA_SASL_PASSWORD: '' }, 'KAFKA_SASL_PASSWORD (kafka.saslPassword)', /required with KAFKA_SASL_MECHANISM/],
    ['SASL credentials without a mechanism', { KAFKA_SASL_USERNAME: 'u' }, 'KAFKA_SASL_MECHANISM (kafka.saslMechanism)', /required with KAFKA_SASL_USERNAME/],
    ['one port for the local broker and its controller', { KAFKA_LOCAL_PORT: '20000', KAFKA_LOCAL_CONTROLLER_PORT: '20000' }, 'KAFKA_LOCAL_CONTROLLER_PORT (kafka.localControllerPort)', /must differ/],
    ['a Mixpanel service account without its secret', { MIXPANEL_SERVICE_ACCOUNT_USER: 'sa', MIXPANEL_PROJECT_ID: '1' }, 'MIXPANEL_SERVICE_ACCOUNT_SECRET (mixpanel.serviceAccountSecret)', /required with/],
    ['a Mixpanel service account secret without its user', { MIXPANEL_SERVICE_ACCOUNT_SECRET: 's', MIXPANEL_PROJECT_ID: '1' }, 'MIXPANEL_SERVICE_ACCOUNT_USER (mixpanel.serviceAccountUser)', /required with/],
    ['a Mixpanel service account without a project', { MIXPANEL_SERVICE_ACCOUNT_USER: 'sa', MIXPANEL_SERVICE_ACCOUNT_SECRET: 's' }, 'MIXPANEL_PROJECT_ID (mixpanel.projectId)', /service account/],
    ['a Mixpanel first backoff above the longest', { MIXPANEL_RETRY_INITIAL_MS: '90000', MIXPANEL_RETRY_MAX_MS: '60000' }, 'MIXPANEL_RETRY_INITIAL_MS (mixpanel.retryInitialMs)', /MIXPANEL_RETRY_MAX_MS/],
    ['a CRM first backoff above the longest', { CRM_RETRY_BASE_DELAY_MS: '9000' }, 'CRM_RETRY_BASE_DELAY_MS (crm.retryBaseDelayMs)', /CRM_RETRY_MAX_DELAY_MS/],
    ['an alert webhook without its signing secret', { ALERT_WEBHOOK_URL: 'https://hooks.example.com/x' }, 'ALERT_WEBHOOK_SECRET (alerts.webhookSecret)', /required with ALERT_WEBHOOK_URL/],
    ['an ingest burst smaller than the largest batch', { INGEST_MAX_EVENTS: '500', INGEST_RATE_BURST_EVENTS: '100' }, 'INGEST_RATE_BURST_EVENTS (http.ingestRateBurstEvents)', /INGEST_MAX_EVENTS/],
  ];
  for (const [what, env, setting, message] of cases) {
    it(`${what} fails naming ${setting.split(' ')[0]}`, () => {
      const err = configError(() => loadConfig(env));
      expect(err.problems).toEqual([{ setting, message: expect.stringMatching(message), example: expect.stringMatching(new RegExp(`^${setting.split(' ')[0]}=.`)) }]);
      expect(err.message).toContain(setting);
    });
  }

  it('accepts each rule when it is met', () => {
    expect(loadConfig(ok).kafka.saslMechanism).toBe('scram-sha-512');
    expect(loadConfig({ MIXPANEL_SERVICE_ACCOUNT_USER: 'sa', MIXPANEL_SERVICE_ACCOUNT_SECRET: 's', MIXPANEL_PROJECT_ID: '1' }).mixpanel.projectId).toBe('1');
    expect(loadConfig({ ALERT_WEBHOOK_URL: 'https://hooks.example.com/x', ALERT_WEBHOOK_SECRET: 'k' }).alerts.webhookSecret).toBe('k');
    expect(loadConfig({ INGEST_MAX_EVENTS: '100', INGEST_RATE_BURST_EVENTS: '100' }).http.ingestRateBurstEvents).toBe(100);
  });
});

describe('loadConfig with a config file (ACTIONPULSE_CONFIG)', () => {
  it('reads settings from the file, and environment variables override it', () => {
    const path = configFile({ kafka: { partitions: 3, eventsTopic: 'events.from.file' }, http: { port: 9001 }, logLevel: 'warn' });
    const fromFile = loadConfig({ ACTIONPULSE_CONFIG: path });
    expect(fromFile.kafka.partitions).toBe(3);
    expect(fromFile.kafka.eventsTopic).toBe('events.from.file');
    expect(fromFile.kafka.clientId).toBe('actionpulse'); // defaults still fill the rest of the section
    expect(fromFile.http.port).toBe(9001);
    expect(fromFile.logLevel).toBe('warn');

    const overridden = loadConfig({ ACTIONPULSE_CONFIG: path, KAFKA_PARTITIONS: '24', LOG_LEVEL: 'debug' });
    expect(overridden.kafka.partitions).toBe(24);
    expect(overridden.kafka.eventsTopic).toBe('events.from.file');
    expect(overridden.logLevel).toBe('debug');
  });

  it('rejects unknown keys in the file, naming each one', () => {
    const path = configFile({ kafka: { partitionz: 3 }, verbose: true });
    const err = configError(() => loadConfig({ ACTIONPULSE_CONFIG: path }));
    expect(err.problems.map((p) => p.setting).sort()).toEqual(['kafka.partitionz', 'verbose']);
    expect(err.message).toContain(path);
  });

  it('rejects wrong types in the file that env parsing would have converted', () => {
    const err = configError(() => loadConfig({ ACTIONPULSE_CONFIG: configFile({ http: { port: true }, kafka: { ssl: 'sometimes' } }) }));
    expect(err.problems.map((p) => p.setting).sort()).toEqual(['HTTP_PORT (http.port)', 'KAFKA_SSL (kafka.ssl)']);
  });

  it('a missing, unparsable or non-object file fails naming ACTIONPULSE_CONFIG', () => {
    for (const path of [join(dir, 'missing.json'), configFile('{ not json'), configFile('null'), configFile('[1, 2]')]) {
      const err = configError(() => loadConfig({ ACTIONPULSE_CONFIG: path }));
      expect(err.message).toContain('ACTIONPULSE_CONFIG');
      expect(err.problems[0].setting).toBe('ACTIONPULSE_CONFIG');
    }
  });

  it('accepts a UTF-8 byte-order mark before the JSON; refuses invalid UTF-8 and deep nesting naming ACTIONPULSE_CONFIG', () => {
    const bom = configFile('\ufeff{"http":{"port":9002}}');
    expect(loadConfig({ ACTIONPULSE_CONFIG: bom }).http.port).toBe(9002);
    const latin1 = join(dir, 'latin1.json');
    writeFileSync(latin1, Buffer.concat([Buffer.from('{"kafka":{"clientId":"caf'), Buffer.from([0xe9]), Buffer.from('"}}')]));
    const deep = configFile(`{"kafka":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    for (const [path, why] of [[latin1, /not valid UTF-8/], [deep, /nested deeper than/]] as const) {
      const err = configError(() => loadConfig({ ACTIONPULSE_CONFIG: path }));
      expect(err.problems).toEqual([{ setting: 'ACTIONPULSE_CONFIG', message: expect.stringMatching(why), example: expect.stringMatching(/^ACTIONPULSE_CONFIG=/) }]);
    }
  });
});

describe('Kafka replication settings', () => {
  it('refuses a min.insync.replicas above the replication factor, naming KAFKA_MIN_INSYNC_REPLICAS', () => {
    const err = configError(() => loadConfig({ KAFKA_BROKERS: 'k1:9092', KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_INSYNC_REPLICAS: '3' }));
    expect(err.problems.map((p) => p.setting)).toEqual(['KAFKA_MIN_INSYNC_REPLICAS (kafka.minInsyncReplicas)']);
  });

  it('refuses more copies than the local Kafka has brokers, naming KAFKA_REPLICATION_FACTOR', () => {
    const err = configError(() => loadConfig({ KAFKA_REPLICATION_FACTOR: '3' }));
    expect(err.problems.map((p) => p.setting)).toEqual(['KAFKA_REPLICATION_FACTOR (kafka.replicationFactor)']);
    expect(loadConfig({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_LOCAL_BROKERS: '3' }).kafka.replicationFactor).toBe(3);
  });
});

describe('ClickHouse topology settings', () => {
  it('a cluster or Cloud needs a server: without CLICKHOUSE_URL the setting is named', () => {
    expect(configError(() => loadConfig({ CLICKHOUSE_CLUSTER: 'analytics' })).problems.map((p) => p.setting)).toEqual(['CLICKHOUSE_CLUSTER (clickhouse.cluster)']);
    expect(configError(() => loadConfig({ CLICKHOUSE_CLOUD: 'true' })).problems.map((p) => p.setting)).toEqual(['CLICKHOUSE_CLOUD (clickhouse.cloud)']);
  });

  it('Cloud has no cluster name: both set is refused; a macro is a valid cluster name', () => {
    const url = 'https://ch.example:8443';
    expect(configError(() => loadConfig({ CLICKHOUSE_URL: url, CLICKHOUSE_CLUSTER: 'analytics', CLICKHOUSE_CLOUD: '1' })).problems.map((p) => p.setting)).toEqual(['CLICKHOUSE_CLOUD (clickhouse.cloud)']);
    expect(loadConfig({ CLICKHOUSE_URL: url, CLICKHOUSE_CLUSTER: '{cluster}' }).clickhouse.cluster).toBe('{cluster}');
  });
});

/** Rules between settings, each broken on its own, with every setting the rule reads (to keep cases apart). */
const CROSS_CASES: { env: Record<string, string>; reported: string; reads: string[] }[] = [
  { env: { KAFKA_SASL_USERNAME: 'u' }, reported: 'KAFKA_SASL_MECHANISM', reads: ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] },
  { env: { KAFKA_LOCAL_PORT: '20000', KAFKA_LOCAL_CONTROLLER_PORT: '20000' }, reported: 'KAFKA_LOCAL_CONTROLLER_PORT', reads: ['KAFKA_LOCAL_PORT', 'KAFKA_LOCAL_CONTROLLER_PORT', 'KAFKA_LOCAL_BROKERS'] },
  { env: { KAFKA_MIN_INSYNC_REPLICAS: '2' }, reported: 'KAFKA_MIN_INSYNC_REPLICAS', reads: ['KAFKA_MIN_INSYNC_REPLICAS', 'KAFKA_REPLICATION_FACTOR', 'KAFKA_BROKERS', 'KAFKA_LOCAL_BROKERS'] },
  { env: { CLICKHOUSE_CLUSTER: 'analytics' }, reported: 'CLICKHOUSE_CLUSTER', reads: ['CLICKHOUSE_CLUSTER', 'CLICKHOUSE_CLOUD', 'CLICKHOUSE_URL'] },
  { env: { MIXPANEL_SERVICE_ACCOUNT_USER: 'sa', MIXPANEL_PROJECT_ID: '1' }, reported: 'MIXPANEL_SERVICE_ACCOUNT_SECRET', reads: ['MIXPANEL_SERVICE_ACCOUNT_USER', 'MIXPANEL_SERVICE_ACCOUNT_SECRET', 'MIXPANEL_PROJECT_ID'] },
  { env: { MIXPANEL_RETRY_INITIAL_MS: '90000', MIXPANEL_RETRY_MAX_MS: '60000' }, reported: 'MIXPANEL_RETRY_INITIAL_MS', reads: ['MIXPANEL_RETRY_INITIAL_MS', 'MIXPANEL_RETRY_MAX_MS'] },
  { env: { CRM_RETRY_BASE_DELAY_MS: '9000' }, reported: 'CRM_RETRY_BASE_DELAY_MS', reads: ['CRM_RETRY_BASE_DELAY_MS', 'CRM_RETRY_MAX_DELAY_MS'] },
  { env: { ALERT_WEBHOOK_URL: 'https://hooks.example.com/x' }, reported: 'ALERT_WEBHOOK_SECRET', reads: ['ALERT_WEBHOOK_URL', 'ALERT_WEBHOOK_SECRET'] },
  { env: { INGEST_MAX_EVENTS: '500', INGEST_RATE_BURST_EVENTS: '100' }, reported: 'INGEST_RATE_BURST_EVENTS', reads: ['INGEST_MAX_EVENTS', 'INGEST_RATE_BURST_EVENTS'] },
];

const envName = (setting: string) => setting.split(' ')[0];

describe('every problem at once', () => {
  it('every setting has an example; each one that is a value (not a <placeholder>) is valid on its own', () => {
    expect(Object.keys(ENV_SETTINGS).filter((name) => !(name in EXAMPLES))).toEqual([]);
    for (const [name, value] of Object.entries(EXAMPLES)) {
      expect(name in ENV_SETTINGS, name).toBe(true);
      if (value.startsWith('<')) continue;
      // CLICKHOUSE_CLUSTER and _CLOUD need CLICKHOUSE_URL (a rule between settings), given with them here.
      const withServer = name.startsWith('CLICKHOUSE_CL') ? { CLICKHOUSE_URL: EXAMPLES.CLICKHOUSE_URL } : {};
      // KAFKA_REPLICATION_FACTOR and KAFKA_MIN_INSYNC_REPLICAS above 1 need brokers that can hold the copies.
      const withCluster = /REPLICATION|INSYNC/.test(name) ? { KAFKA_BROKERS: EXAMPLES.KAFKA_BROKERS, KAFKA_REPLICATION_FACTOR: '3' } : {};
      // A rule may ask for a companion (a SASL mechanism its credentials): only this setting must not be named.
      let named: string[] = [];
      try {
        loadConfig({ ...withServer, ...withCluster, [name]: value });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        named = err.problems.map((p) => envName(p.setting));
      }
      expect(named, `${name}=${value}`).not.toContain(name);
    }
  });

  it('several bad settings, a broken rule and the runtime’s missing secrets: one ConfigError, one line each, every name with why and an example', () => {
    const env = {
      KAFKA_PARTITIONS: 'abc',
      HTTP_PORT: '70000',
      LOG_LEVEL: 'verbose',
      DATABASE_URL: 'mysql://x',
      ALERT_WEBHOOK_URL: 'https://hooks.example.com/x',
    };
    const err = configError(() => loadConfig(env, {}, RUNTIME_REQUIREMENTS));
    const names = ['KAFKA_PARTITIONS', 'HTTP_PORT', 'LOG_LEVEL', 'DATABASE_URL', 'ALERT_WEBHOOK_SECRET', 'KAFKA_BROKERS', 'CRM_TOKEN_ENCRYPTION_KEY'];
    expect(err.problems.map((p) => envName(p.setting)).sort()).toEqual([...names].sort());
    const lines = err.message.split('\n');
    expect(lines[0]).toBe(`Invalid configuration (${names.length} problems):`);
    expect(lines).toHaveLength(names.length + 1);
    for (const name of names) {
      const line = lines.find((l) => l.startsWith(`  - ${name} (`));
      expect(line, name).toBeDefined();
      expect(line).toMatch(new RegExp(`^  - ${name} \\([a-zA-Z.]+\\): .{4,}; e\\.g\\. ${name}=.+$`));
    }
    expect(err.message).toMatch(/KAFKA_BROKERS \(kafka\.brokers\): required by the agent runtime/);
    expect(err.message).not.toMatch(/^\s+at /m);
  });

  it('a config file that cannot be read is reported together with the bad environment variables', () => {
    const err = configError(() => loadConfig({ ACTIONPULSE_CONFIG: join(dir, 'nowhere.json'), HTTP_PORT: 'x', KAFKA_SSL: 'sometimes' }));
    expect(err.problems.map((p) => envName(p.setting)).sort()).toEqual(['ACTIONPULSE_CONFIG', 'HTTP_PORT', 'KAFKA_SSL']);
    expect(err.problems.find((p) => p.setting === 'ACTIONPULSE_CONFIG')?.message).toMatch(/cannot read .*ENOENT/);
  });

  it('an unknown key in the config file names the closest known setting', () => {
    const err = configError(() => loadConfig({ ACTIONPULSE_CONFIG: configFile({ kafka: { partitionz: 3 } }) }));
    expect(err.problems).toEqual([{ setting: 'kafka.partitionz', message: expect.stringMatching(/unknown setting/), example: 'kafka.partitions (the closest known setting)' }]);
  });

  it('property: any set of bad settings and broken rules, with or without the runtime’s requirements, is reported exactly, once each', () => {
    const wrong = Object.entries(WRONG).filter(([name]) => name in ENV_SETTINGS);
    fc.assert(
      fc.property(
        fc.subarray(wrong.map(([name]) => name)),
        fc.array(fc.nat(), { minLength: wrong.length, maxLength: wrong.length }),
        fc.subarray(CROSS_CASES.map((_, i) => i)),
        fc.boolean(),
        (badNames, picks, crossPicks, runtime) => {
          const env: Record<string, string> = {};
          const expected = new Set<string>(badNames);
          badNames.forEach((name, i) => {
            const values = WRONG[name];
            env[name] = values[picks[i] % values.length];
          });
          const touched = new Set(badNames);
          for (const i of crossPicks) {
            const c = CROSS_CASES[i];
            if (c.reads.some((r) => touched.has(r))) continue; // the cases kept apart, so each is judged alone
            c.reads.forEach((r) => touched.add(r));
            Object.assign(env, c.env);
            expected.add(c.reported);
          }
          if (runtime) for (const name of ['KAFKA_BROKERS', 'CRM_TOKEN_ENCRYPTION_KEY']) expected.add(name);
          let problems: ConfigError['problems'] = [];
          try {
            loadConfig(env, {}, runtime ? RUNTIME_REQUIREMENTS : {});
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            problems = err.problems;
            for (const p of problems) expect(err.message).toContain(`${p.setting}: ${p.message}`);
          }
          expect(problems.map((p) => envName(p.setting)).sort()).toEqual([...expected].sort());
          for (const p of problems) expect(p.example).toMatch(new RegExp(`^${envName(p.setting)}=.`));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('packages a program needs, checked with the settings', () => {
  it('a package that is not installed is one line naming it and the install command; installed ones are not reported', () => {
    const err = configError(() =>
      loadConfig({ HTTP_PORT: 'x' }, {}, {
        packages: () => [
          { package: 'actionpulse-no-such-package', why: 'the test component' },
          { package: 'zod', why: 'validation' },
        ],
      }),
    );
    expect(err.problems).toEqual([
      expect.objectContaining({ setting: 'HTTP_PORT (http.port)' }),
      { setting: 'package actionpulse-no-such-package', message: 'not installed; the test component needs it', example: 'npm install actionpulse-no-such-package' },
    ]);
  });

  it('the install command carries the version range this package asks for', () => {
    expect(missingPackageProblem('pg', 'the registry database').example).toBe("npm install 'pg@^8.23.1'");
    expect(packageInstalled('chdb')).toBe(true);
    expect(packageInstalled('actionpulse-no-such-package')).toBe(false);
  });

  it('embedded ClickHouse needs chdb, a ClickHouse server does not; mixpanel only for the Mixpanel sink', () => {
    const local = loadConfig({});
    const server = loadConfig({ CLICKHOUSE_URL: 'https://ch.example:8443' });
    const names = (components: string[], c = local) => pipelinePackages(new Set(components), c).map((n) => n.package);
    expect(names(['clickhouse'])).toContain('chdb');
    expect(names(['clickhouse'], server)).not.toContain('chdb');
    expect(names(['alerts'])).not.toContain('chdb');
    expect(names(['mixpanel'])).toEqual(['mixpanel']);
    expect(names(['alerts'])).not.toContain('mixpanel');
  });

  it('missingPackage reads the package name from Node’s own errors, and ignores missing files of this package', async () => {
    const esm = await import('actionpulse-no-such-package' as string).catch((err: unknown) => err);
    expect(missingPackage(esm)).toBe('actionpulse-no-such-package');
    const scoped = await import('@actionpulse-none/pkg/sub' as string).catch((err: unknown) => err);
    expect(missingPackage(scoped)).toBe('@actionpulse-none/pkg');
    const own = await import('./no-such-file.ts' as string).catch((err: unknown) => err);
    expect(missingPackage(own)).toBeUndefined();
    expect(missingPackage(new Error('Cannot find package'))).toBeUndefined();
  });
});
