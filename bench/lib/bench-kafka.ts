import { loadConfig, type Config } from '../../src/platform/config.ts';
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
