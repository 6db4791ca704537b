import { ConfigError, type Config } from '../../platform/config.ts';
import type { KafkaPort } from '../../platform/kafka/kafka-port.ts';
import type { Logger } from '../../platform/logger.ts';
import { ConsumerRunner } from '../consumer-runner.ts';
import type { BackoffPolicy } from '../../platform/retry.ts';
import { GroupProfileUpdater } from './group-profiles.ts';
import { MixpanelImportClient, type MixpanelAuth } from './import-client.ts';
import { MixpanelSink } from './mixpanel-sink.ts';

/**
 * Wires the Mixpanel consumer: its own consumer group (a Mixpanel outage never slows the ClickHouse
 * consumer), the /import sink, group profiles, and Mixpanel's retry advice as the runner's policy.
 */
export type MixpanelSettings = Config['mixpanel'];

export interface MixpanelConsumerDeps {
  kafka: KafkaPort;
  logger: Logger;
  topic: string;
  deadLetterTopic: string;
  /** Extra trusted CA (PEM) for the Mixpanel host. */
  ca?: string | Buffer;
  /** Overrides the backoff (tests use milliseconds instead of Mixpanel's seconds). */
  retry?: BackoffPolicy;
  fromBeginning?: boolean;
}

export function mixpanelAuth(s: MixpanelSettings): MixpanelAuth {
  if (s.serviceAccountUser && s.serviceAccountSecret) {
    if (!s.projectId) throw new ConfigError([{ setting: 'MIXPANEL_PROJECT_ID (mixpanel.projectId)', message: 'required with a service account', example: 'MIXPANEL_PROJECT_ID=3141592' }]);
    return { kind: 'service_account', username: s.serviceAccountUser, secret: s.serviceAccountSecret, projectId: s.projectId };
  }
  if (s.apiSecret) return { kind: 'project_secret', secret: s.apiSecret };
  throw new ConfigError([
    {
      setting: 'MIXPANEL_API_SECRET (mixpanel.apiSecret)',
      message: 'or a service account (MIXPANEL_SERVICE_ACCOUNT_USER + _SECRET + MIXPANEL_PROJECT_ID): required to send to Mixpanel /import',
      example: 'MIXPANEL_API_SECRET=<the project API secret>',
    },
  ]);
}

export function mixpanelBackoffPolicy(s: MixpanelSettings): BackoffPolicy {
  return { initialMs: s.retryInitialMs, maxMs: s.retryMaxMs, multiplier: 2 };
}

export function createMixpanelSink(s: MixpanelSettings, deps: { logger: Logger; ca?: string | Buffer }): MixpanelSink {
  const client = new MixpanelImportClient({
    apiHost: s.apiHost,
    auth: mixpanelAuth(s),
    timeoutMs: s.requestTimeoutMs,
    concurrency: s.concurrency,
    ca: deps.ca,
  });
  const groups = s.projectToken
    ? new GroupProfileUpdater({ projectToken: s.projectToken, apiHost: s.apiHost, intervalMs: s.groupProfileIntervalMs, logger: deps.logger })
    : undefined;
  if (!groups) deps.logger.warn('MIXPANEL_PROJECT_TOKEN unset: organization group profiles are not updated');
  return new MixpanelSink({ client, groups, logger: deps.logger, maxEvents: s.maxBatchEvents, maxBytes: s.maxBatchBytes, concurrency: s.concurrency });
}

export function createMixpanelConsumer(s: MixpanelSettings, deps: MixpanelConsumerDeps): ConsumerRunner {
  const sink = createMixpanelSink(s, deps);
  return new ConsumerRunner({
    kafka: deps.kafka,
    sink,
    groupId: s.consumerGroup,
    topic: deps.topic,
    deadLetterTopic: deps.deadLetterTopic,
    logger: deps.logger.child({ component: 'mixpanel-consumer' }),
    fromBeginning: deps.fromBeginning,
    // Ten full requests per write: enough to keep `concurrency` requests busy, small enough to redo.
    maxBatchEvents: s.maxBatchEvents * 10,
    // Mixpanel takes about 30k events/s per project, so a large fetch only sits in memory: 128 KiB of
    // gzip-compressed records per partition is still a few thousand events, and four partitions written at
    // once keep the client's requests busy.
    maxBytesPerPartition: 128 * 1024,
    // Under a steady stream the broker waits (at most the runner's 500 ms) for 64 KiB: fewer, fuller fetches, batches,
    // commits and import requests than one per handful of records.
    minBytes: 64 * 1024,
    partitionsConsumedConcurrently: 4,
    retry: deps.retry ?? mixpanelBackoffPolicy(s),
  });
}
