import { CompressionTypes, Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { clientKindOf, createKafkaClient } from '../../../src/platform/kafka/kafka-client.ts';
import { producerSettings, producerSettingsFor } from '../../../src/producers/producer-settings.ts';

describe('producerSettings: one function for every producer', () => {
  it('kafkajs: idempotent with one request in flight, acks=all and the codec on each send', () => {
    const s = producerSettingsFor('kafkajs', { compression: 'zstd' });
    expect(s.config).toEqual({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    expect(s.send).toEqual({ acks: -1, compression: CompressionTypes.ZSTD });
    expect(producerSettingsFor('kafkajs', { retryForever: true }).config.retry?.retries).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('confluent: everything under kafkaJS, nothing per send (its send() refuses acks and compression)', () => {
    const s = producerSettingsFor('confluent', { compression: 'lz4', retryForever: true });
    expect(s.send).toEqual({});
    expect(s.config).toEqual({ kafkaJS: { idempotent: true, maxInFlightRequests: 5, acks: -1, compression: 'lz4', allowAutoTopicCreation: false, retry: { retries: 2_147_483_647 } } });
    expect(Object.keys(producerSettingsFor('confluent').config)).toEqual(['kafkaJS']);
  });

  it('follows the client the port was created as', async () => {
    const port = await createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'settings-test' });
    expect(clientKindOf(port)).toBe('kafkajs');
    expect(producerSettings(port, { compression: 'gzip' }).send).toEqual({ acks: -1, compression: CompressionTypes.GZIP });
    // A kafkajs instance made elsewhere is kafkajs too.
    expect(clientKindOf(new Kafka({ brokers: ['127.0.0.1:1'] }))).toBe('kafkajs');
  });
});
