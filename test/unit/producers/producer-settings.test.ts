import { CompressionTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { producerSettings } from '../../../src/producers/producer-settings.ts';

describe('producerSettings: one function for every producer', () => {
  it('idempotent with one request in flight, acks=all and the codec on each send', () => {
    const s = producerSettings({ compression: 'zstd' });
    expect(s.config).toEqual({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    expect(s.send).toEqual({ acks: -1, compression: CompressionTypes.ZSTD });
    expect(producerSettings({ retryForever: true }).config.retry?.retries).toBe(Number.MAX_SAFE_INTEGER);
    expect(producerSettings().send).toEqual({ acks: -1, compression: CompressionTypes.None });
  });
});
