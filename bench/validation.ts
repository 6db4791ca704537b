/**
 * Validation rate of the event contract: every consumer runs decodeEvent on every Kafka message,
 * so this is a ceiling on per-partition throughput. Prints events/s and per-call p50/p99 for
 * decodeEvent (bytes → validated event) and validateEvent (parsed object → validated event).
 */
import { cpus, loadavg } from 'node:os';
import { buildEvent, decodeEvent, encodeEvent, validateEvent, type EventInput } from '../src/events/index.ts';

const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);

const trace = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
const NODE_TYPES = ['qontak_crm_deal_create', 'qontak_crm_ticket_update', 'qontak_chat_room_assign', 'qontak_chat_room_tag'] as const;

/** Roughly the shape of production traffic: mostly invoked/executed, a few failures and refreshes, 1% bad. */
function sample(i: number): Buffer {
  const common = {
    source: 'agent-runtime',
    organization_id: `org-${i % 500}`,
    agent_id: `agent-${i % 3000}`,
    node_type: NODE_TYPES[i % NODE_TYPES.length],
    ...(i % 2 === 0 ? trace : {}),
  };
  const conversation_id = `conv-${(i * 7919) % 100_000}`;
  const k = i % 100;
  let input: EventInput;
  if (k < 40) input = { event: 'qontak_action_invoked', ...common, conversation_id, attempt: 1 };
  else if (k < 75) input = { event: 'qontak_action_executed', ...common, conversation_id, duration_ms: 100 + (i % 900) };
  else if (k < 85) input = { event: 'qontak_action_failed', ...common, conversation_id, reason: 'crm_timeout', duration_ms: 10_000, upstream_status: 504 };
  else if (k < 92) input = { event: 'qontak_action_configured', ...common };
  else if (k < 96) input = { event: 'qontak_action_token_refreshed', ...common, outcome: 'success', duration_ms: 80 };
  else if (k < 99) input = { event: 'qontak_agent_active', source: common.source, organization_id: common.organization_id, agent_id: common.agent_id };
  else return Buffer.from(JSON.stringify({ event: 'qontak_action_failed', ...common, reason: 'nope', timestamp: 'yesterday' }));
  return encodeEvent(buildEvent(input)).value;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function measure(label: string, inputs: readonly unknown[], fn: (x: never) => { ok: boolean }): void {
  let accepted = 0;
  for (const x of inputs) if (fn(x as never).ok) accepted++; // warm-up, and the accept count
  let best = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (const x of inputs) fn(x as never);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, inputs.length / secs);
  }
  const perCall = new Float64Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const t0 = process.hrtime.bigint();
    fn(inputs[i] as never);
    perCall[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  perCall.sort();
  console.log(
    `${label.padEnd(34)} ${Math.round(best).toLocaleString('en-US').padStart(11)} events/s   ` +
      `p50 ${percentile(perCall, 0.5).toFixed(2)} µs   p99 ${percentile(perCall, 0.99).toFixed(2)} µs   ` +
      `(${accepted}/${inputs.length} accepted)`,
  );
}

const bytes = Array.from({ length: N }, (_, i) => sample(i));
const parsed = bytes.map((b) => JSON.parse(b.toString('utf8')) as unknown);
const avgBytes = Math.round(bytes.reduce((s, b) => s + b.length, 0) / bytes.length);

console.log(
  `validation bench: ${N} events (avg ${avgBytes} B, 1% invalid), best of ${ROUNDS} rounds, node ${process.version}, ` +
    `load ${loadavg()[0].toFixed(1)} on ${cpus().length} cores (figures are only comparable on a quiet machine)`,
);
measure('JSON.parse only (reference)', bytes, (b: Buffer) => ({ ok: JSON.parse(b.toString('utf8')) != null }));
measure('validateEvent (parsed objects)', parsed, validateEvent);
measure('decodeEvent (Kafka value bytes)', bytes, decodeEvent);
// The two halves of the mix: valid events take the compiled fast check, rejected ones go through zod for the errors.
const valid = bytes.filter((b) => decodeEvent(b).ok);
const invalid = bytes.filter((b) => !decodeEvent(b).ok);
measure('decodeEvent, valid only', valid, decodeEvent);
measure('decodeEvent, rejected only', invalid, decodeEvent);
