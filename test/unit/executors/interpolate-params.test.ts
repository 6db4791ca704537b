import { describe, expect, it } from 'vitest';
import { parseParams } from '../../../src/executors/action-params.ts';
import { interpolate, interpolateDeep } from '../../../src/executors/interpolate.ts';

describe('interpolation (QACT-S01 AC-3)', () => {
  const scope = { contact: { name: 'Ana', phone: '+62', email: 'a@x.id' }, variables: { ticket_id: 'T-1', n: 5 } };
  it('QACT-S01 AC-3 customer_* and contact.* read the contact; other keys read variables', () => {
    expect(interpolate('Hi {{customer_name}} ({{ contact.email }}) #{{ticket_id}} n={{n}}', scope)).toEqual({
      text: 'Hi Ana (a@x.id) #T-1 n=5',
      unresolved: [],
    });
  });
  it('QACT-S03 ERR-1 unresolved placeholders become empty and are reported', () => {
    expect(interpolate('{{deal_id}}-{{customer_city}}', scope)).toEqual({ text: '-', unresolved: ['deal_id', 'customer_city'] });
  });
  it('QACT-S02 AC-3 interpolateDeep fills strings in arrays and objects and leaves other values alone', () => {
    expect(interpolateDeep({ name: '{{customer_name}}', tags: ['{{customer_phone}}'], n: 1, b: true, o: { x: '{{n}}' } }, scope)).toEqual({
      name: 'Ana',
      tags: ['+62'],
      n: 1,
      b: true,
      o: { x: '5' },
    });
  });
});

describe('parameter schemas (spec §9 data fields)', () => {
  it('QACT-S01 AC-2 deal create: numeric ids accepted as numbers or digit strings; required fields enforced', () => {
    expect(parseParams('qontak_crm_deal_create', { crm_pipeline_id: '12', crm_stage_id: 3, name: 'n' })).toEqual({
      ok: true,
      params: { crm_pipeline_id: 12, crm_stage_id: 3, name: 'n', customer_contact_association: false },
    });
    const missing = parseParams('qontak_crm_deal_create', { crm_stage_id: 3, name: 'n' });
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.message).toContain('crm_pipeline_id');
    const unknown = parseParams('qontak_crm_deal_create', { crm_pipeline_id: 1, crm_stage_id: 3, name: 'n', owner: 1 });
    expect(!unknown.ok && unknown.message).toContain('unknown field(s) owner');
  });
  it('QACT-S05 ERR-2 assign_type must be auto, division or agent', () => {
    expect(parseParams('qontak_chat_room_assign', { assign_type: 'random' }).ok).toBe(false);
    expect(parseParams('qontak_chat_room_assign', { assign_type: 'agent', agent_id: 7 })).toEqual({ ok: true, params: { assign_type: 'agent', agent_id: '7' } });
  });
  it('QACT-S04 AC-1 deal update accepts name/stage_id/amount and query/header options', () => {
    expect(parseParams('qontak_crm_deal_update', { id: 9, stage_id: 2, amount: 10, page: 1, x_trace_id: 'abc' })).toEqual({
      ok: true,
      params: { id: '9', stage_id: '2', amount: 10, page: 1, x_trace_id: 'abc' },
    });
    expect(parseParams('qontak_crm_deal_update', { id: 9, amount: 1.5 }).ok).toBe(false);
  });
});
