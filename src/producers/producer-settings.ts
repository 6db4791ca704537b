import type { CompressionTypes as Codec, ProducerConfig, ProducerRecord } from 'kafkajs';
import { CompressionTypes } from '../platform/kafka/kafkajs.ts';
import type { Config } from '../platform/config.ts';

export const COMPRESSION: Record<Config['producer']['compression'], Codec> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

type Compression = Config['producer']['compression'];

/** What every producer of ours is created with and sends with. */
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
 * auto-creation, for every producer — emitter, dead-letter publisher, CLI. kafkajs allows one request in
 * flight per broker with idempotence (it holds a lock per broker around each produce request and numbers a
 * batch's records when it builds the request) and takes acks and codec on each send.
 */
export function producerSettings(o: ProducerSettingsOptions = {}): ProducerSettings {
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
