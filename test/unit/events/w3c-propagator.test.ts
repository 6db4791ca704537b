import { createTraceState, defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, trace, type Context, type SpanContext } from '@opentelemetry/api';
import { suppressTracing, W3CTraceContextPropagator as CorePropagator } from '@opentelemetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { W3CTraceContextPropagator } from '../../../src/events/w3c-propagator.ts';

/**
 * The event contract's own W3C propagator against OpenTelemetry's reference one (`@opentelemetry/core`, a
 * dependency of the pipeline only): the same headers in, the same span context out; the same context in, the
 * same headers out.
 */
const ours = new W3CTraceContextPropagator();
const reference = new CorePropagator();

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const part = (n: number) => fc.oneof(hex(n), fc.constant('0'.repeat(n)), fc.stringMatching(new RegExp(`^[0-9a-fA-Fg-]{${n - 1},${n + 1}}$`)));
const traceparent = fc.oneof(
  fc.tuple(
    fc.constantFrom('', ' '),
    fc.oneof(fc.constantFrom('00', '01', 'cc', 'ff', 'FF', '0'), hex(2)),
    part(32),
    part(16),
    fc.oneof(hex(2), fc.constantFrom('0', '001', 'zz')),
    fc.constantFrom('', '-', '-what-the-future-holds', '-00'),
    fc.constantFrom('', ' ', '  '),
  ).map(([lead, v, t, s, f, rest, trail]) => `${lead}${v}-${t}-${s}-${f}${rest}${trail}`),
  fc.string(),
);
const tracestate = fc.oneof(
  fc.constant(undefined),
  fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_*/-]{0,8}(@[a-z]{1,4})?$/), fc.stringMatching(/^[!-+\--<>-~]{1,8}$/)), { maxLength: 40 }).map((kv) => kv.map(([k, v]) => `${k}=${v}`).join(',')),
  fc.string(),
  fc.array(fc.string(), { minLength: 1, maxLength: 3 }),
);

function describeContext(ctx: Context): unknown {
  const span = trace.getSpanContext(ctx);
  return span && { ...span, traceState: span.traceState?.serialize() };
}

describe('the W3C propagator on @opentelemetry/api', () => {
  it('extracts what OpenTelemetry core extracts from any traceparent and tracestate', () => {
    fc.assert(
      fc.property(fc.oneof(traceparent, fc.array(traceparent, { minLength: 1, maxLength: 2 })), tracestate, (tp, ts) => {
        const carrier: Record<string, string | string[]> = { traceparent: tp };
        if (ts !== undefined) carrier.tracestate = ts;
        const got = describeContext(ours.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
        expect(got).toEqual(describeContext(reference.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads a valid header and refuses a version-00 header with extra fields, version ff and zero ids', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(describeContext(ours.extract(ROOT_CONTEXT, { traceparent: tp, tracestate: 'a=1,b=2' }, defaultTextMapGetter))).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
      isRemote: true,
      traceState: 'a=1,b=2',
    });
    for (const bad of [`${tp}-x`, `ff${tp.slice(2)}`, `00-${'0'.repeat(32)}-b7ad6b7169203331-01`, `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`]) {
      expect(trace.getSpanContext(ours.extract(ROOT_CONTEXT, { traceparent: bad }, defaultTextMapGetter))).toBeUndefined();
    }
    expect(trace.getSpanContext(ours.extract(ROOT_CONTEXT, { traceparent: `01${tp.slice(2)}-later-fields` }, defaultTextMapGetter))?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('injects the headers OpenTelemetry core injects for any span context, and none while tracing is suppressed', () => {
    const spanContext = fc.record({
      traceId: fc.oneof(hex(32), fc.constant('0'.repeat(32)), fc.string({ maxLength: 33 })),
      spanId: fc.oneof(hex(16), fc.constant('0'.repeat(16)), fc.string({ maxLength: 17 })),
      // Flags are one byte; core writes flags above 0x0f with three digits, so the comparison stays within 0..15.
      traceFlags: fc.integer({ min: 0, max: 15 }),
      isRemote: fc.boolean(),
      traceState: fc.option(fc.stringMatching(/^([a-z]{1,6}=[a-z0-9]{1,6},){0,4}[a-z]{1,6}=[a-z0-9]{1,6}$/).map((s) => createTraceState(s)), { nil: undefined }),
    });
    fc.assert(
      fc.property(spanContext, fc.boolean(), (span: SpanContext, suppressed) => {
        let ctx = trace.setSpanContext(ROOT_CONTEXT, span);
        if (suppressed) ctx = suppressTracing(ctx);
        const a: Record<string, string> = {};
        const b: Record<string, string> = {};
        ours.inject(ctx, a, defaultTextMapSetter);
        reference.inject(ctx, b, defaultTextMapSetter);
        expect(a).toEqual(b);
      }),
      { numRuns: 2_000 },
    );
  });

  it('writes flags above 0x0f as two hex digits', () => {
    const headers: Record<string, string> = {};
    ours.inject(trace.setSpanContext(ROOT_CONTEXT, { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 0x81 }), headers, defaultTextMapSetter);
    expect(headers).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-81' });
  });
});
