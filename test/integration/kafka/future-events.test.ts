import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HealthMonitor } from '../../../src/app/pipeline-health.ts';
import { ConsumerRunner } from '../../../src/consumers/consumer-runner.ts';
import { DLQ_HEADERS, encodeEvent, futureAllowanceMs, type ActionEvent } from '../../../src/events/index.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { CollectingSink } from '../../helpers/collecting-sink.ts';
import { oneOfEach } from '../../helpers/events.ts';
import { freshTopics, readTopic, sharedProducer, uniqueName, waitFor } from '../../helpers/kafka.ts';

/**
 * A producer whose clock runs a day ahead: the real consumer runner, on a real broker, must keep such an event
 * out of its sink and dead-letter it as `timestamp_in_future`, counted on /metrics. The exact 1 ms boundary
 * needs a pinned clock and is asserted in test/unit/events/future-allowance.test.ts; here the clock is real, so
 * "at the allowance" is measured when producing (by the time the consumer reads it, it is within) and the
 * refused event is 23 h ahead (refused however slowly this machine runs).
 */
const broker = sharedProducer();

describe('consumer runner and events dated in the future', () => {
  it('an event at the allowance when produced reaches the sink; one 23 h ahead is dead-lettered as timestamp_in_future with its bytes, and /metrics counts it', async () => {
    const kafka = broker.port;
    const { events: topic, dlq } = await freshTopics(kafka, 1);
    const [now, atAllowance, ahead] = oneOfEach('org-future');
    const allowance = futureAllowanceMs();
    const boundary: ActionEvent = { ...atAllowance, timestamp: Date.now() + allowance };
    const skewed: ActionEvent = { ...ahead, timestamp: Date.now() + 23 * 3600_000 };
    const skewedBytes = encodeEvent(skewed).value;
    await broker.send(topic, [now, boundary, skewed].map((e) => encodeEvent(e)));

    const sink = new CollectingSink();
    const groupId = uniqueName('future');
    const runner = new ConsumerRunner({ kafka: broker.port, sink, groupId, topic, deadLetterTopic: dlq, logger: silentLogger, fromBeginning: true });
    const metrics = createMetrics();
    new HealthMonitor({ kafka: broker.port, topic, consumers: () => [{ name: 'future', groupId, runner }] }).register(metrics.meter);
    const server = createServer((req, res) => metrics.handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await runner.start();
    try {
      await waitFor(() => runner.stats.partitions.get(0)?.committedOffset === '3', { timeoutMs: 60_000, what: 'all three records committed' });
      expect(sink.events.map((e) => e.event_id).sort()).toEqual([now.event_id, boundary.event_id].sort());
      expect(runner.stats).toMatchObject({ deadLettered: 1, futureEvents: 1 });

      const [letter] = await readTopic(kafka, dlq, 1);
      expect(letter.headers?.[DLQ_HEADERS.reason]?.toString()).toBe('timestamp_in_future');
      expect(letter.headers?.[DLQ_HEADERS.offset]?.toString()).toBe('2');
      expect(Buffer.from(letter.value ?? []).equals(Buffer.from(skewedBytes))).toBe(true);
      const errors = JSON.parse(letter.headers?.[DLQ_HEADERS.errors]?.toString() ?? '[]') as { path: string; message: string }[];
      expect(errors).toEqual([{ path: 'timestamp', message: expect.stringContaining('in the future') }]);

      const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
      expect(text).toContain(`actionpulse_consumer_future_events_total{group="${groupId}"} 1`);
      expect(text).toContain(`actionpulse_consumer_dead_lettered_total{group="${groupId}"} 1`);
    } finally {
      await runner.stop();
      await new Promise<void>((r) => server.close(() => r()));
      await metrics.shutdown();
    }
  });
});
