import { CompressionTypes, type ProducerConfig, type ProducerRecord } from 'kafkajs';
import type { Config } from '../platform/config.ts';

export const COMPRESSION: Record<Config['producer']['compression'], CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

type Client = Config['kafka']['client'];
type Compression = Config['producer']['compression'];

/**
 * Idempotent (the broker drops a retried batch it already has) with one request in flight, as kafkajs
 * requires for idempotence. Retries are unlimited inside kafkajs — a limited count "may invalidate EoS"
 * (kafkajs' own warning) — so a send during an outage stays pending; the emitter's spill timer, not a
 * send error, is what moves traffic to the spool. `maxRetryTime` keeps the reconnect probe frequent.
 */
export function producerConfig(client: Client, compression: Compression): ProducerConfig {
  if (client === 'confluent') {
    // librdkafka's KafkaJS API: settings under `kafkaJS`, acks and codec per producer (send() refuses them);
    // librdkafka keeps order with idempotence and up to 5 requests in flight; retries is an int32 there.
    return {
      kafkaJS: { idempotent: true, maxInFlightRequests: 5, acks: -1, compression, allowAutoTopicCreation: false, retry: { retries: 2_147_483_647 } },
    } as unknown as ProducerConfig;
  }
  return {
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 },
  };
}

/** The per-send options: kafkajs takes acks and codec on each send, the librdkafka API must not get them. */
export function sendOptions(client: Client, compression: Compression): Pick<ProducerRecord, 'acks' | 'compression'> {
  return client === 'confluent' ? {} : { acks: -1, compression: COMPRESSION[compression] };
}
