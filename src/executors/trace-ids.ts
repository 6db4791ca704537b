import { randomBytes } from 'node:crypto';
import { isSpanContextValid, type Span } from '@opentelemetry/api';

export interface TraceIds {
  trace_id: string;
  span_id: string;
}

/**
 * The ids to stamp on events: the span's own when a tracing SDK is registered (so on-call can jump from a
 * failed event to its trace); otherwise fresh W3C-format ids, so events still group by execution.
 */
export function traceIdsOf(span: Span): TraceIds {
  const ctx = span.spanContext();
  if (isSpanContextValid(ctx)) return { trace_id: ctx.traceId, span_id: ctx.spanId };
  return { trace_id: randomHex(16, 32), span_id: randomHex(8, 16) };
}

function randomHex(bytes: number, chars: number): string {
  let hex = randomBytes(bytes).toString('hex');
  // All-zero ids are invalid in W3C trace context; astronomically unlikely, but cheap to rule out.
  if (/^0+$/.test(hex)) hex = '1'.padStart(chars, '0');
  return hex;
}
