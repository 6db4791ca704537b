import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ScopeDimension } from '../../../src/consumers/alerts/alert-rules.ts';
import { ScopeKeys, ScopeKeyTable } from '../../../src/consumers/alerts/scope-keys.ts';

const DIMS: ScopeDimension[][] = [[], ['node_type'], ['organization_id'], ['node_type', 'organization_id']];

/** The key as written out in full: `d=v` for each dimension, in order, joined by commas. */
function plainKey(dims: readonly ScopeDimension[], rec: Record<string, unknown>): string | undefined {
  if (dims.length === 0) return 'all';
  const parts: string[] = [];
  for (const d of dims) {
    if (typeof rec[d] !== 'string') return undefined;
    parts.push(`${d}=${rec[d] as string}`);
  }
  return parts.join(',');
}

const value = fc.oneof(fc.constantFrom('a', 'b', 'a,b', 'x=y', ''), fc.string({ maxLength: 4 }), fc.constant(undefined), fc.constant(7));
const event = fc.record({ node_type: value, organization_id: value });

describe('scope keys', () => {
  it('equal the key written out in full for any sequence of events, values with commas and equals signs included, also across the table starting over', () => {
    fc.assert(
      fc.property(fc.constantFrom(...DIMS), fc.integer({ min: 1, max: 6 }), fc.array(event, { maxLength: 60 }), (dims, maxKeys, events) => {
        const table = new ScopeKeyTable(dims, maxKeys);
        for (const e of events) expect(table.keyOf(e)).toBe(plainKey(dims, e));
      }),
    );
  });

  it('an event without one of the dimensions, or with a non-string value, has no key', () => {
    const table = new ScopeKeyTable(['node_type', 'organization_id']);
    expect(table.keyOf({ node_type: 'qontak_crm_deal_create' })).toBeUndefined();
    expect(table.keyOf({ node_type: 'qontak_crm_deal_create', organization_id: 42 })).toBeUndefined();
    expect(table.keyOf({ node_type: 'qontak_crm_deal_create', organization_id: 'org-1' })).toBe('node_type=qontak_crm_deal_create,organization_id=org-1');
  });

  it('one table per list of dimensions, shared by every family grouping by it', () => {
    const keys = new ScopeKeys();
    expect(keys.tableFor(['node_type'])).toBe(keys.tableFor(['node_type']));
    expect(keys.tableFor(['node_type'])).not.toBe(keys.tableFor(['node_type', 'organization_id']));
  });
});
