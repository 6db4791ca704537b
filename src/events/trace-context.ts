import { defaultTextMapSetter, isSpanContextValid, ROOT_CONTEXT, trace, TraceFlags, type Context, type SpanContext, type TextMapGetter } from '@opentelemetry/api';
import type { ActionEvent } from './schema.ts';
import { W3CTraceContextPropagator } from './w3c-propagator.ts';

/**
 * How trace context rides on a Kafka message: the W3C `traceparent` (and `tracestate`) headers, written
 * and read by the W3C propagator (w3c-propagator.ts, on @opentelemetry/api alone) — never formatted here — so
 * the sampled flag is the one the context carries.
 *
 * The propagator is used directly rather than the global one: the header is part of the wire contract
 * and is written whether or not this process exports traces (consumers elsewhere may).
 */
const propagator = new W3CTraceContextPropagator();

/** Kafka header values as a consumer may hold them (the port's strings, or raw bytes). */
export type KafkaHeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export type KafkaHeaders = Record<string, KafkaHeaderValue>;

const kafkaHeaderGetter: TextMapGetter<KafkaHeaders> = {
  get(carrier, key) {
    const value = carrier[key];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
  keys: (carrier) => Object.keys(carrier),
};

/**
 * The event's own trace ids (the executor's span) as a remote context. The event does not say whether
 * that span was sampled, so the context does not claim it: flags 00. A producer that holds the live
 * span passes its context instead (see the emitter).
 */
export function eventTraceContext(event: Pick<ActionEvent, 'trace_id' | 'span_id'>): Context | undefined {
  if (!event.trace_id || !event.span_id) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: event.trace_id, spanId: event.span_id, traceFlags: TraceFlags.NONE, isRemote: true });
}

/**
 * Writes the event's own ids (flags 00, see eventTraceContext) through the propagator. This runs for
 * every event on the producer's hot path, so it reuses one context whose span context is overwritten per
 * call (synchronous, so no call sees another's ids) instead of allocating two objects per event.
 */
const reusedIds: SpanContext = { traceId: '', spanId: '', traceFlags: TraceFlags.NONE, isRemote: true };
const reusedContext = trace.setSpanContext(ROOT_CONTEXT, reusedIds);
export function injectEventTraceIds(event: Pick<ActionEvent, 'trace_id' | 'span_id'>, headers: Record<string, string>): void {
  if (!event.trace_id || !event.span_id) return;
  reusedIds.traceId = event.trace_id;
  reusedIds.spanId = event.span_id;
  propagator.inject(reusedContext, headers, defaultTextMapSetter);
}

/** Writes `traceparent` (and `tracestate`) for the span in `ctx`; nothing when it holds no valid span. */
export function injectTraceContext(ctx: Context, headers: Record<string, string>): void {
  propagator.inject(ctx, headers, defaultTextMapSetter);
}

/** The creation context a message carries, or undefined when it has none (or a malformed one). */
export function extractSpanContext(headers: KafkaHeaders | undefined): SpanContext | undefined {
  if (!headers) return undefined;
  const found = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers, kafkaHeaderGetter));
  return found && isSpanContextValid(found) ? found : undefined;
}
