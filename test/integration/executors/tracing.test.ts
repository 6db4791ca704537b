import { trace } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { context, openHarness, type Harness } from './executor-harness.ts';

const exporter = new tracing.InMemorySpanExporter();
let h: Harness;
beforeAll(async () => {
  // A real tracing SDK registered globally (this file runs in its own process): spans become recordable.
  trace.setGlobalTracerProvider(new tracing.BasicTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] }));
  h = await openHarness();
});
afterAll(async () => {
  await h?.close();
  trace.disable();
});

it('QACT-S06 ERR-1 each execution has one span whose trace/span ids are the ones on its events', async () => {
  const o = 'org-trace';
  const ctx = context(o, undefined, { channel_room_id: 'nowhere' });
  expect(await h.executor.execute('qontak_chat_room_resolve', {}, ctx)).toMatchObject({ ok: false, reason: 'room_not_found' });
  const spans = exporter.getFinishedSpans().filter((s) => s.attributes.organization_id === o);
  expect(spans).toHaveLength(1);
  const span = spans[0];
  expect(span.name).toBe('execute_tool qontak_chat_room_resolve');
  expect(span.attributes).toMatchObject({ node_type: 'qontak_chat_room_resolve', organization_id: o, outcome: 'failed', reason: 'room_not_found' });
  expect(span.status.code).toBe(2); // ERROR
  const events = h.events(ctx.conversation_id);
  expect(events).toHaveLength(2);
  for (const e of events) {
    expect(e.trace_id).toBe(span.spanContext().traceId);
    expect(e.span_id).toBe(span.spanContext().spanId);
  }
});

it('QACT-S01 AC-2 a successful CRM execution records outcome=executed on its span', async () => {
  const o = 'org-trace-ok';
  await h.seedOrg(o);
  const ctx = context(o);
  expect(await h.executor.execute('qontak_crm_deal_create', { crm_pipeline_id: 1, crm_stage_id: 1, name: 'x' }, ctx)).toMatchObject({ ok: true });
  const [span] = exporter.getFinishedSpans().filter((s) => s.attributes.organization_id === o);
  expect(span.attributes).toMatchObject({ node_type: 'qontak_crm_deal_create', outcome: 'executed' });
  expect(span.attributes.reason).toBeUndefined();
  expect(h.events(ctx.conversation_id).map((e) => e.trace_id)).toEqual([span.spanContext().traceId, span.spanContext().traceId]);
});
