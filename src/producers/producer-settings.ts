import { CompressionTypes, type ProducerConfig } from 'kafkajs';
import type { Config } from '../platform/config.ts';

export const COMPRESSION: Record<Config['producer']['compression'], CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/**
 * Idempotent (the broker drops a retried batch it already has) with one request in flight, as kafkajs
 * requires for idempotence. Retries are unlimited inside kafkajs — a limited count "may invalidate EoS"
 * (kafkajs' own warning) — so a send during an outage stays pending; the emitter's spill timer, not a
 * send error, is what moves traffic to the spool. `maxRetryTime` keeps the reconnect probe frequent.
 */
export function producerConfig(client: Config['kafka']['client'], compression: Config['producer']['compression']): ProducerConfig {
  const base: ProducerConfig = {
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 },
  };
  if (client === 'confluent') {
    // The librdkafka-backed KafkaJS API takes the same settings under `kafkaJS`, compression per producer.
    return { kafkaJS: { ...base, acks: -1, compression: COMPRESSION[compression], retry: undefined } } as unknown as ProducerConfig;
  }
  return base;
}
