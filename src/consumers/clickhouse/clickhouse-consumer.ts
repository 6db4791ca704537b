import type { ClickHouseClient } from '@clickhouse/client';
import type { KafkaPort } from '../../platform/kafka/kafka-client.ts';
import type { Logger } from '../../platform/logger.ts';
import { ConsumerRunner } from '../consumer-runner.ts';
import type { BackoffPolicy } from '../../platform/retry.ts';
import { ClickhouseSink } from './clickhouse-sink.ts';
import { consumerLag } from './consumer-lag.ts';
import { runMigrations } from './migrations.ts';
import type { ClickhouseTopology } from './cluster-ddl.ts';

export const DEFAULT_CLICKHOUSE_GROUP = 'actionpulse-clickhouse';

export interface ClickhouseConsumerOptions {
  kafka: KafkaPort;
  clickhouse: ClickHouseClient;
  database: string;
  ttlDays: number;
  /** Single node (default), a cluster or ClickHouse Cloud (CLICKHOUSE_CLUSTER / CLICKHOUSE_CLOUD). */
  topology?: ClickhouseTopology;
  topic: string;
  deadLetterTopic: string;
  logger: Logger;
  groupId?: string;
  /**
   * Batch shape: ClickHouse wants few large inserts (10k–100k rows, ~1/s per table). The broker waits up
   * to `maxWaitTimeMs` to fill `minBytes`, so a quiet topic still flushes within that time.
   */
  maxBatchEvents?: number;
  maxBytesPerPartition?: number;
  maxWaitTimeMs?: number;
  minBytes?: number;
  insertTimeoutMs?: number;
  /** Partitions handled at once: one partition's insert runs in the engine while another's batch is decoded. */
  partitionsConsumedConcurrently?: number;
  /** See ConsumerRunnerOptions.pipelineWrites (on by default here). */
  pipelineWrites?: boolean;
  retry?: BackoffPolicy;
}

export interface ClickhouseConsumer {
  runner: ConsumerRunner;
  lag(): Promise<Map<number, number>>;
  stop(): Promise<void>;
}

/** Applies the migrations, then starts the consumer group that feeds `action_events`. */
export async function startClickhouseConsumer(o: ClickhouseConsumerOptions): Promise<ClickhouseConsumer> {
  const applied = await runMigrations(o.clickhouse, { database: o.database, ttlDays: o.ttlDays, topology: o.topology });
  if (applied.length) o.logger.info({ applied }, 'clickhouse migrations applied');
  const groupId = o.groupId ?? DEFAULT_CLICKHOUSE_GROUP;
  const sink = new ClickhouseSink({ client: o.clickhouse, database: o.database, logger: o.logger, insertTimeoutMs: o.insertTimeoutMs, topology: o.topology });
  const runner = new ConsumerRunner({
    kafka: o.kafka,
    sink,
    groupId,
    topic: o.topic,
    deadLetterTopic: o.deadLetterTopic,
    logger: o.logger,
    maxBatchEvents: o.maxBatchEvents ?? 100_000,
    maxBytesPerPartition: o.maxBytesPerPartition ?? 16 * 1024 * 1024,
    maxWaitTimeMs: o.maxWaitTimeMs ?? 1000,
    minBytes: o.minBytes ?? 256 * 1024,
    partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 1,
    // The engine inserts on its own threads: decoding the next batch meanwhile keeps both busy.
    pipelineWrites: o.pipelineWrites ?? true,
    retry: o.retry,
  });
  await runner.start();
  return {
    runner,
    lag: () => consumerLag(o.kafka, groupId, o.topic),
    stop: () => runner.stop(),
  };
}
