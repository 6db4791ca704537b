import { loadConfig, type Config } from '../../src/platform/config.ts';
import type { Codec, KafkaPort, OutgoingRecord } from '../../src/platform/kafka/kafka-port.ts';
import { startLocalBroker } from '../../src/platform/kafka/local-broker.ts';

/** Brokers for a benchmark: KAFKA_BROKERS, or the project's local broker (started or reused). */
export async function benchBrokers(config: Config = loadConfig()): Promise<string[]> {
  if (config.kafka.brokers) return config.kafka.brokers;
  const broker = await startLocalBroker({
    dataDir: config.dataDir,
    port: config.kafka.localPort,
    controllerPort: config.kafka.localControllerPort,
    heapMb: config.kafka.localHeapMb,
  });
  return broker.brokers;
}

export function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Sends a bench's backlog through the Kafka port (acks=all, idempotent) and fails unless every record was acknowledged. */
export async function sendBacklog(port: KafkaPort, topic: string, records: readonly OutgoingRecord[], codec: Codec): Promise<void> {
  const producer = port.producer({ acks: 'all', idempotent: true, codec });
  try {
    const result = await producer.send(topic, records);
    if (!result.ok) throw new Error(`backlog to ${topic} failed: ${result.reason} (${result.detail})`);
  } finally {
    await producer.close();
  }
}
