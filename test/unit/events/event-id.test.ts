import { describe, expect, it } from 'vitest';
import {
  EVENT_ID_PATTERN,
  EventIdGenerator,
  INSTANCE_MAX,
  MIN_TIMESTAMP_MS,
  SEQUENCE_MAX,
  buildEvent,
  eventIdParts,
  eventIdTime,
  newEventId,
} from '../../../src/events/index.ts';
import { MINIMAL_INPUTS } from './event-fixtures.ts';

describe('UUIDv7 event ids', () => {
  it('are RFC 9562 version 7, variant 10, lowercase, 36 characters', () => {
    const id = newEventId();
    expect(id).toMatch(EVENT_ID_PATTERN);
    expect(id).toHaveLength(36);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
  });

  it('are unique and strictly increasing within a process (for a non-decreasing time)', () => {
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

  it('carry one instance for the whole process and a sequence that grows by exactly 1 per id, whatever the time', () => {
    const t = Date.now();
    // back-dated, repeated and future times: the sequence does not care
    const times = [t, t, t - 5_000, t + 1, MIN_TIMESTAMP_MS, t + 1, t + 60_000, t];
    const parts = times.map((ts) => eventIdParts(newEventId(ts))!);
    expect(parts.every((p) => p !== undefined)).toBe(true);
    expect(new Set(parts.map((p) => p.instance)).size).toBe(1);
    for (let i = 1; i < parts.length; i++) expect(parts[i].sequence).toBe(parts[i - 1].sequence + 1);
    expect(parts.map((p) => p.timeMs)).toEqual(times);
    // buildEvent draws from the same generator
    const built = eventIdParts(buildEvent(MINIMAL_INPUTS.qontak_agent_active).event_id)!;
    expect(built.instance).toBe(parts[0].instance);
    expect(built.sequence).toBe(parts[parts.length - 1].sequence + 1);
  });

  it('a generator gives back the instance and sequence it was given, for any 48-bit time', () => {
    for (const instance of [0, 1, 0xff_0000_0000, 0x12_3456_789a, INSTANCE_MAX]) {
      for (const sequence of [0, 1, 0xffff, 0x10000, 0x123_4567, SEQUENCE_MAX - 1]) {
        for (const t of [0, MIN_TIMESTAMP_MS, 2 ** 32 - 1, 2 ** 32, 2 ** 48 - 1]) {
          const g = new EventIdGenerator({ instance, sequence });
          const id = g.next(t);
          expect(id).toMatch(EVENT_ID_PATTERN);
          expect(eventIdTime(id)).toBe(t);
          expect(eventIdParts(id)).toEqual({ timeMs: t, instance, sequence });
          expect(g.sequence).toBe(sequence + 1);
        }
      }
    }
    expect(() => new EventIdGenerator({ instance: INSTANCE_MAX + 1 })).toThrow(RangeError);
    expect(() => new EventIdGenerator({ sequence: SEQUENCE_MAX + 1 })).toThrow(RangeError);
    expect(() => new EventIdGenerator({ sequence: -1 })).toThrow(RangeError);
  });

  it('draws a new instance and starts the sequence again at 0 instead of wrapping', () => {
    const g = new EventIdGenerator({ instance: 42, sequence: SEQUENCE_MAX - 1 });
    const t = Date.now();
    const ids = [g.next(t), g.next(t), g.next(t), g.next(t + 1)];
    const parts = ids.map((id) => eventIdParts(id)!);
    expect(parts.map((p) => p.sequence)).toEqual([SEQUENCE_MAX - 1, SEQUENCE_MAX, 0, 1]);
    expect(parts[0].instance).toBe(42);
    expect(parts[1].instance).toBe(42);
    expect(parts[2].instance).not.toBe(42);
    expect(parts[3].instance).toBe(parts[2].instance);
    expect(g.instance).toBe(parts[2].instance);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => EVENT_ID_PATTERN.test(id) && eventIdTime(id) <= t + 1)).toBe(true);
    // the one place the order within a millisecond breaks: the first id of the new instance sorts first
    expect(ids[1] > ids[0]).toBe(true);
    expect(ids[2] < ids[1]).toBe(true);
    expect(ids[3] > ids[2]).toBe(true);
  });

  it('another process (a restart) gets another instance and its own sequence from 0', () => {
    const before = new EventIdGenerator();
    const after = new EventIdGenerator();
    const t = Date.now();
    const a = eventIdParts(before.next(t))!;
    const b = eventIdParts(after.next(t))!;
    expect(a.sequence).toBe(0);
    expect(b.sequence).toBe(0);
    expect(a.instance).not.toBe(b.instance);
  });

  it('are told apart from other UUIDv7s by their check bits', () => {
    const g = new EventIdGenerator();
    const t = Date.now();
    let foreignPassing = 0;
    for (let i = 0; i < 64_000; i++) {
      const id = g.next(t + (i >> 4));
      // any one bit changed outside the time, version and variant makes the check fail or changes the parts
      const bit = 52 + (i % 76);
      const hex = id.replaceAll('-', '');
      const nibble = Math.floor(bit / 4);
      const flipped = (parseInt(hex[nibble], 16) ^ (8 >> bit % 4)).toString(16);
      const other = hex.slice(0, nibble) + flipped + hex.slice(nibble + 1);
      const otherId = `${other.slice(0, 8)}-${other.slice(8, 12)}-${other.slice(12, 16)}-${other.slice(16, 20)}-${other.slice(20)}`;
      const p = eventIdParts(otherId);
      if (p !== undefined) expect(p).not.toEqual(eventIdParts(id));
      const random = crypto.randomUUID();
      const v7 = `${id.slice(0, 14)}7${random.slice(15)}`;
      if (eventIdParts(v7) !== undefined) foreignPassing++;
    }
    // random UUIDv7s pass one time in 64: 1,000 expected, the bound is 6 standard deviations away
    expect(foreignPassing).toBeGreaterThan(1000 - 6 * 31);
    expect(foreignPassing).toBeLessThan(1000 + 6 * 31);
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
