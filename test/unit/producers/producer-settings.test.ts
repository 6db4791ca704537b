import { CompressionTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkajsProducerSettings } from '../../../src/platform/kafka/kafkajs-producer-settings.ts';
import { producerSettings } from '../../../src/producers/producer-settings.ts';

describe('producerSettings: one function for every producer on the Kafka port', () => {
  it('acks=all, idempotent, the codec by name, retrying forever only when asked', () => {
    expect(producerSettings({ compression: 'zstd' })).toEqual({ acks: 'all', idempotent: true, codec: 'zstd', retryForever: false });
    expect(producerSettings({ retryForever: true })).toEqual({ acks: 'all', idempotent: true, codec: 'none', retryForever: true });
    expect(producerSettings()).toEqual({ acks: 'all', idempotent: true, codec: 'none', retryForever: false });
  });
});

describe('kafkajsProducerSettings: the producers still on kafkajs', () => {
  it('idempotent with one request in flight, acks=all and the codec on each send', () => {
    const s = kafkajsProducerSettings({ compression: 'zstd' });
    expect(s.config).toEqual({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    expect(s.send).toEqual({ acks: -1, compression: CompressionTypes.ZSTD });
    expect(kafkajsProducerSettings({ retryForever: true }).config.retry?.retries).toBe(Number.MAX_SAFE_INTEGER);
    expect(kafkajsProducerSettings().send).toEqual({ acks: -1, compression: CompressionTypes.None });
  });
});
