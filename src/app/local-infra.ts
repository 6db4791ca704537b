import type { Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import { createKafkaClient, kafkaOptionsFromConfig, type KafkaPort } from '../platform/kafka/kafka-client.ts';
import { startLocalBroker } from '../platform/kafka/local-broker.ts';
import { ensureTopics, pipelineTopics } from '../platform/kafka/topics.ts';

export interface KafkaReady {
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
  if (!brokers) {
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
  const kafka = await createKafkaClient(kafkaOptionsFromConfig(config, brokers, logger));
  const createdTopics = await ensureTopics(kafka, pipelineTopics(config.kafka));
  if (createdTopics.length) logger.info({ topics: createdTopics }, 'created topics');
  return { kafka, brokers, local, createdTopics };
}
