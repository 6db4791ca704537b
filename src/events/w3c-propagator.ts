import {
  createContextKey,
  createTraceState,
  isSpanContextValid,
  trace,
  TraceFlags,
  type Context,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';

/**
 * The W3C Trace Context propagator (`traceparent`, `tracestate`) on `@opentelemetry/api` alone, so the event
 * contract and the agent runtime need no OpenTelemetry SDK package. It reads and writes the same headers as
 * `@opentelemetry/core`'s W3CTraceContextPropagator (test/unit/events/w3c-propagator.test.ts compares the two on
 * generated headers and contexts), including its rules: version `ff` and all-zero ids are invalid, a version-00
 * header with extra fields is refused, a later version's extra fields are ignored, and nothing is written while
 * the SDK suppresses tracing.
 */
const TRACE_PARENT = 'traceparent';
const TRACE_STATE = 'tracestate';
const TRACE_PARENT_PATTERN = /^\s?((?!ff)[\da-f]{2})-((?![0]{32})[\da-f]{32})-((?![0]{16})[\da-f]{16})-([\da-f]{2})(-.*)?\s?$/;
// The key the OpenTelemetry SDK sets to suppress tracing (createContextKey is Symbol.for, so it is the SDK's own key).
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

export function parseTraceParent(header: string): Pick<SpanContext, 'traceId' | 'spanId' | 'traceFlags'> | undefined {
  const m = TRACE_PARENT_PATTERN.exec(header);
  // A version-00 header has exactly four fields; later versions may add fields after them.
  if (!m || (m[1] === '00' && m[5] !== undefined)) return undefined;
  return { traceId: m[2]!, spanId: m[3]!, traceFlags: parseInt(m[4]!, 16) };
}

export class W3CTraceContextPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const span = trace.getSpanContext(context);
    if (!span || context.getValue(SUPPRESS_TRACING) === true || !isSpanContextValid(span)) return;
    const flags = (Number(span.traceFlags || TraceFlags.NONE) & 0xff).toString(16).padStart(2, '0');
    setter.set(carrier, TRACE_PARENT, `00-${span.traceId}-${span.spanId}-${flags}`);
    if (span.traceState) setter.set(carrier, TRACE_STATE, span.traceState.serialize());
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const header = getter.get(carrier, TRACE_PARENT);
    const value = Array.isArray(header) ? header[0] : header;
    if (typeof value !== 'string' || value === '') return context;
    const parsed = parseTraceParent(value);
    if (!parsed) return context;
    const span: SpanContext = { ...parsed, isRemote: true };
    const state = getter.get(carrier, TRACE_STATE);
    if (state) {
      // Several tracestate headers are one list.
      const joined = Array.isArray(state) ? state.join(',') : state;
      if (typeof joined === 'string') span.traceState = createTraceState(joined);
    }
    return trace.setSpanContext(context, span);
  }

  fields(): string[] {
    return [TRACE_PARENT, TRACE_STATE];
  }
}
