import { describe, expect, it } from 'vitest';
import { EventTimeWatermark } from '../../../src/consumers/alerts/event-time-watermark.ts';

const NOW = Date.UTC(2026, 11, 2, 9, 30, 0);
const MIN = 60_000;
const DELAY = 2 * MIN;
const ALLOWANCE = 5 * MIN;

describe('EventTimeWatermark bounded by clock + future allowance', () => {
  it('an event 23 h ahead moves the watermark no further than the bound (less the delay); later events move it on', () => {
    let now = NOW;
    const w = new EventTimeWatermark(DELAY);
    w.limitTo(() => now + ALLOWANCE);
    w.observe(0, NOW - MIN);
    w.setCaughtUp(0, true);
    expect(w.update()).toBe(NOW - MIN - DELAY);
    w.observe(0, NOW + 23 * 3600_000);
    expect(w.update()).toBe(NOW + ALLOWANCE - DELAY);
    now += 10 * MIN;
    w.observe(0, now);
    // The skewed maximum is still the partition's newest, so the bound (which moved with the clock) applies again.
    expect(w.update()).toBe(now + ALLOWANCE - DELAY);
  });

  it('exactly at the bound counts in full; the wall-clock fallback is bounded the same way', () => {
    const w = new EventTimeWatermark(DELAY);
    w.limitTo(() => NOW + ALLOWANCE);
    w.observe(0, NOW + ALLOWANCE);
    w.setCaughtUp(0, true);
    expect(w.update()).toBe(NOW + ALLOWANCE - DELAY);
    expect(w.advanceTo(NOW + ALLOWANCE + 1)).toBe(NOW + ALLOWANCE - DELAY);
  });

  it('without a bound (as the engine alone builds it) it follows the newest event time, however far ahead', () => {
    const w = new EventTimeWatermark(DELAY);
    w.observe(0, NOW + 23 * 3600_000);
    w.setCaughtUp(0, true);
    expect(w.update()).toBe(NOW + 23 * 3600_000 - DELAY);
  });
});
