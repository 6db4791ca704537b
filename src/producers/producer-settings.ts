import type { CompressionTypes as Codec, ProducerConfig, ProducerRecord } from 'kafkajs';
import { CompressionTypes } from '../platform/kafka/kafkajs.ts';
import type { Config } from '../platform/config.ts';
import { clientKindOf, type KafkaPort } from '../platform/kafka/kafka-client.ts';

export const COMPRESSION: Record<Config['producer']['compression'], Codec> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

type Compression = Config['producer']['compression'];

/** What every producer of ours is created with and sends with: the one place that knows each client's rules. */
export interface ProducerSettings {
  /** For `kafka.producer(...)`. */
  config: ProducerConfig;
  /** Spread into every `send(...)`. */
  send: Pick<ProducerRecord, 'acks' | 'compression'>;
}

export interface ProducerSettingsOptions {
  compression?: Compression;
  /**
   * Retry inside the client without limit (the emitter: a send during an outage stays pending and its spill
   * timer, not a send error, moves traffic to the spool). Otherwise the client's own limit applies and a send
   * that cannot be acknowledged fails, for callers that report it (dead-letter publisher, CLI).
   */
  retryForever?: boolean;
}

/**
 * Idempotent (the broker drops a retried batch it already has), acks from all in-sync replicas, no topic
 * auto-creation, for every producer — emitter, dead-letter publisher, CLI — on whichever client the port is.
 * kafkajs requires one request in flight for idempotence and takes acks and codec on each send; librdkafka's
 * KafkaJS API wants its settings under `kafkaJS`, acks and codec per producer (its send() refuses them), and
 * keeps order with idempotence and up to 5 requests in flight; its retries are an int32.
 */
export function producerSettings(kafka: KafkaPort, o: ProducerSettingsOptions = {}): ProducerSettings {
  return producerSettingsFor(clientKindOf(kafka), o);
}

export function producerSettingsFor(client: Config['kafka']['client'], o: ProducerSettingsOptions = {}): ProducerSettings {
  const compression = o.compression ?? 'none';
  if (client === 'confluent') {
    const kafkaJS: Record<string, unknown> = { idempotent: true, maxInFlightRequests: 5, acks: -1, compression, allowAutoTopicCreation: false };
    if (o.retryForever) kafkaJS.retry = { retries: 2_147_483_647 };
    return { config: { kafkaJS } as unknown as ProducerConfig, send: {} };
  }
  return {
    config: {
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // kafkajs warns a limited count "may invalidate EoS"; maxRetryTime keeps the reconnect probe frequent.
      ...(o.retryForever ? { retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 } } : {}),
    },
    send: { acks: -1, compression: COMPRESSION[compression] },
  };
}
