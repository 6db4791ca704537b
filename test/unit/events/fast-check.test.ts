import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { compileFastCheck } from '../../../src/events/fast-check.ts';
import {
  EVENT_NAMES,
  EVENT_SCHEMAS,
  DEFAULT_FUTURE_ALLOWANCE_MS,
  actionEventSchema,
  buildEvent,
  futureAllowanceMs,
  setFutureAllowanceMs,
  validateEvent,
} from '../../../src/events/index.ts';
import { FULL_INPUTS, MINIMAL_INPUTS } from './event-fixtures.ts';

const fast = compileFastCheck(actionEventSchema);

/** Valid events and thousands of near misses: every field removed or replaced by odd values. */
function candidates(): unknown[] {
  const odd = [undefined, null, '', 'x', 'NOT lower', 'a'.repeat(129), 0, -1, 1, 2, 1.5, 2 ** 53, NaN, Infinity, true, [], {}];
  const out: unknown[] = [null, [], 'event', 42, {}];
  for (const name of EVENT_NAMES) {
    for (const input of [FULL_INPUTS[name], MINIMAL_INPUTS[name]]) {
      const event = buildEvent(input) as Record<string, unknown>;
      out.push(event);
      for (const field of [...Object.keys(event), 'reason', 'outcome', 'extra']) {
        const without = { ...event };
        delete without[field];
        out.push(without);
        for (const value of odd) out.push({ ...event, [field]: value });
      }
      out.push(
        { ...event, event: EVENT_NAMES.find((n) => n !== name) },
        { ...event, timestamp: Date.now() + futureAllowanceMs() + 60_000 },
        { ...event, timestamp: Date.now() + futureAllowanceMs() - 60_000 },
        { ...event, timestamp: Date.now() + 23 * 3600_000 },
        { ...event, duration_ms: 3_600_000 },
        { ...event, duration_ms: 3_600_001 },
        { ...event, organization_id: 'o'.repeat(128) },
        Object.assign(Object.create(null) as object, event),
        JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(event).slice(1)}`),
      );
    }
  }
  return out;
}

describe('compileFastCheck', () => {
  it('compiles the whole contract and each event schema', () => {
    expect(fast).toBeTypeOf('function');
    for (const name of EVENT_NAMES) expect(compileFastCheck(EVENT_SCHEMAS[name]), name).toBeTypeOf('function');
  });

  it('accepts exactly what zod accepts, on valid events and thousands of near misses', () => {
    const all = candidates();
    expect(all.length).toBeGreaterThan(2000);
    let accepted = 0;
    for (const value of all) {
      const zodSays = actionEventSchema.safeParse(value).success;
      // Accept-only: it may hand a valid value to zod (it never does here), never accept an invalid one.
      if (fast!(value)) {
        expect(zodSays, JSON.stringify(value)).toBe(true);
        accepted++;
      } else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
        expect(zodSays, JSON.stringify(value)).toBe(false);
      }
    }
    expect(accepted).toBeGreaterThan(100);
  });

  describe('at the future allowance boundary, on a pinned clock', () => {
    const NOW = Date.UTC(2026, 11, 2, 9, 30, 0);
    afterEach(() => {
      vi.useRealTimers();
      setFutureAllowanceMs(DEFAULT_FUTURE_ALLOWANCE_MS);
    });

    it('accepts exactly at the allowance and refuses 1 ms beyond, like zod, for the default and a set allowance', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(NOW);
      for (const allowance of [DEFAULT_FUTURE_ALLOWANCE_MS, 0, 3600_000]) {
        setFutureAllowanceMs(allowance);
        for (const name of EVENT_NAMES) {
          const event = buildEvent(FULL_INPUTS[name]);
          const at = { ...event, timestamp: NOW + allowance };
          const beyond = { ...event, timestamp: NOW + allowance + 1 };
          expect([fast!(at), actionEventSchema.safeParse(at).success], `${name} at ${allowance}`).toEqual([true, true]);
          expect([fast!(beyond), actionEventSchema.safeParse(beyond).success], `${name} beyond ${allowance}`).toEqual([false, false]);
        }
      }
    });
  });

  it('declines schemas it does not understand, so the caller keeps zod for them', () => {
    expect(compileFastCheck(z.object({ a: z.string() }))).toBeUndefined(); // strips unknown keys
    expect(compileFastCheck(z.strictObject({ a: z.array(z.string()) }))).toBeUndefined();
    expect(compileFastCheck(z.strictObject({ a: z.string().transform((s) => s.trim()) }))).toBeUndefined();
    expect(compileFastCheck(z.strictObject({ a: z.string().email() }))).toBeUndefined();
    expect(compileFastCheck(z.strictObject({ a: z.number().int().multipleOf(5) }))).toBeUndefined();
    expect(compileFastCheck(z.union([z.string(), z.number()]))).toBeUndefined();
  });

  it('validateEvent keeps a valid object as is and still explains invalid ones', () => {
    const event = buildEvent(FULL_INPUTS.qontak_action_failed);
    const result = validateEvent(event);
    expect(result.ok && result.event).toBe(event);
    const invalid = validateEvent({ ...event, reason: 'nope' });
    expect(invalid).toEqual({ ok: false, reason: 'schema_invalid', errors: [{ path: 'reason', message: expect.any(String) }] });
  });
});
