import { ROOT_CONTEXT, SpanKind, trace, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';
import { HEADER_TRACEPARENT } from '../../events/wire.ts';
import { extractSpanContext, type KafkaHeaders } from '../../events/trace-context.ts';

/**
 * Spans for Kafka traffic, per the OpenTelemetry messaging semantic conventions (Kafka page, v1.3x:
 * `messaging.system`, `messaging.destination.name`, `messaging.operation.type`/`.name`, span name
 * "{operation} {topic}"). The trace of an action:
 *
 *   executor span (root) ── create {topic} (PRODUCER, one per event; its context goes in the headers)
 *   send {topic}     (CLIENT, one per producer request; links to each message's creation context)
 *   process {topic}  (CONSUMER, one per batch per consumer group; links to each message's creation context)
 *
 * The conventions make "send" a CLIENT span when per-message "create" spans carry the creation context,
 * which they must here: one batch holds events of many actions, and a span has one parent. Consumers
 * link rather than parent for the same reason. Links per span are capped at MAX_LINKS_PER_SPAN (the
 * SDK's default limit is 128 too): a 50,000-event batch would otherwise hold 50,000 links in memory
 * until it is exported; `actionpulse.messaging.links_dropped` says how many were left out.
 */
export const MAX_LINKS_PER_SPAN = 128;

export const MESSAGING_ATTRS = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  batchCount: 'messaging.batch.message_count',
  consumerGroup: 'messaging.consumer.group.name',
  clientId: 'messaging.client.id',
  linksDropped: 'actionpulse.messaging.links_dropped',
} as const;

const TRACER_NAME = 'actionpulse-messaging';

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

function base(topic: string, operation: 'create' | 'send' | 'process'): Attributes {
  return {
    [MESSAGING_ATTRS.system]: 'kafka',
    [MESSAGING_ATTRS.destination]: topic,
    [MESSAGING_ATTRS.operationType]: operation,
    [MESSAGING_ATTRS.operationName]: operation,
  };
}

/**
 * Links to the creation contexts of at most MAX_LINKS_PER_SPAN messages, and how many traced messages
 * were left out (only the first ones are parsed: a big batch costs no more than a small one).
 */
export function linksTo(headers: Iterable<KafkaHeaders | undefined>): { links: Link[]; dropped: number } {
  const links: Link[] = [];
  let dropped = 0;
  for (const h of headers) {
    if (links.length < MAX_LINKS_PER_SPAN) {
      const context = extractSpanContext(h);
      if (context) links.push({ context });
    } else if (h?.[HEADER_TRACEPARENT] !== undefined) dropped++;
  }
  return { links, dropped };
}

/** The creation span of one message, child of the span that produced the event (`parent`). */
export function startCreateSpan(topic: string, parent: Context): Span {
  return tracer().startSpan(`create ${topic}`, { kind: SpanKind.PRODUCER, attributes: base(topic, 'create') }, parent);
}

/** One producer request; `headers` are the messages' (their traceparent is what the span links to). */
export function startSendSpan(topic: string, headers: readonly KafkaHeaders[], clientId?: string): Span {
  const { links, dropped } = linksTo(headers);
  const attributes: Attributes = { ...base(topic, 'send'), [MESSAGING_ATTRS.batchCount]: headers.length, [MESSAGING_ATTRS.linksDropped]: dropped };
  if (clientId) attributes[MESSAGING_ATTRS.clientId] = clientId;
  return tracer().startSpan(`send ${topic}`, { kind: SpanKind.CLIENT, attributes, links }, ROOT_CONTEXT);
}

export interface ProcessSpanInput {
  topic: string;
  partition: number;
  consumerGroup: string;
  messages: readonly { headers?: KafkaHeaders }[];
  /** Extra attributes, e.g. `actionpulse.sink`. */
  attributes?: Attributes;
}

/**
 * The processing of one fetched batch by one consumer group, from the first decode to the commit. A root
 * span (nothing of the producer's is its parent) linked to each message's creation context.
 */
export function startProcessSpan(o: ProcessSpanInput): Span {
  const { links, dropped } = linksTo(o.messages.map((m) => m.headers));
  return tracer().startSpan(
    `process ${o.topic}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        ...base(o.topic, 'process'),
        [MESSAGING_ATTRS.partition]: String(o.partition),
        [MESSAGING_ATTRS.consumerGroup]: o.consumerGroup,
        [MESSAGING_ATTRS.batchCount]: o.messages.length,
        [MESSAGING_ATTRS.linksDropped]: dropped,
        ...o.attributes,
      },
    },
    ROOT_CONTEXT,
  );
}
