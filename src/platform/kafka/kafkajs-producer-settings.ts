import type { CompressionTypes as Codec, ProducerConfig, ProducerRecord } from 'kafkajs';
import { CompressionTypes } from './kafkajs.ts';
import type { Config } from '../config.ts';

export const COMPRESSION: Record<Config['producer']['compression'], Codec> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

type Compression = Config['producer']['compression'];

/** What a kafkajs producer of ours is created with and sends with. */
export interface KafkajsProducerSettings {
  /** For `kafka.producer(...)`. */
  config: ProducerConfig;
  /** Spread into every `send(...)`. */
  send: Pick<ProducerRecord, 'acks' | 'compression'>;
}

export interface ProducerSettingsOptions {
  compression?: Compression;
  /**
   * Retry inside the client without limit (a send during an outage stays pending). Otherwise the client's own
   * limit applies and a send that cannot be acknowledged fails, for callers that report it (dead-letter
   * replay, CLI).
   */
  retryForever?: boolean;
}

/**
 * For the producers still on kafkajs (dead-letter replay, smoke CLI) until they move to the
 * Kafka port, whose settings (src/producers/producer-settings.ts) the emitter uses; this file goes with kafkajs.
 * Idempotent (the broker drops a retried batch it already has), acks from all in-sync replicas, no topic
 * auto-creation. kafkajs allows one request in flight per broker with idempotence (it holds a lock per broker
 * around each produce request and numbers a batch's records when it builds the request) and takes acks and codec
 * on each send.
 */
export function kafkajsProducerSettings(o: ProducerSettingsOptions = {}): KafkajsProducerSettings {
  const compression = o.compression ?? 'none';
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
