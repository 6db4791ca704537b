import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, DLQ_HEADERS, type ActionEvent } from '../../../src/events/index.ts';
import { ConsumerRunner } from '../../../src/consumers/consumer-runner.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { CollectingSink } from '../../helpers/collecting-sink.ts';
import { oneOfEach } from '../../helpers/events.ts';
import { freshTopics, readTopic, sharedProducer, uniqueName, waitFor } from '../../helpers/kafka.ts';

const broker = sharedProducer();

describe('Kafka wire format on the real broker', () => {
  it('round-trips each of the five events: produced, consumed, validated, equal', async () => {
    const { events: topic } = await freshTopics(broker.port);
    const sent = oneOfEach('org-rt');
    await broker.send(topic, sent.map(encodeEvent));
    const received = await readTopic(broker.port, topic, sent.length);
    expect(received).toHaveLength(5);
    const decoded = received.map((m) => {
      const r = decodeEvent(m.value);
      if (!r.ok) throw new Error(`invalid: ${JSON.stringify(r.errors)}`);
      expect(m.key?.toString()).toBe('org-rt');
      expect(m.headers?.schema_version?.toString()).toBe('1');
      expect(m.timestampMs).toBe(r.event.timestamp);
      return r.event;
    });
    expect(decoded).toEqual(sent);
    const refreshed = received.find((m) => m.headers?.event?.toString() === 'qontak_action_token_refreshed');
    // The event's own ids; not marked sampled, since the event does not say whether its span was.
    expect(refreshed?.headers?.traceparent?.toString()).toBe(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`);
  });

  it('consumer runner hands valid events to the sink and dead-letters invalid ones without stopping', async () => {
    const { events: topic, dlq } = await freshTopics(broker.port, 1);
    const valid = oneOfEach('org-dlq');
    const oversized = JSON.stringify({ ...valid[0], agent_id: 'x'.repeat(20_000) });
    const bad: { value: string; reason: string }[] = [
      { value: '{not json', reason: 'invalid_json' },
      { value: JSON.stringify({ ...valid[1], node_type: 'qontak_fax_send' }), reason: 'schema_invalid' },
      { value: JSON.stringify({ ...valid[3], reason: 'bad_luck' }), reason: 'schema_invalid' },
      { value: JSON.stringify({ ...valid[2], schema_version: 9 }), reason: 'unsupported_schema_version' },
      { value: oversized, reason: 'oversized' },
    ];
    const messages = [
      encodeEvent(valid[0]),
      ...bad.map((b) => ({ key: 'org-dlq', value: b.value })),
      ...valid.slice(1).map(encodeEvent),
    ];
    await broker.send(topic, messages, 'gzip');

    const sink = new CollectingSink();
    sink.script.push({ status: 'retry', error: new Error('transient') });
    const runner = new ConsumerRunner({
      kafka: broker.port,
      sink,
      groupId: uniqueName('g'),
      topic,
      deadLetterTopic: dlq,
      logger: silentLogger,
      retry: { initialMs: 10, maxMs: 50, multiplier: 2 },
    });
    await runner.start();
    try {
      await waitFor(() => sink.events.length >= 5, { what: 'five valid events in the sink' });
      const dead = await readTopic(broker.port, dlq, bad.length);
      expect(dead.map((m) => m.headers?.[DLQ_HEADERS.reason]?.toString())).toEqual(bad.map((b) => b.reason));
      expect(dead.map((m) => m.value?.toString())).toEqual(bad.map((b) => b.value));
      const unknownNode = dead[1];
      expect(JSON.parse(unknownNode.headers![DLQ_HEADERS.errors]!.toString())).toEqual([
        expect.objectContaining({ path: 'node_type' }),
      ]);
      expect(unknownNode.headers?.[DLQ_HEADERS.source]?.toString()).toBe('consumer:collecting');
      expect(unknownNode.headers?.[DLQ_HEADERS.offset]?.toString()).toBe('2');
      expect(sink.events.map((e: ActionEvent) => e.event_id)).toEqual(valid.map((e) => e.event_id));
      expect(runner.stats.retries).toBe(1);
      await waitFor(() => runner.stats.partitions.get(0)?.committedOffset === String(messages.length), { what: 'offsets committed' });
    } finally {
      await runner.stop();
    }
  });

  it('a sink that stores values gets each valid message\'s bytes, and the same events when it reads them', async () => {
    const { events: topic, dlq } = await freshTopics(broker.port, 1);
    const valid = oneOfEach('org-values');
    const messages = [encodeEvent(valid[0]), { key: 'org-values', value: '{not json' }, ...valid.slice(1).map(encodeEvent)];
    await broker.send(topic, messages, 'gzip');
    const sink = new CollectingSink(true);
    sink.script.push({ status: 'reject', error: new Error('partial'), events: [{ index: 2, reason: 'sink_rejected', detail: 'refused' }] });
    const runner = new ConsumerRunner({ kafka: broker.port, sink, groupId: uniqueName('g'), topic, deadLetterTopic: dlq, logger: silentLogger });
    await runner.start();
    try {
      await waitFor(() => sink.batches.length >= 1, { what: 'a batch in the sink' });
      const [batch] = sink.batches;
      expect(batch.values?.map((v) => v.toString())).toEqual(valid.map((e) => JSON.stringify(e)));
      expect(batch.events).toEqual(valid);
      expect(sink.events.map((e) => e.event_id)).toEqual(valid.filter((_, i) => i !== 2).map((e) => e.event_id));
      const dead = await readTopic(broker.port, dlq, 2);
      expect(dead.map((m) => m.value?.toString()).sort()).toEqual(['{not json', JSON.stringify(valid[2])].sort());
      await waitFor(() => runner.stats.partitions.get(0)?.committedOffset === String(messages.length), { what: 'offsets committed' });
      expect(runner.stats.written).toBe(valid.length - 1);
      expect(runner.stats.deadLettered).toBe(2);
    } finally {
      await runner.stop();
    }
  });

  it('dead-letters events a sink rejects, and counts the rest as written', async () => {
    const { events: topic, dlq } = await freshTopics(broker.port, 1);
    const valid = oneOfEach('org-rej');
    await broker.send(topic, valid.map(encodeEvent));
    const sink = new CollectingSink();
    sink.script.push({ status: 'reject', error: new Error('partial'), events: [{ index: 1, reason: 'mixpanel_rejected', detail: 'time out of range' }] });
    const runner = new ConsumerRunner({ kafka: broker.port, sink, groupId: uniqueName('g'), topic, deadLetterTopic: dlq, logger: silentLogger });
    await runner.start();
    try {
      await waitFor(() => sink.events.length >= 4, { what: 'accepted events' });
      const dead = await readTopic(broker.port, dlq, 1);
      expect(dead[0].value?.toString()).toBe(JSON.stringify(valid[1]));
      expect(dead[0].headers?.[DLQ_HEADERS.reason]?.toString()).toBe('mixpanel_rejected');
      expect(dead[0].headers?.[DLQ_HEADERS.detail]?.toString()).toContain('time out of range');
      expect(sink.events.map((e) => e.event_id)).not.toContain(valid[1].event_id);
    } finally {
      await runner.stop();
    }
  });
});
