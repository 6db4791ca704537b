import { afterAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { encodeEvent } from '../../../src/events/index.ts';
import { ConsumerRunner } from '../../../src/consumers/consumer-runner.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { startTelemetry } from '../../../src/platform/telemetry.ts';
import { CollectingSink } from '../../helpers/collecting-sink.ts';
import { oneOfEach } from '../../helpers/events.ts';
import { freshTopics, testKafka, uniqueName, waitFor } from '../../helpers/kafka.ts';

const exporter = new InMemorySpanExporter();
const telemetry = startTelemetry({ serviceName: 'actionpulse-test', spanProcessors: [new SimpleSpanProcessor(exporter)] });
afterAll(() => telemetry.shutdown());

describe('trace context across Kafka', () => {
  it("records the consumer's processing as a child of the span that produced the event", async () => {
    const kafka = await testKafka();
    const { events: topic, dlq } = await freshTopics(kafka, 1);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';
    const traced = { ...oneOfEach('org-trace')[2], trace_id: traceId, span_id: spanId };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [encodeEvent(traced)] });
    await producer.disconnect();

    const sink = new CollectingSink();
    const runner = new ConsumerRunner({ kafka, sink, groupId: uniqueName('trace'), topic, deadLetterTopic: dlq, logger: silentLogger });
    await runner.start();
    try {
      await waitFor(() => exporter.getFinishedSpans().length > 0, { what: 'a consumer span' });
    } finally {
      await runner.stop();
    }
    const [span] = exporter.getFinishedSpans();
    expect(span.name).toBe('collecting write');
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe(spanId);
    expect(span.attributes['actionpulse.event_id']).toBe(traced.event_id);
  });
});
