import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, parseRetryAfter, retryDelay, sleep, type BackoffPolicy } from '../../../src/platform/retry.ts';

const policy: BackoffPolicy = { initialMs: 100, maxMs: 1000, multiplier: 2 };
const fixed = (value: number) => () => value;

describe('full-jitter backoff', () => {
  it('the window doubles per attempt up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffCeiling(n, policy))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffCeiling(0, policy)).toBe(100);
  });

  it('the wait is random × window, from 0 (not half the window) up to just under it', () => {
    expect(backoffDelay(3, policy, fixed(0))).toBe(0);
    expect(backoffDelay(3, policy, fixed(0.25))).toBe(100);
    expect(backoffDelay(3, policy, fixed(0.999999))).toBe(399);
    expect(backoffDelay(10, policy, fixed(0.5))).toBe(500);
  });

  it('with a real random source every wait lands in [0, window) and uses the lower half too', () => {
    const waits = Array.from({ length: 2000 }, () => backoffDelay(4, policy));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...waits)).toBeLessThan(800);
    expect(waits.filter((w) => w < 400).length).toBeGreaterThan(0);
  });
});

describe('retryDelay with a server-requested wait', () => {
  it('without one it is the jittered backoff', () => {
    expect(retryDelay(2, policy, undefined, fixed(0.5))).toBe(100);
  });

  it("the server's wait is a floor over the jitter", () => {
    expect(retryDelay(2, policy, 5000, fixed(0.5))).toBe(5000);
    expect(retryDelay(5, policy, 10, fixed(0.5))).toBe(500);
    expect(retryDelay(1, policy, 0, fixed(0))).toBe(0);
  });

  it('maxServerDelayMs bounds what a server may ask for', () => {
    expect(retryDelay(2, { ...policy, maxServerDelayMs: 2000 }, 60_000, fixed(0.5))).toBe(2000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });

  it('reads an HTTP-date relative to now, and a past date as 0', () => {
    expect(parseRetryAfter(new Date(now + 7000).toUTCString(), now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:59:00 GMT', now)).toBe(0);
  });

  it('takes the first of repeated headers (node gives arrays for some)', () => {
    expect(parseRetryAfter(['3', '9'], now)).toBe(3000);
  });

  it('ignores what is neither', () => {
    for (const bad of ['', '   ', 'soon', '-1', '1e3', '2s', null, undefined]) expect(parseRetryAfter(bad, now)).toBeUndefined();
  });
});

describe('abortable sleep', () => {
  it('waits at least the time given', async () => {
    const started = performance.now();
    await sleep(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('ends as soon as the signal aborts, and at once when already aborted', async () => {
    const controller = new AbortController();
    const long = sleep(60_000, controller.signal);
    let woke = false;
    void long.then(() => (woke = true));
    await sleep(5);
    expect(woke).toBe(false);
    controller.abort();
    await long;
    expect(woke).toBe(true);
    await sleep(60_000, controller.signal);
  });
});
