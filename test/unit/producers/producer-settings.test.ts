import { describe, expect, it } from 'vitest';
import { producerSettings } from '../../../src/producers/producer-settings.ts';

describe('producerSettings: one function for every producer on the Kafka port', () => {
  it('acks=all, idempotent, the codec by name, retrying forever only when asked', () => {
    expect(producerSettings({ compression: 'zstd' })).toEqual({ acks: 'all', idempotent: true, codec: 'zstd', retryForever: false });
    expect(producerSettings({ retryForever: true })).toEqual({ acks: 'all', idempotent: true, codec: 'none', retryForever: true });
    expect(producerSettings()).toEqual({ acks: 'all', idempotent: true, codec: 'none', retryForever: false });
  });
});
