import { describe, expect, it } from 'vitest';
import { buildEvent, type ActionEvent } from '../../../src/events/index.ts';
import { distinctIdOf, MIXPANEL_PROPERTY_ALLOW_LIST, toMixpanelRecord } from '../../../src/consumers/mixpanel/event-mapping.ts';
import { oneOfEach } from '../../helpers/events.ts';
import { PII_EXTRAS, PII_VALUES } from './pii-fixtures.ts';

const NOW = Date.now();

function withExtras(event: ActionEvent): ActionEvent {
  return { ...event, ...PII_EXTRAS } as unknown as ActionEvent;
}

describe('contract event → Mixpanel record', () => {
  it('keeps the event name, uses ms time, event_id as $insert_id, the agent as distinct_id', () => {
    const [, invoked] = oneOfEach('org-map');
    const event = { ...invoked, timestamp: NOW - 1000 } as ActionEvent;
    const result = toMixpanelRecord(event, NOW);
    expect(result).toEqual({
      kind: 'record',
      record: {
        event: 'qontak_action_invoked',
        properties: {
          time: NOW - 1000,
          distinct_id: 'agent-1',
          $insert_id: event.event_id,
          node_type: 'qontak_crm_deal_create',
          agent_id: 'agent-1',
          conversation_id: 'conv-1',
          organization_id: 'org-map',
          source: 'test-suite',
        },
      },
    });
    expect(event.event_id).toHaveLength(36);
  });

  it('maps the same event to the same record every time (redeliveries deduplicate)', () => {
    for (const e of oneOfEach()) expect(toMixpanelRecord(e, NOW)).toEqual(toMixpanelRecord(structuredClone(e), NOW));
  });

  it('carries reason, outcome and duration_ms where the event has them', () => {
    const events = oneOfEach();
    const failed = toMixpanelRecord(events[3], NOW);
    const refreshed = toMixpanelRecord(events[4], NOW);
    expect(failed.kind === 'record' && failed.record.properties).toMatchObject({ reason: 'empty_tags', duration_ms: 3 });
    expect(refreshed.kind === 'record' && refreshed.record.properties).toMatchObject({ outcome: 'success', organization_id: 'org-1' });
  });

  it('gives agent-less token refreshes the organization as identity, never a placeholder', () => {
    const refreshed = oneOfEach('org-42')[4];
    const r = toMixpanelRecord(refreshed, NOW);
    expect(r.kind === 'record' && r.record.properties.distinct_id).toBe('org:org-42');
    expect(distinctIdOf({ organization_id: 'org-9', agent_id: 'undefined' })).toBe('org:org-9');
    expect(distinctIdOf({ organization_id: 'org-9', agent_id: '0' })).toBe('org:org-9');
    expect(distinctIdOf({ organization_id: 'org-9', agent_id: 'agent-7' })).toBe('agent-7');
  });

  it('refuses times Mixpanel /import refuses, with the reason, and accepts old ones', () => {
    const [configured] = oneOfEach();
    const future = toMixpanelRecord({ ...configured, timestamp: NOW + 2 * 3600_000 }, NOW);
    expect(future).toMatchObject({ kind: 'invalid', field: 'time' });
    expect(future.kind === 'invalid' && future.message).toContain('more than 1 h in the future');
    const ancient = toMixpanelRecord({ ...configured, timestamp: Date.UTC(1970, 5, 1) }, NOW);
    expect(ancient).toMatchObject({ kind: 'invalid', field: 'time' });
    // /import has no 5-day window (only /track has): a year-old event goes through.
    expect(toMixpanelRecord({ ...configured, timestamp: NOW - 365 * 86_400_000 }, NOW).kind).toBe('record');
    expect(toMixpanelRecord({ ...configured, timestamp: NOW + 30 * 60_000 }, NOW).kind).toBe('record');
  });

  it('forwards the end of a configuration as its own event, with how it ended (removed when unsaid)', () => {
    const base = { event: 'qontak_action_unconfigured', source: 'builder-api', organization_id: 'o', agent_id: 'agent-7', node_type: 'qontak_chat_room_tag', timestamp: NOW } as const;
    const replaced = toMixpanelRecord(buildEvent({ ...base, change: 'replaced' }), NOW);
    expect(replaced).toMatchObject({ kind: 'record', record: { event: 'qontak_action_unconfigured', properties: { distinct_id: 'agent-7', node_type: 'qontak_chat_room_tag', change: 'replaced' } } });
    const unsaid = toMixpanelRecord(buildEvent(base), NOW);
    expect(unsaid).toMatchObject({ kind: 'record', record: { properties: { change: 'removed' } } });
  });

  it('skips the agent heartbeat, which is not a Mixpanel event', () => {
    const hb = buildEvent({ event: 'qontak_agent_active', source: 'agent-runtime', organization_id: 'o', agent_id: 'a' });
    expect(toMixpanelRecord(hb, NOW)).toEqual({ kind: 'skip' });
  });
});

describe('no PII leaves through the mapping', () => {
  it('copies only allow-listed properties, whatever extra fields the event carries', () => {
    for (const event of oneOfEach()) {
      const r = toMixpanelRecord(withExtras({ ...event, timestamp: NOW } as ActionEvent), NOW);
      if (r.kind !== 'record') throw new Error(`expected a record for ${event.event}`);
      const allowed = new Set<string>([...MIXPANEL_PROPERTY_ALLOW_LIST, 'time', 'distinct_id', '$insert_id']);
      for (const key of Object.keys(r.record.properties)) expect(allowed).toContain(key);
      const json = JSON.stringify(r.record);
      for (const value of PII_VALUES) expect(json).not.toContain(value);
    }
  });

  it('drops non-scalar or oversized values even under an allowed name', () => {
    const [, invoked] = oneOfEach();
    const sneaky = { ...invoked, timestamp: NOW, conversation_id: { name: 'Budi', phone: '0812' }, agent_id: 'x'.repeat(300) } as unknown as ActionEvent;
    const r = toMixpanelRecord(sneaky, NOW);
    if (r.kind !== 'record') throw new Error('expected a record');
    expect(r.record.properties.conversation_id).toBeUndefined();
    expect(r.record.properties.agent_id).toBeUndefined();
    expect(JSON.stringify(r.record)).not.toContain('Budi');
    // An oversized agent id is no identity either: the organization fallback applies.
    expect(r.record.properties.distinct_id).toBe('org:org-1');
  });
});
