import type { Context } from '@opentelemetry/api';
import type { ActionEvent } from './schema.ts';
import { SCHEMA_VERSION } from './schema.ts';
import { injectEventTraceIds, injectTraceContext } from './trace-context.ts';
import type { FieldError, RejectReason } from './validate.ts';

/**
 * Kafka wire format. Key = organization_id, so one organization's events stay ordered on one
 * partition; value = the event as JSON; headers carry what a consumer needs before parsing.
 */
export const DEFAULT_EVENTS_TOPIC = 'actionpulse.events.v1';
export const DEFAULT_DLQ_TOPIC = 'actionpulse.events.dlq.v1';

export const HEADER_SCHEMA_VERSION = 'schema_version';
export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_CONTENT_TYPE = 'content-type';
export const HEADER_SOURCE = 'source';
export const HEADER_EVENT = 'event';

export interface WireMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  timestamp?: string;
}

/**
 * The event as a Kafka message; `traceparent` carries the event's own trace ids, marked not sampled
 * because the event does not record that decision (a producer holding the live span uses encodeTracedEvent).
 */
export function encodeEvent(event: ActionEvent): WireMessage {
  return encodeTracedEvent(event);
}

/** The event as a Kafka message whose trace headers carry `creation`, the message's creation context (default: the event's ids). */
export function encodeTracedEvent(event: ActionEvent, creation?: Context): WireMessage {
  const headers: Record<string, string> = {
    [HEADER_SCHEMA_VERSION]: String(SCHEMA_VERSION),
    [HEADER_CONTENT_TYPE]: 'application/json',
    [HEADER_SOURCE]: event.source,
    [HEADER_EVENT]: event.event,
  };
  if (creation) injectTraceContext(creation, headers);
  else injectEventTraceIds(event, headers);
  return {
    key: event.organization_id,
    value: Buffer.from(JSON.stringify(event)),
    headers,
    // Broker timestamp = event time, so offsets-by-timestamp lookups (alert window rebuild) find it.
    timestamp: String(event.timestamp),
  };
}

/** Why something went to the dead-letter topic: contract rejections plus sink-level refusals. */
export type DeadLetterReason = RejectReason | 'sink_rejected' | 'mixpanel_rejected' | 'ingest_rejected';

export interface DeadLetterInfo {
  reason: DeadLetterReason;
  /** The component that gave up on it, e.g. `consumer:clickhouse`. */
  source: string;
  errors?: readonly FieldError[];
  detail?: string;
  originalTopic?: string;
  originalPartition?: number;
  originalOffset?: string;
}

export const DLQ_HEADERS = {
  reason: 'dlq_reason',
  source: 'dlq_source',
  errors: 'dlq_errors',
  detail: 'dlq_detail',
  topic: 'dlq_original_topic',
  partition: 'dlq_original_partition',
  offset: 'dlq_original_offset',
  at: 'dlq_at',
} as const;

/** A dead-letter record keeps the original bytes untouched so it can be replayed after a fix. */
export function encodeDeadLetter(
  original: { key?: Buffer | string | null; value: Buffer | string | null; headers?: Record<string, string> },
  info: DeadLetterInfo,
): WireMessage {
  const headers: Record<string, string> = { ...(original.headers ?? {}) };
  headers[DLQ_HEADERS.reason] = info.reason;
  headers[DLQ_HEADERS.source] = info.source;
  headers[DLQ_HEADERS.at] = new Date().toISOString();
  if (info.errors?.length) headers[DLQ_HEADERS.errors] = JSON.stringify(info.errors).slice(0, 4000);
  if (info.detail) headers[DLQ_HEADERS.detail] = info.detail.slice(0, 2000);
  if (info.originalTopic) headers[DLQ_HEADERS.topic] = info.originalTopic;
  if (info.originalPartition !== undefined) headers[DLQ_HEADERS.partition] = String(info.originalPartition);
  if (info.originalOffset !== undefined) headers[DLQ_HEADERS.offset] = info.originalOffset;
  const key = original.key == null ? '' : original.key.toString();
  const value = original.value == null ? Buffer.alloc(0) : Buffer.from(original.value);
  return { key, value, headers };
}
