import type { Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import { kafkaConnectionFromConfig } from '../platform/kafka/kafka-connection.ts';
import type { KafkaPort } from '../platform/kafka/kafka-port.ts';
import { startLocalBroker } from '../platform/kafka/local-broker.ts';
import { LocalCluster, localClusterPorts } from '../platform/kafka/local-cluster.ts';
import { ensureTopics, pipelineTopics } from '../platform/kafka/topics.ts';

export interface KafkaReady {
  /** The Kafka port on these brokers; the caller closes it. */
  kafka: KafkaPort;
  brokers: string[];
  /** Set when this process started (or reused) the local broker. */
  local?: { startMs: number; reused: boolean };
  createdTopics: string[];
}

/** Kafka for this run: the configured brokers, or the local broker started (or reused) on demand. */
export async function connectKafka(config: Config, logger: Logger): Promise<KafkaReady> {
  let brokers = config.kafka.brokers;
  let local: KafkaReady['local'];
  if (!brokers && config.kafka.localBrokers > 1) {
    const cluster = localCluster(config, logger);
    const started = await cluster.start();
    brokers = cluster.brokers;
    local = { startMs: started.startMs, reused: started.reused };
  } else if (!brokers) {
    const broker = await startLocalBroker({
      dataDir: config.dataDir,
      port: config.kafka.localPort,
      controllerPort: config.kafka.localControllerPort,
      heapMb: config.kafka.localHeapMb,
      logger,
    });
    brokers = broker.brokers;
    local = { startMs: broker.startMs, reused: broker.reused };
  }
  // Loaded here, not at the top: the client needs Node >= 22.22, and commands that never reach Kafka need not load it.
  const { createPlatformaticKafka } = await import('../platform/kafka/platformatic-adapter.ts');
  const kafka = createPlatformaticKafka(kafkaConnectionFromConfig(config, brokers));
  let createdTopics: string[];
  try {
    createdTopics = await ensureTopics(kafka, pipelineTopics(config.kafka));
  } catch (err) {
    await kafka.close();
    throw err;
  }
  if (createdTopics.length) logger.info({ topics: createdTopics }, 'created topics');
  return { kafka, brokers, local, createdTopics };
}

/**
 * The local multi-broker cluster (KAFKA_LOCAL_BROKERS brokers): ports KAFKA_LOCAL_PORT, +2, +4, …, its
 * controller on KAFKA_LOCAL_CONTROLLER_PORT.
 */
export function localCluster(config: Config, logger?: Logger, brokers = config.kafka.localBrokers): LocalCluster {
  return new LocalCluster({
    dataDir: config.dataDir,
    brokerPorts: localClusterPorts(config.kafka.localPort, brokers),
    controllerPort: config.kafka.localControllerPort,
    // Three JVMs on one machine: each broker gets half the single broker's heap (256 MB by default).
    heapMb: Math.max(128, Math.round(config.kafka.localHeapMb / 2)),
    logger,
  });
}
