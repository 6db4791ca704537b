import { describe, expect, it } from 'vitest';
import { encodeDeadLetter, encodeEvent, decodeEvent } from '../../../src/events/index.ts';
import { readDeadLetters, replayDeadLetters, rewindGroup } from '../../../src/app/dead-letters.ts';
import type { KafkaPort, OutgoingRecord } from '../../../src/platform/kafka/kafka-port.ts';
import { toRecord } from '../../../src/producers/record-batch.ts';
import { oneOfEach } from '../../helpers/events.ts';
import { freshTopics, readTopic, testPort, uniqueName } from '../../helpers/kafka.ts';

async function send(kafka: KafkaPort, topic: string, records: OutgoingRecord[]): Promise<void> {
  const producer = kafka.producer({ acks: 'all', idempotent: true, codec: 'none' });
  try {
    expect(await producer.send(topic, records)).toMatchObject({ ok: true });
  } finally {
    await producer.close();
  }
}

describe('dead-letter inspect and replay', () => {
  it('lists dead letters with their reasons and re-drives only those that pass the contract now', async () => {
    const kafka = await testPort();
    try {
      const { events, dlq } = await freshTopics(kafka, 2);
      const [good] = oneOfEach('org-dlq-replay');
      await send(kafka, dlq, [
        toRecord(encodeDeadLetter({ key: good.organization_id, value: JSON.stringify(good) }, { reason: 'mixpanel_rejected', source: 'consumer:mixpanel', detail: 'project over quota' })),
        toRecord(encodeDeadLetter({ key: 'x', value: '{broken' }, { reason: 'invalid_json', source: 'consumer:clickhouse' })),
      ]);

      const { records } = await readDeadLetters(kafka, dlq);
      expect(records.map((r) => [r.reason, r.source, r.valid])).toEqual([
        ['mixpanel_rejected', 'consumer:mixpanel', true],
        ['invalid_json', 'consumer:clickhouse', false],
      ]);

      const dry = await replayDeadLetters(kafka, { deadLetterTopic: dlq, eventsTopic: events, dryRun: true });
      expect(dry.replayed).toBe(0);
      const out = await replayDeadLetters(kafka, { deadLetterTopic: dlq, eventsTopic: events });
      expect(out.replayed).toBe(1);
      expect(out.stillInvalid).toEqual([expect.objectContaining({ offset: '1', reason: 'invalid_json' })]);
      const [replayed] = await readTopic(kafka, events, 1);
      const decoded = decodeEvent(replayed.value);
      expect(decoded.ok && decoded.event).toEqual(good);
    } finally {
      await kafka.close();
    }
  });

  it('rewinds a stopped consumer group to the first event at or after a time', async () => {
    const kafka = await testPort();
    try {
      const { events } = await freshTopics(kafka, 1);
      const base = Date.now() - 3 * 3600_000;
      const sample = oneOfEach('org-rewind').map((e, i) => ({ ...e, timestamp: base + i * 3600_000 / 2 }));
      await send(kafka, events, sample.map((e) => toRecord(encodeEvent(e))));
      const groupId = uniqueName('rewind');
      const partitions = await rewindGroup(kafka, { groupId, topic: events, fromMs: base + 3600_000 });
      // events at base+0h, +0.5h, +1h, ... → the first at or after +1h is offset 2
      expect(partitions).toEqual([{ partition: 0, offset: '2' }]);
      const admin = kafka.admin();
      const committed = await admin.committedOffsets(groupId, events).finally(() => admin.close());
      expect(committed).toEqual([{ partition: 0, offset: 2n }]);
    } finally {
      await kafka.close();
    }
  });
});
