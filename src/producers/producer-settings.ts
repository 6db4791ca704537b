import type { Config } from '../platform/config.ts';
import type { ProducerSettings } from '../platform/kafka/kafka-port.ts';

export interface ProducerSettingsOptions {
  compression?: Config['producer']['compression'];
  /**
   * Retry inside the client without limit (the emitter: a send during an outage stays pending and its spill
   * timer, not a send error, moves traffic to the spool). Otherwise the client's own limit applies and a send
   * that cannot be acknowledged fails, for callers that report it.
   */
  retryForever?: boolean;
}

/**
 * What every producer on the Kafka port is made with: acks from all in-sync replicas and idempotent (the broker
 * drops a retried batch it already has). The port sends one batch at a time per producer and never creates a
 * topic by writing to it.
 */
export function producerSettings(o: ProducerSettingsOptions = {}): ProducerSettings {
  return { acks: 'all', idempotent: true, codec: o.compression ?? 'none', retryForever: o.retryForever ?? false };
}
