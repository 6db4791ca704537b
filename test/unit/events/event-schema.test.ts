import { describe, expect, it } from 'vitest';
import {
  ACTION_EVENT_NAMES,
  EVENT_NAMES,
  FAILURE_REASON_CODES,
  MIN_TIMESTAMP_MS,
  NODE_TYPE_NAMES,
  NODE_TYPES,
  SCHEMA_VERSION,
  buildEvent,
  formatErrors,
  futureAllowanceMs,
  validateEvent,
  type ValidationResult,
} from '../../../src/events/index.ts';
import { FULL_INPUTS, MINIMAL_INPUTS, failedRecord } from './event-fixtures.ts';

function rejected(result: ValidationResult) {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.event)}`);
  return result;
}
const paths = (result: ValidationResult) => rejected(result).errors.map((e) => e.path).sort();

describe('the event catalogue', () => {
  it('names the five spec §11 action events, the end of a configuration and the adoption heartbeat', () => {
    expect(ACTION_EVENT_NAMES).toEqual([
      'qontak_action_configured',
      'qontak_action_invoked',
      'qontak_action_executed',
      'qontak_action_failed',
      'qontak_action_token_refreshed',
      'qontak_action_unconfigured',
    ]);
    expect(EVENT_NAMES).toEqual([...ACTION_EVENT_NAMES, 'qontak_agent_active']);
  });

  it('lists the seven spec §8 actions, four CRM and three chat', () => {
    expect(NODE_TYPE_NAMES).toHaveLength(7);
    const groups = Object.values(NODE_TYPES).map((t) => t.group);
    expect(groups.filter((g) => g === 'mekari_qontak_crm')).toHaveLength(4);
    expect(groups.filter((g) => g === 'mekari_qontak_chat')).toHaveLength(3);
  });

  it('has a reason code for every spec §8/§9 failure', () => {
    for (const code of [
      'crm_unauthorized',
      'id_unresolved',
      'room_not_found',
      'channel_integration_not_found',
      'empty_tags',
      'division_id_required',
      'agent_id_required',
      'invalid_params',
      'crm_client_error',
      'crm_server_error',
      'crm_timeout',
      'registry_disabled',
      'internal_error',
    ]) {
      expect(FAILURE_REASON_CODES).toContain(code);
    }
  });
});

describe('validateEvent accepts valid events', () => {
  for (const name of EVENT_NAMES) {
    it(`${name}, with every optional field and with only the required ones`, () => {
      for (const input of [FULL_INPUTS[name], MINIMAL_INPUTS[name]]) {
        const event = buildEvent(input);
        const result = validateEvent(event);
        expect(result).toEqual({ ok: true, event });
        expect(event.schema_version).toBe(SCHEMA_VERSION);
      }
    });
  }

  it('accepts every node_type, reason and outcome of the catalogue', () => {
    for (const node_type of NODE_TYPE_NAMES) {
      expect(validateEvent(buildEvent({ ...FULL_INPUTS.qontak_action_invoked, node_type } as never)).ok).toBe(true);
    }
    for (const reason of FAILURE_REASON_CODES) {
      expect(validateEvent({ ...failedRecord(), reason }).ok).toBe(true);
    }
    for (const outcome of ['success', 'failed']) {
      expect(validateEvent(buildEvent({ ...FULL_INPUTS.qontak_action_token_refreshed, outcome } as never)).ok).toBe(true);
    }
  });

  it('accepts an event time a little inside the future allowance, and the oldest allowed one', () => {
    const timestamp = Date.now() + futureAllowanceMs() - 60_000;
    expect(validateEvent({ ...failedRecord(), timestamp }).ok).toBe(true);
    expect(validateEvent({ ...failedRecord(), timestamp: MIN_TIMESTAMP_MS }).ok).toBe(true);
  });
});

describe('validateEvent rejects invalid events with field paths', () => {
  for (const name of EVENT_NAMES) {
    it(`${name}: each missing required field is reported at its path`, () => {
      const event = buildEvent(MINIMAL_INPUTS[name]) as Record<string, unknown>;
      for (const field of Object.keys(event).filter((f) => f !== 'event')) {
        const broken = { ...event };
        delete broken[field];
        const result = rejected(validateEvent(broken));
        expect(result.reason).toBe('schema_invalid');
        expect(result.errors.map((e) => e.path)).toEqual([field]);
      }
    });
  }

  it('a missing or unknown event name is reported at `event`', () => {
    const { event: _omit, ...noName } = failedRecord();
    expect(paths(validateEvent(noName))).toEqual(['event']);
    const result = rejected(validateEvent({ ...failedRecord(), event: 'qontak_action_exploded' }));
    expect(result.errors).toEqual([{ path: 'event', message: expect.stringContaining('qontak_action_failed') }]);
  });

  it('wrong types', () => {
    expect(paths(validateEvent({ ...failedRecord(), duration_ms: '95' }))).toEqual(['duration_ms']);
    expect(paths(validateEvent({ ...failedRecord(), agent_id: 7 }))).toEqual(['agent_id']);
    expect(paths(validateEvent({ ...failedRecord(), attempt: 0 }))).toEqual(['attempt']);
    expect(paths(validateEvent({ ...failedRecord(), upstream_status: 200.5 }))).toEqual(['upstream_status']);
    expect(paths(validateEvent({ ...failedRecord(), organization_id: 'has space' }))).toEqual(['organization_id']);
    expect(paths(validateEvent({ ...failedRecord(), organization_id: 'x'.repeat(129) }))).toEqual(['organization_id']);
    expect(paths(validateEvent({ ...failedRecord(), trace_id: 'ABCDEF'.padEnd(32, '0') }))).toEqual(['trace_id']);
    expect(paths(validateEvent({ ...failedRecord(), source: 'Agent Runtime' }))).toEqual(['source']);
    expect(paths(validateEvent({ ...failedRecord(), event_id: '01890a5d-ac96-4b3c-9b9e-c3e0c8b3c1a0' }))).toEqual(['event_id']);
  });

  it('unknown node_type, reason and outcome, listing what is allowed', () => {
    const nodeType = rejected(validateEvent({ ...failedRecord(), node_type: 'qontak_crm_contact_delete' }));
    expect(nodeType.errors).toEqual([{ path: 'node_type', message: expect.stringContaining('qontak_chat_room_tag') }]);
    const reason = rejected(validateEvent({ ...failedRecord(), reason: 'flaky' }));
    expect(reason.errors).toEqual([{ path: 'reason', message: expect.stringContaining('crm_unauthorized') }]);
    const refreshed = buildEvent(MINIMAL_INPUTS.qontak_action_token_refreshed);
    expect(paths(validateEvent({ ...refreshed, outcome: 'maybe' }))).toEqual(['outcome']);
  });

  it('bad timestamps: string, float, seconds instead of ms, too old (schema_invalid); far future (timestamp_in_future)', () => {
    const now = Date.now();
    for (const timestamp of [
      new Date(now).toISOString(),
      String(now),
      now + 0.5,
      Math.floor(now / 1000),
      Date.UTC(2019, 11, 31),
      null,
    ]) {
      const result = rejected(validateEvent({ ...failedRecord(), timestamp }));
      expect(result.reason, `timestamp ${String(timestamp)}`).toBe('schema_invalid');
      expect(result.errors.map((e) => e.path), `timestamp ${String(timestamp)}`).toEqual(['timestamp']);
    }
    // The exact boundary, on a pinned clock, is in future-allowance.test.ts.
    const future = rejected(validateEvent({ ...failedRecord(), timestamp: now + 24 * 3600_000 }));
    expect(future.reason).toBe('timestamp_in_future');
    expect(future.errors.map((e) => e.path)).toEqual(['timestamp']);
    expect(future.errors[0].message).toMatch(/future/);
    const old = rejected(validateEvent({ ...failedRecord(), timestamp: Date.UTC(2019, 0, 1) }));
    expect(old.errors[0].message).toMatch(/2020/);
  });

  it('unknown extra fields, each at its own path', () => {
    const result = rejected(validateEvent({ ...failedRecord(), customer_email: 'a@b.c', retries: 2 }));
    expect(result.reason).toBe('schema_invalid');
    expect(result.errors).toEqual([
      { path: 'customer_email', message: 'unknown field' },
      { path: 'retries', message: 'unknown field' },
    ]);
    // A field that belongs to another event is unknown here: configured events carry no reason.
    const configured = buildEvent(MINIMAL_INPUTS.qontak_action_configured);
    expect(paths(validateEvent({ ...configured, reason: 'crm_timeout' }))).toEqual(['reason']);
  });

  it('a different schema_version is its own reason code', () => {
    const v2 = rejected(validateEvent({ ...failedRecord(), schema_version: 2 }));
    expect(v2.reason).toBe('unsupported_schema_version');
    expect(v2.errors.map((e) => e.path)).toEqual(['schema_version']);
    const asString = rejected(validateEvent({ ...failedRecord(), schema_version: '1' }));
    expect(asString.reason).toBe('schema_invalid');
    expect(asString.errors.map((e) => e.path)).toEqual(['schema_version']);
  });

  it('reports every problem, not just the first', () => {
    const { agent_id: _omit, ...rest } = failedRecord();
    const result = rejected(
      validateEvent({ ...rest, node_type: 'nope', reason: 'nope', timestamp: 'yesterday', duration_ms: -1, extra: true }),
    );
    expect(result.errors.map((e) => e.path).sort()).toEqual(['agent_id', 'duration_ms', 'extra', 'node_type', 'reason', 'timestamp']);
    expect(formatErrors(result.errors)).toContain('agent_id: ');
    expect(formatErrors([{ path: '', message: 'empty message' }])).toBe('(event): empty message');
  });

  it('values that are not objects are rejected at the root', () => {
    for (const value of [null, undefined, 42, 'qontak_action_failed', [failedRecord()]]) {
      const result = rejected(validateEvent(value));
      expect(result.reason).toBe('schema_invalid');
      expect(result.errors.map((e) => e.path)).toEqual(['']);
    }
  });
});
