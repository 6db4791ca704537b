import type { ClickHouseClient } from '@clickhouse/client';
import type { KafkaPort } from '../../platform/kafka/kafka-port.ts';
import type { Logger } from '../../platform/logger.ts';
import { ConsumerRunner } from '../consumer-runner.ts';
import type { BackoffPolicy } from '../../platform/retry.ts';
import { ClickhouseSink } from './clickhouse-sink.ts';
import { consumerLag } from './consumer-lag.ts';
import { runMigrations } from './migrations.ts';
import { sealClosedHours } from './seal-hours.ts';
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
  retry?: BackoffPolicy;
  /** How often closed hours are sealed (seal-hours.ts; default 60 s; 0 = never, e.g. a second consumer). */
  sealEveryMs?: number;
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
    retry: o.retry,
  });
  await runner.start();
  const sealer = startSealer(o);
  return {
    runner,
    lag: () => consumerLag(o.kafka, groupId, o.topic),
    async stop() {
      await sealer.stop();
      await runner.stop();
    },
  };
}

/**
 * Seals closed hours in the background, one call at a time: a tick that finds the previous call still running
 * is skipped rather than queued behind it. Dashboards stay exact without it (unsealed hours are read from the
 * exact minute states), only slower; so a failed call is logged and retried next time.
 */
function startSealer(o: ClickhouseConsumerOptions): { stop(): Promise<void> } {
  const every = o.sealEveryMs ?? 60_000;
  if (every <= 0) return { stop: async () => {} };
  let running: Promise<void> | undefined;
  const seal = async () => {
    try {
      const sealed = await sealClosedHours(o.clickhouse, { database: o.database, topology: o.topology });
      if (sealed) o.logger.debug({ sealed }, 'clickhouse hours sealed');
    } catch (err) {
      o.logger.warn({ err }, 'clickhouse hour sealing failed; retried at the next interval');
    } finally {
      running = undefined;
    }
  };
  const timer = setInterval(() => {
    running ??= seal();
  }, every);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
