import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import { decodeEvent, encodeEvent, type ActionEvent } from '../../../src/events/index.ts';
import { COMPRESSION, kafkajsProducerSettings } from '../../../src/platform/kafka/kafkajs-producer-settings.ts';
import { recordBytes } from '../../../src/producers/record-batch.ts';
import { registerCodecs } from '../../../src/platform/kafka/codecs.ts';
import { linearGrouping, partitionAcknowledgedSends } from '../../../src/platform/kafka/kafkajs.ts';
import { generateWorkload } from '../../../src/workload/workload-generator.ts';
import { freshTopics, readTopic, testKafka } from '../../helpers/kafka.ts';

/**
 * Every codec Kafka defines, produced with the emitter's producer settings (through our registered codecs)
 * at every batch size the emitter builds, and consumed back from the real broker. The broker decompresses
 * each batch to validate it, so an accepted `send` proves it reads our frames; the consumer proves we read
 * the broker's copy back byte for byte.
 */
const CODECS = Object.keys(COMPRESSION) as (keyof typeof COMPRESSION)[];
/** Which implementation writes and reads each codec here (codecs.ts: the native one where it loads); gzip and none are kafkajs' own. */
const implementations: Record<string, string> = { none: 'uncompressed', gzip: 'node:zlib', ...(await registerCodecs()) };

/** The emitter caps a batch by record bytes (`PRODUCER_BATCH_MAX_BYTES`): default 1 MiB, at most 8 MiB (config.ts). */
const DEFAULT_BATCH_BYTES = 1024 * 1024;
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
const SIZES = [
  ['one event', 1],
  ['just over one 64 KB LZ4 block', 64 * 1024 + 1],
  ['the default batch cap', DEFAULT_BATCH_BYTES],
  ['the largest batch cap', MAX_BATCH_BYTES],
] as const;

const events: ActionEvent[] = generateWorkload({ seed: 7, endMs: Date.UTC(2026, 0, 1), hours: 24, organizations: 6, agentsPerOrg: 5, invocations: 14_000 }).events;
const wire = events.map(encodeEvent);

/** Consecutive events whose records add up to at most `bytes` (at least one), as the emitter takes them. */
function batchOf(start: number, bytes: number): Message[] {
  const out: Message[] = [];
  let total = 0;
  for (let i = start; i < wire.length; i++) {
    const size = recordBytes(wire[i]);
    if (out.length > 0 && total + size > bytes) break;
    out.push(wire[i]);
    total += size;
  }
  return out;
}

describe('compressed batches of every size the emitter builds, produced by kafkajs and consumed from the real broker', () => {
  it('has enough events to fill the largest batch, and kafkajs groups them by partition in linear time', () => {
    expect(batchOf(0, MAX_BATCH_BYTES).length).toBeLessThan(wire.length);
    expect(linearGrouping).toBe(true);
  });

  it("kafkajs' producer is the one that acknowledges a send per partition (a leader moving mid-send cannot drop messages)", () => {
    expect(partitionAcknowledgedSends).toBe(true);
  });

  for (const codec of CODECS) {
    it(`${codec} (${implementations[codec]}): the broker accepts every batch and every message comes back equal`, { timeout: 180_000 }, async () => {
      const kafka = await testKafka();
      const settings = kafkajsProducerSettings({ compression: codec });
      const producer = kafka.producer(settings.config);
      await producer.connect();
      try {
        const { events: topic } = await freshTopics(kafka, 1);
        const expected: Message[] = [];
        for (const [name, bytes] of SIZES) {
          const batch = batchOf(0, bytes);
          await producer.send({ topic, ...settings.send, messages: batch }).catch((err: Error) => {
            throw new Error(`${codec}, ${name} (${batch.length} events): ${err.message}`);
          });
          expected.push(...batch);
        }
        // Random bytes do not compress: LZ4 stores such blocks raw (the "uncompressed block" bit).
        const noise: Message = { key: 'noise', value: randomBytes(150_000) };
        await producer.send({ topic, ...settings.send, messages: [noise] });

        const received = await readTopic(kafka, topic, expected.length + 1, 120_000);
        expect(received).toHaveLength(expected.length + 1);
        const mismatched = received
          .slice(0, expected.length)
          .filter((m, i) => !decodeEvent(m.value).ok || m.key?.toString() !== expected[i].key || Buffer.compare(m.value as Buffer, expected[i].value as Buffer) !== 0);
        expect(mismatched).toHaveLength(0);
        expect(received[expected.length].key?.toString()).toBe('noise');
        expect(Buffer.compare(received[expected.length].value as Buffer, noise.value as Buffer)).toBe(0);
      } finally {
        await producer.disconnect();
      }
    });
  }
});
