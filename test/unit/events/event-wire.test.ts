import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DLQ_TOPIC,
  DEFAULT_EVENTS_TOPIC,
  DLQ_HEADERS,
  buildEvent,
  encodeDeadLetter,
  encodeEvent,
  encodeTracedEvent,
  eventTraceContext,
  extractSpanContext,
} from '../../../src/events/index.ts';
import { FULL_INPUTS, MINIMAL_INPUTS, TRACE } from './event-fixtures.ts';

describe('encodeEvent', () => {
  it('keys by organization_id, carries the JSON event and the headers a consumer needs', () => {
    const event = buildEvent(FULL_INPUTS.qontak_action_executed);
    const message = encodeEvent(event);
    expect(message.key).toBe('org-42');
    expect(JSON.parse(message.value.toString('utf8'))).toEqual(event);
    expect(message.headers).toEqual({
      schema_version: '1',
      'content-type': 'application/json',
      source: 'agent-runtime',
      event: 'qontak_action_executed',
      // The event does not record whether its span was sampled, so the header does not claim it was.
      traceparent: `00-${TRACE.trace_id}-${TRACE.span_id}-00`,
    });
    expect(message.timestamp).toBe(String(event.timestamp));
  });

  it('omits traceparent when the event has no trace context', () => {
    const message = encodeEvent(buildEvent(MINIMAL_INPUTS.qontak_action_invoked));
    expect(message.headers).not.toHaveProperty('traceparent');
    expect(message.headers.event).toBe('qontak_action_invoked');
  });

  it('a creation context is written by the W3C propagator with its own sampled flag, and read back', () => {
    const event = buildEvent(FULL_INPUTS.qontak_action_executed);
    const spanId = 'b7ad6b7169203331';
    for (const [flags, suffix] of [[TraceFlags.SAMPLED, '01'], [TraceFlags.NONE, '00']] as const) {
      const creation = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE.trace_id, spanId, traceFlags: flags });
      const { headers } = encodeTracedEvent(event, creation);
      expect(headers.traceparent).toBe(`00-${TRACE.trace_id}-${spanId}-${suffix}`);
      expect(extractSpanContext({ ...headers, traceparent: Buffer.from(headers.traceparent) })).toMatchObject({ traceId: TRACE.trace_id, spanId, traceFlags: flags, isRemote: true });
    }
    expect(eventTraceContext({ trace_id: TRACE.trace_id })).toBeUndefined();
  });

  it('a missing or malformed traceparent yields no context', () => {
    for (const bad of [undefined, '', '01-x-y-01', `00-${TRACE.trace_id}-${TRACE.span_id}`, `00-${'0'.repeat(32)}-${TRACE.span_id}-01`]) {
      expect(extractSpanContext(bad === undefined ? {} : { traceparent: bad })).toBeUndefined();
    }
    expect(extractSpanContext(undefined)).toBeUndefined();
  });

  it('uses the versioned default topics', () => {
    expect(DEFAULT_EVENTS_TOPIC).toBe('actionpulse.events.v1');
    expect(DEFAULT_DLQ_TOPIC).toBe('actionpulse.events.dlq.v1');
  });
});

describe('encodeDeadLetter', () => {
  it('keeps the original bytes, key and headers and adds the reason, source and origin', () => {
    const original = Buffer.from([0x7b, 0x22, 0xff, 0x00, 0x0a]); // not even UTF-8: must survive byte for byte
    const errors = [{ path: '', message: 'Unexpected token' }];
    const before = Date.now();
    const message = encodeDeadLetter(
      { key: Buffer.from('org-42'), value: original, headers: { traceparent: 'tp', source: 'agent-runtime' } },
      {
        reason: 'invalid_json',
        source: 'consumer:clickhouse',
        errors,
        detail: 'parse failed',
        originalTopic: 'actionpulse.events.v1',
        originalPartition: 3,
        originalOffset: '1234',
      },
    );
    expect(message.value.equals(original)).toBe(true);
    expect(message.value).not.toBe(original); // a copy: the consumer may reuse its buffer
    expect(message.key).toBe('org-42');
    expect(message.headers).toMatchObject({
      traceparent: 'tp',
      source: 'agent-runtime',
      [DLQ_HEADERS.reason]: 'invalid_json',
      [DLQ_HEADERS.source]: 'consumer:clickhouse',
      [DLQ_HEADERS.detail]: 'parse failed',
      [DLQ_HEADERS.topic]: 'actionpulse.events.v1',
      [DLQ_HEADERS.partition]: '3',
      [DLQ_HEADERS.offset]: '1234',
    });
    expect(JSON.parse(message.headers[DLQ_HEADERS.errors])).toEqual(errors);
    expect(Date.parse(message.headers[DLQ_HEADERS.at])).toBeGreaterThanOrEqual(before - 1000);
  });

  it('handles a missing key and value and bounds the header sizes', () => {
    const message = encodeDeadLetter(
      { key: null, value: null },
      { reason: 'sink_rejected', source: 'consumer:mixpanel', detail: 'x'.repeat(10_000), errors: [] },
    );
    expect(message.key).toBe('');
    expect(message.value.length).toBe(0);
    expect(message.headers[DLQ_HEADERS.detail]).toHaveLength(2000);
    expect(message.headers).not.toHaveProperty(DLQ_HEADERS.errors);
    expect(message.headers).not.toHaveProperty(DLQ_HEADERS.partition);
  });
});
