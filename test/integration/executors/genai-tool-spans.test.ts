import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/platform/config.ts';
import { context, openHarness, type Harness } from './executor-harness.ts';

/**
 * The execute_tool span of OpenTelemetry's GenAI semantic conventions (status: development), written out here from
 * open-telemetry/semantic-conventions-genai at 002c8a6ea1c8a42b14a4527db83b3cabcded610a: model/gen-ai/spans.yaml
 * (span `gen_ai.execute_tool.internal`), model/gen-ai/registry.yaml (the gen_ai.* attributes) and
 * docs/gen-ai/gen-ai-spans.md ("Execute tool span"; span status per Recording Errors, semconv v1.41.1).
 * Literal strings on purpose: the test compares what the executor emits with the convention's text, not with the
 * executor's own constants.
 */
const CONVENTION = {
  spanName: (toolName: string) => `execute_tool ${toolName}`,
  kind: SpanKind.INTERNAL,
  operationName: 'execute_tool',
  required: ['gen_ai.operation.name', 'gen_ai.tool.name'],
  requiredOnError: ['error.type'],
  recommendedIfAvailable: ['gen_ai.tool.call.id', 'gen_ai.tool.description', 'gen_ai.tool.type'],
  optIn: ['gen_ai.tool.call.arguments', 'gen_ai.tool.call.result'],
  toolTypes: ['function', 'extension', 'datastore'],
  // Not on the span's list; the conventions' note on it lets applications that manage conversations add it to
  // other spans, which the issue asks for.
  conversationId: 'gen_ai.conversation.id',
};
const CONVENTION_GEN_AI_KEYS = new Set([...CONVENTION.required, ...CONVENTION.recommendedIfAvailable, ...CONVENTION.optIn, CONVENTION.conversationId]);

const exporter = new InMemorySpanExporter();
let h: Harness;
let legacy: Harness;
beforeAll(async () => {
  // A real tracing SDK registered globally (this file runs in its own process): spans become recordable.
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  h = await openHarness({ spanNames: loadConfig({}).telemetry.executorSpanNames });
  legacy = await openHarness({ store: 'pglite', spanNames: loadConfig({ EXECUTOR_SPAN_NAMES: 'legacy' }).telemetry.executorSpanNames });
});
afterAll(async () => {
  await h?.close();
  await legacy?.close();
  trace.disable();
});

const org = (name: string) => `org-${name}-${Math.random().toString(36).slice(2, 8)}`;
const spansOf = (o: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.attributes.organization_id === o);
const onlySpanOf = (o: string): ReadableSpan => {
  const spans = spansOf(o);
  expect(spans).toHaveLength(1);
  return spans[0];
};
const genAiKeys = (s: ReadableSpan) => Object.keys(s.attributes).filter((k) => k.startsWith('gen_ai.'));

/** What every executor span owes the convention, whatever the outcome. */
function expectExecuteToolSpan(span: ReadableSpan, toolName: string, conversationId: string): void {
  expect(span.name).toBe(CONVENTION.spanName(toolName));
  expect(span.kind).toBe(CONVENTION.kind);
  for (const key of CONVENTION.required) expect(span.attributes, key).toHaveProperty([key]);
  expect(span.attributes['gen_ai.operation.name']).toBe(CONVENTION.operationName);
  expect(span.attributes['gen_ai.tool.name']).toBe(toolName);
  expect(CONVENTION.toolTypes).toContain(span.attributes['gen_ai.tool.type']);
  expect(span.attributes['gen_ai.tool.type']).toBe('extension');
  expect(span.attributes[CONVENTION.conversationId]).toBe(conversationId);
  // No gen_ai.* name of our own making, and no opt-in content (arguments, results) by default.
  for (const key of genAiKeys(span)) expect(CONVENTION_GEN_AI_KEYS.has(key), key).toBe(true);
  for (const key of CONVENTION.optIn) expect(span.attributes).not.toHaveProperty([key]);
}

describe('executor spans follow the GenAI execute_tool span', () => {
  it('a CRM action that succeeds: name, INTERNAL, gen_ai.* with the runtime tool-call id, project attributes, status unset', async () => {
    const o = org('genai-ok');
    await h.seedOrg(o);
    const ctx = context(o, undefined, { tool_call_id: 'call_mszuSIzqtI65i1wAUOE8w5H4' });
    expect(await h.executor.execute('qontak_crm_deal_create', { crm_pipeline_id: 1, crm_stage_id: 1, name: 'x' }, ctx)).toMatchObject({ ok: true });
    const span = onlySpanOf(o);
    expectExecuteToolSpan(span, 'qontak_crm_deal_create', ctx.conversation_id);
    expect(span.attributes['gen_ai.tool.call.id']).toBe('call_mszuSIzqtI65i1wAUOE8w5H4');
    expect(span.attributes).toMatchObject({ organization_id: o, agent_id: ctx.agent_id, node_type: 'qontak_crm_deal_create', outcome: 'executed' });
    // Recording Errors: a span that ended without an error has no error.type and its status left unset.
    expect(span.attributes).not.toHaveProperty(['error.type']);
    expect(span.attributes.reason).toBeUndefined();
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a 500 from the CRM: error.type is the failure reason of the failed event, status ERROR', async () => {
    const o = org('genai-500');
    await h.seedOrg(o);
    h.crm.seedRecord('tickets', 'T500');
    h.crm.inject({ method: 'PUT', pathPrefix: '/api/v3.1/tickets/T500', status: 500, times: 3 });
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_ticket_update', { id: 'T500', name: 'x' }, ctx)).toMatchObject({ ok: false, reason: 'crm_server_error' });
    const span = onlySpanOf(o);
    expectExecuteToolSpan(span, 'qontak_crm_ticket_update', ctx.conversation_id);
    for (const key of CONVENTION.requiredOnError) expect(span.attributes, key).toHaveProperty([key]);
    const failed = h.events(ctx.conversation_id).find((e) => e.event === 'qontak_action_failed');
    expect(failed).toMatchObject({ reason: 'crm_server_error', upstream_status: 500 });
    expect(span.attributes['error.type']).toBe('crm_server_error');
    expect(span.attributes).toMatchObject({ outcome: 'failed', reason: 'crm_server_error' });
    expect(span.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'crm_server_error' });
  });

  it('a 401 the token refresh cannot cure: error.type crm_unauthorized; without a runtime id the tool-call id is the invoked event id', async () => {
    const o = org('genai-401');
    await h.seedOrg(o);
    h.crm.inject({ method: 'POST', pathPrefix: '/api/v3.1/deals', status: 401, times: 2 });
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_deal_create', { crm_pipeline_id: 1, crm_stage_id: 1, name: 'x' }, ctx)).toMatchObject({ ok: false, reason: 'crm_unauthorized' });
    const span = onlySpanOf(o);
    expectExecuteToolSpan(span, 'qontak_crm_deal_create', ctx.conversation_id);
    expect(span.attributes['error.type']).toBe('crm_unauthorized');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    const invoked = h.events(ctx.conversation_id).find((e) => e.event === 'qontak_action_invoked');
    expect(invoked?.event_id).toMatch(/^[0-9a-f]{8}-/);
    expect(span.attributes['gen_ai.tool.call.id']).toBe(invoked?.event_id);
    expect(invoked?.span_id).toBe(span.spanContext().spanId);
  });

  it('a chat action is a tool call too', async () => {
    const o = org('genai-chat');
    await h.seedRoom(o, 'wa-room-1', 'room-1');
    const ctx = context(o, undefined, { channel_room_id: 'wa-room-1', tool_call_id: 'toolu_01A09q90qw90lq917835lq9' });
    expect(await h.executor.execute('qontak_chat_room_resolve', {}, ctx)).toMatchObject({ ok: true });
    const span = onlySpanOf(o);
    expectExecuteToolSpan(span, 'qontak_chat_room_resolve', ctx.conversation_id);
    expect(span.attributes['gen_ai.tool.call.id']).toBe('toolu_01A09q90qw90lq917835lq9');
  });

  it('a tool_call_id that is not printable ASCII is refused like any bad context, before a span or an event', async () => {
    const o = org('genai-bad-id');
    const ctx = context(o, undefined, { tool_call_id: 'call 1' });
    expect(await h.executor.execute('qontak_chat_room_resolve', {}, ctx)).toMatchObject({ ok: false, reason: 'invalid_params' });
    expect(spansOf(o)).toHaveLength(0);
    expect(h.events(ctx.conversation_id)).toHaveLength(0);
  });

  it('configuring an action is no tool execution: its span keeps its own name and carries no gen_ai.*', () => {
    const o = org('genai-configured');
    expect(h.executor.recordConfigured({ node_type: 'qontak_crm_deal_create', agent_id: 'agent-7', organization_id: o })).toEqual({ ok: true });
    const span = onlySpanOf(o);
    expect(span.name).toBe('qontak_action_configured qontak_crm_deal_create');
    expect(genAiKeys(span)).toEqual([]);
  });
});

describe('EXECUTOR_SPAN_NAMES', () => {
  it('defaults to the GenAI name; legacy keeps `qontak_action <node_type>` with the same attributes', async () => {
    expect(loadConfig({}).telemetry.executorSpanNames).toBe('gen_ai');
    const o = org('legacy');
    await legacy.seedOrg(o);
    legacy.crm.seedRecord('tickets', 'L500');
    legacy.crm.inject({ method: 'PUT', pathPrefix: '/api/v3.1/tickets/L500', status: 500, times: 3 });
    const ctx = context(o, undefined, { tool_call_id: 'call_legacy' });
    expect(await legacy.executor.execute('qontak_crm_ticket_update', { id: 'L500', name: 'x' }, ctx)).toMatchObject({ ok: false, reason: 'crm_server_error' });
    const span = onlySpanOf(o);
    expect(span.name).toBe('qontak_action qontak_crm_ticket_update');
    expect(span.kind).toBe(SpanKind.INTERNAL);
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'qontak_crm_ticket_update',
      'gen_ai.tool.call.id': 'call_legacy',
      'gen_ai.conversation.id': ctx.conversation_id,
      'error.type': 'crm_server_error',
      node_type: 'qontak_crm_ticket_update',
      organization_id: o,
      outcome: 'failed',
      reason: 'crm_server_error',
    });
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('any other value stops the configuration naming the setting', () => {
    let err: unknown;
    try {
      loadConfig({ EXECUTOR_SPAN_NAMES: 'qontak_action' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.setting)).toEqual(['EXECUTOR_SPAN_NAMES (telemetry.executorSpanNames)']);
  });
});
