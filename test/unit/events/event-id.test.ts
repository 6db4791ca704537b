import { describe, expect, it } from 'vitest';
import { EVENT_ID_PATTERN, MIN_TIMESTAMP_MS, buildEvent, eventIdTime, newEventId } from '../../../src/events/index.ts';
import { MINIMAL_INPUTS } from './event-fixtures.ts';

describe('UUIDv7 event ids', () => {
  it('are RFC 9562 version 7, variant 10, lowercase, 36 characters', () => {
    const id = newEventId();
    expect(id).toMatch(EVENT_ID_PATTERN);
    expect(id).toHaveLength(36);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
  });

  it('are unique and strictly increasing within a process', () => {
    const ids = Array.from({ length: 50_000 }, () => newEventId());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      if (!(ids[i] > ids[i - 1])) throw new Error(`id ${i} ${ids[i]} is not after ${ids[i - 1]}`);
    }
  });

  it('stay ordered for many ids in the same millisecond', () => {
    const t = Date.now() + 10_000; // a millisecond no other test in this process has used
    const ids = Array.from({ length: 10_000 }, () => newEventId(t));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => eventIdTime(id) === t)).toBe(true);
  });

  it('a back-dated id does not break the order of the ids that follow', () => {
    const t = Date.now() + 20_000;
    const a = newEventId(t);
    const b = newEventId(t);
    const past = newEventId(t - 5_000);
    const c = newEventId(t);
    expect(eventIdTime(past)).toBe(t - 5_000);
    expect(past < a).toBe(true);
    expect(a < b && b < c).toBe(true);
  });

  it('eventIdTime returns the millisecond encoded in the id', () => {
    for (const t of [MIN_TIMESTAMP_MS, Date.UTC(2026, 4, 17, 8, 30, 12, 345), Date.now(), 2 ** 47 + 123]) {
      expect(eventIdTime(newEventId(t))).toBe(t);
    }
  });

  it('buildEvent derives the id from the event time and keeps supplied values', () => {
    const timestamp = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    const built = buildEvent({ ...MINIMAL_INPUTS.qontak_action_configured, timestamp });
    expect(built.timestamp).toBe(timestamp);
    expect(eventIdTime(built.event_id)).toBe(timestamp);
    expect(built.schema_version).toBe(1);

    const fixedId = newEventId(timestamp);
    expect(buildEvent({ ...MINIMAL_INPUTS.qontak_action_configured, event_id: fixedId, timestamp }).event_id).toBe(fixedId);

    const before = Date.now();
    const now = buildEvent(MINIMAL_INPUTS.qontak_agent_active);
    expect(now.timestamp).toBeGreaterThanOrEqual(before);
    expect(now.timestamp).toBeLessThanOrEqual(Date.now());
  });
});
