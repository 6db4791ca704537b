import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CompressionTypes } from 'kafkajs';
import { decodeEvent, encodeEvent, type ActionEvent } from '../../../src/events/index.ts';
import { createRequire } from 'node:module';
import { lz4CompressFrame } from '../../../src/platform/kafka/codecs.ts';
import { generateWorkload } from '../../../src/workload/workload-generator.ts';
import { freshTopics, readTopic, sharedProducer } from '../../helpers/kafka.ts';

/**
 * Every codec Kafka defines, produced by kafkajs (through our registered codecs) and consumed back from
 * the real broker. The broker decompresses each batch to validate it, so an accepted `send` proves it
 * reads our frames; the consumer proves we read the broker's copy back byte for byte.
 */
const CODECS = [
  ['gzip', CompressionTypes.GZIP],
  ['snappy', CompressionTypes.Snappy],
  ['lz4', CompressionTypes.LZ4],
  ['zstd', CompressionTypes.ZSTD],
] as const;

const broker = sharedProducer();

// ~1,500 events ≈ 400 KB per batch: several 64 KB LZ4 blocks, so block independence is exercised.
const events: ActionEvent[] = generateWorkload({ seed: 7, endMs: Date.UTC(2026, 0, 1), hours: 24, organizations: 3, agentsPerOrg: 5, invocations: 700 }).events;
// Random bytes do not compress: LZ4 must store such blocks raw (the "uncompressed block" bit).
const noise = randomBytes(150_000);

describe('LZ4 frame', () => {
  it('declares independent blocks (what Kafka requires) and decodes back to the input', () => {
    const lz4 = createRequire(import.meta.url)('lz4js') as Parameters<typeof lz4CompressFrame>[0] & { decompress(b: Uint8Array): Uint8Array };
    const input = Buffer.concat([Buffer.from(JSON.stringify(events)), noise]);
    const frame = lz4CompressFrame(lz4, input);
    expect(frame.readUInt32LE(0)).toBe(0x184d2204);
    expect(frame[4] & 0x20).toBe(0x20); // FLG block-independence bit
    expect(frame.length).toBeLessThan(input.length);
    expect(Buffer.compare(Buffer.from(lz4.decompress(frame)), input)).toBe(0);
  });
});

describe('compressed batches produced by kafkajs and consumed from the real broker', () => {
  for (const [name, codec] of CODECS) {
    it(`${name}: the broker accepts the batch and every message comes back equal`, async () => {
      const { events: topic } = await freshTopics(broker.kafka, 1);
      await broker.producer.send({ topic, acks: -1, compression: codec, messages: [...events.map(encodeEvent), { key: 'noise', value: noise }] });
      const received = await readTopic(broker.kafka, topic, events.length + 1);
      expect(received).toHaveLength(events.length + 1);
      const decoded = received.slice(0, events.length).map((m) => {
        const r = decodeEvent(m.value);
        if (!r.ok) throw new Error(`invalid after ${name}: ${JSON.stringify(r.errors)}`);
        return r.event;
      });
      expect(decoded).toEqual(events);
      const last = received[events.length];
      expect(last.key?.toString()).toBe('noise');
      expect(Buffer.compare(last.value as Buffer, noise)).toBe(0);
    });
  }
});
