import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { encodeTracedEvent, type ActionEvent, type WireMessage } from '../events/index.ts';
import type { OutgoingRecord, SendResult } from '../platform/kafka/kafka-port.ts';
import { MESSAGING_ATTRS, startCreateSpan, startSendSpan } from '../platform/kafka/messaging-spans.ts';
import { tracingActive } from '../platform/tracing-switch.ts';
import { inSpan } from '../platform/span-scope.ts';

/**
 * The emitter's spans (see messaging-spans.ts for the trace shape). A traced event gets its "create"
 * span when it is emitted, as a child of the live span that emitted it — the executor's, whose sampling
 * decision it inherits — and that span's context is what the message's `traceparent` carries. The span
 * lasts while the event waits in memory: it ends when the event is in Kafka, in the spool, or dropped.
 * An event emitted outside its span (HTTP ingest from another service) and one re-sent from the spool
 * get no create span: the message carries the event's own ids, as a custom creation context, marked
 * not sampled because nothing this process holds says otherwise.
 */
export type CreateOutcome = 'sent' | 'spooled' | 'dropped';

export class EmitterTracing {
  constructor(
    private readonly topic: string,
    private readonly clientId?: string,
  ) {}

  /** The creation span of an event emitted inside its own span; undefined otherwise or when spans go nowhere. */
  creationSpan(event: ActionEvent): Span | undefined {
    if (!tracingActive() || !event.trace_id || !event.span_id) return undefined;
    const parent = liveParent(event);
    return parent ? startCreateSpan(this.topic, parent) : undefined;
  }

  encode(event: ActionEvent, span: Span | undefined): WireMessage {
    return encodeTracedEvent(event, span ? trace.setSpan(ROOT_CONTEXT, span) : undefined);
  }

  /** Ends the creation spans of these entries (once: an entry's span is cleared). */
  settle(entries: { span?: Span }[], outcome: CreateOutcome, reason?: string): void {
    for (const e of entries) {
      if (!e.span) continue;
      if (outcome === 'spooled') e.span.addEvent('spooled');
      if (outcome === 'dropped') {
        e.span.setAttribute('error.type', reason ?? 'dropped');
        e.span.setStatus({ code: SpanStatusCode.ERROR, message: `dropped: ${reason ?? 'unknown'}` });
      }
      e.span.end();
      e.span = undefined;
    }
  }

  /** Runs one producer send inside its "send" span; a send that failed (in part) marks the span as an error. */
  async send(records: readonly OutgoingRecord[], request: () => Promise<SendResult>): Promise<SendResult> {
    if (!tracingActive()) return request();
    const span = startSendSpan(this.topic, records.map((r) => r.headers ?? {}), this.clientId);
    return inSpan(span, request, (result, s) => {
      if (result.ok) {
        if (result.partitions.length === 1) s.setAttribute(MESSAGING_ATTRS.partition, String(result.partitions[0].partition));
        return;
      }
      s.setAttribute('error.type', result.reason);
      s.setStatus({ code: SpanStatusCode.ERROR, message: `${result.reason}: ${result.detail}` });
    });
  }
}

/** The active context when its span is the one the event's ids name (the emitting span), else undefined. */
function liveParent(event: ActionEvent): Context | undefined {
  const active = context.active();
  const live = trace.getSpanContext(active);
  return live && live.traceId === event.trace_id && live.spanId === event.span_id ? active : undefined;
}
