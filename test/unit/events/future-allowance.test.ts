import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_FUTURE_ALLOWANCE_MS,
  decodeEvent,
  futureAllowanceMs,
  setFutureAllowanceMs,
  validateEvent,
  type ValidationResult,
} from '../../../src/events/index.ts';
import { failedRecord } from './event-fixtures.ts';

// The clock is pinned (Date only; no timers run here), so "1 ms beyond" means exactly that.
const NOW = Date.UTC(2026, 11, 2, 9, 30, 0);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});

afterEach(() => {
  vi.useRealTimers();
  setFutureAllowanceMs(DEFAULT_FUTURE_ALLOWANCE_MS);
});

const at = (timestamp: number) => validateEvent({ ...failedRecord(), timestamp });

function refusal(result: ValidationResult) {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.event)}`);
  return result;
}

describe('the future allowance of the event contract', () => {
  it('is 5 minutes when nothing set it', () => {
    expect(DEFAULT_FUTURE_ALLOWANCE_MS).toBe(300_000);
    expect(futureAllowanceMs()).toBe(300_000);
  });

  it('default: exactly 5 min ahead is accepted, 1 ms beyond is refused as timestamp_in_future at field timestamp', () => {
    expect(at(NOW + 300_000).ok).toBe(true);
    const refused = refusal(at(NOW + 300_001));
    expect(refused.reason).toBe('timestamp_in_future');
    expect(refused.errors).toEqual([{ path: 'timestamp', message: expect.stringContaining('in the future') }]);
    expect(refused.errors[0].message).toContain(new Date(NOW + 300_001).toISOString());
    expect(refused.errors[0].message).toContain('EVENT_FUTURE_ALLOWANCE_SECONDS=300');
  });

  it('a set allowance moves both sides of the boundary: 0 and the 1 h maximum', () => {
    setFutureAllowanceMs(0);
    expect(at(NOW).ok).toBe(true);
    expect(refusal(at(NOW + 1)).reason).toBe('timestamp_in_future');
    setFutureAllowanceMs(3600_000);
    expect(at(NOW + 3600_000).ok).toBe(true);
    expect(refusal(at(NOW + 3600_001)).reason).toBe('timestamp_in_future');
    expect(refusal(at(NOW + 3600_001)).errors[0].message).toContain('60 min');
  });

  it('decoding Kafka bytes draws the same boundary with the same reason', () => {
    expect(decodeEvent(JSON.stringify({ ...failedRecord(), timestamp: NOW + 300_000 })).ok).toBe(true);
    const refused = refusal(decodeEvent(Buffer.from(JSON.stringify({ ...failedRecord(), timestamp: NOW + 300_001 }))));
    expect(refused.reason).toBe('timestamp_in_future');
    expect(refused.errors.map((e) => e.path)).toEqual(['timestamp']);
  });

  it('an event with other problems besides its future time is schema_invalid, listing each', () => {
    const refused = refusal(validateEvent({ ...failedRecord(), timestamp: NOW + 3600_000, node_type: 'qontak_fax_send' }));
    expect(refused.reason).toBe('schema_invalid');
    expect(refused.errors.map((e) => e.path).sort()).toEqual(['node_type', 'timestamp']);
    // 1e308 is not a safe integer either: the message must still be built (no Invalid Date thrown).
    const huge = refusal(at(1e308));
    expect(huge.reason).toBe('schema_invalid');
    expect(huge.errors.map((e) => e.message).join(' ')).toContain('1e+308');
  });

  it('the setter refuses what the setting cannot hold', () => {
    for (const ms of [-1, 3600_001, 1.5, Number.NaN]) expect(() => setFutureAllowanceMs(ms), String(ms)).toThrow(RangeError);
    expect(futureAllowanceMs()).toBe(DEFAULT_FUTURE_ALLOWANCE_MS);
  });
});
