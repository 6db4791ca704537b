import { describe, expect, it } from 'vitest';
import { ConsumerRunner } from '../../../src/consumers/consumer-runner.ts';
import { DLQ_HEADERS } from '../../../src/events/index.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { CollectingSink } from '../../helpers/collecting-sink.ts';
import { HostileGenerator } from '../../helpers/hostile-payloads.ts';
import { freshTopics, readTopic, sharedProducer, uniqueName, waitFor } from '../../helpers/kafka.ts';

/**
 * The hostile-input generator of the HTTP fuzz test, this time as records on the events topic: the real
 * consumer runner must hand every valid one to the sink and dead-letter every other one with its reason and
 * its original bytes, and never stop. Reproduce a failure with FUZZ_SEED=<seed>.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const MESSAGES = Number(process.env.FUZZ_MESSAGES ?? 10_000);

const broker = sharedProducer();

describe('consumer runner under hostile records', () => {
  it(`${MESSAGES} generated records (seed ${SEED}): valid ones reach the sink, every other one is dead-lettered with its reason and bytes`, async () => {
    const { events: topic, dlq } = await freshTopics(broker.port, 1);
    const gen = new HostileGenerator(SEED, Date.now());
    const messages = Array.from({ length: MESSAGES }, () => gen.message());
    // One partition, sent in order: record i has offset i, which the dead-letter headers point back to.
    for (let i = 0; i < messages.length; i += 500) {
      await broker.send(topic, messages.slice(i, i + 500).map((m, j) => ({ key: `k${(i + j) % 7}`, value: m.bytes })));
    }
    const validIds = messages.flatMap((m) => (m.outcome.ok ? [m.outcome.event.event_id] : []));
    const invalid = messages.flatMap((m, offset) => (m.outcome.ok ? [] : [{ offset, ...m, reason: m.outcome.reason }]));
    expect(new Set(messages.map((m) => m.kind)).size).toBeGreaterThanOrEqual(15);

    const sink = new CollectingSink();
    const runner = new ConsumerRunner({ kafka: broker.port, sink, groupId: uniqueName('fuzz'), topic, deadLetterTopic: dlq, logger: silentLogger, fromBeginning: true });
    await runner.start();
    try {
      await waitFor(() => runner.stats.partitions.get(0)?.committedOffset === String(messages.length), { timeoutMs: 300_000, what: 'every record committed' });
    } finally {
      await runner.stop();
    }
    // Delivery is at least once (a redelivered batch is possible), so compare distinct ids.
    expect([...new Set(sink.events.map((e) => e.event_id))].sort()).toEqual([...new Set(validIds)].sort());

    const dead = await readTopic(broker.port, dlq, invalid.length, 300_000);
    const byOffset = new Map(dead.map((m) => [Number(m.headers?.[DLQ_HEADERS.offset]?.toString()), m]));
    const wrong: string[] = [];
    for (const m of invalid) {
      const letter = byOffset.get(m.offset);
      if (!letter) wrong.push(`#${m.offset} ${m.kind}: not dead-lettered`);
      else if (letter.headers?.[DLQ_HEADERS.reason]?.toString() !== m.reason) wrong.push(`#${m.offset} ${m.kind}: reason ${letter.headers?.[DLQ_HEADERS.reason]?.toString()}, expected ${m.reason}`);
      else if (!Buffer.from(letter.value ?? []).equals(m.bytes)) wrong.push(`#${m.offset} ${m.kind}: bytes changed`);
      else if (!letter.headers?.[DLQ_HEADERS.errors]) wrong.push(`#${m.offset} ${m.kind}: no error detail`);
    }
    expect(wrong.slice(0, 20), `seed ${SEED}: ${wrong.length} wrong dead letters`).toEqual([]);
    expect(byOffset.size).toBe(invalid.length);
  }, 1_800_000);
});
