import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AlertEvaluator } from '../../../src/consumers/alerts/alert-evaluator.ts';
import { loadRulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { futureAllowanceMs } from '../../../src/events/index.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { freshTopics, uniqueName, waitFor } from '../../helpers/kafka.ts';
import { MIN, invoked, perMinute, traffic } from '../../unit/alerts/engine-driver.ts';
import { alertsSuite, channels, evaluator, produce, slackTexts } from './alerts-harness.ts';

/**
 * Real broker, real PostgreSQL: the evaluator's clock is held (so "at the allowance" and "1 ms beyond" are exact)
 * and moved by the test. A producer clock a day fast must not drag the evaluation into the future.
 */
describe('alert evaluator: events dated ahead of its clock', () => {
  const running: AlertEvaluator[] = [];
  const suite = alertsSuite({
    beforeTeardown: async () => {
      for (const ev of running) await ev.stop().catch(() => undefined);
    },
  });
  const { slack, pd } = suite;
  const ALLOWANCE = futureAllowanceMs();
  const DELAY = loadRulesFile().evaluationDelayMinutes * MIN;

  const checkpoint = async (groupId: string) =>
    Number((await suite.db.query<{ evaluated_through: string }>(`SELECT evaluated_through FROM alert_checkpoint WHERE id = $1`, [groupId]))[0]?.evaluated_through);

  it('an event 23 h ahead is not counted and moves neither the watermark nor the checkpoint past the clock; the real events that follow count, none late; at the allowance counts, 1 ms beyond does not', { timeout: 240_000 }, async () => {
    const { kafka, db } = suite;
    const { events: topic } = await freshTopics(kafka, 3);
    const start = Math.floor((Date.now() - 3 * 3600_000) / MIN) * MIN;
    const now = start;
    const groupId = uniqueName('alerts');
    // Half an hour of healthy traffic up to the clock, and one event from a producer whose clock is 23 h fast. They
    // are on the topic before the evaluator starts: an evaluator caught up on an empty topic advances to its clock
    // once idle, and these events, older than the evaluation delay, would then be late by design.
    const before = perMinute(start - 30 * MIN, 30, (m) => traffic(m, 5, 0));
    await produce(kafka, topic, [...before, invoked(start + 23 * 3600_000)]);
    const ev = evaluator({ kafka, db, rules: loadRulesFile(), eventsTopic: topic, groupId, clock: () => now, ...channels({ slack, pd }) });
    running.push(ev);
    await ev.start();
    await waitFor(() => ev.isLeader, { timeoutMs: 60_000, what: 'leadership' });
    await ev.rebuiltAndLeading();
    const engine = ev.currentEngine!;

    await waitFor(() => ev.stats.events + ev.stats.future >= before.length + 1, { timeoutMs: 60_000, what: 'part 1 read' });
    // Quiet and caught up, the watermark follows the clock (less the evaluation delay), and no further.
    await waitFor(() => engine.watermark.current >= now - DELAY, { timeoutMs: 60_000, what: 'the idle advance to the clock' });
    await ev.settled();
    expect(ev.stats).toMatchObject({ events: before.length, future: 1, invalid: 0 });
    expect(engine.watermark.current).toBeLessThanOrEqual(now);
    expect(engine.closedThroughMs).toBeLessThanOrEqual(now);
    expect(await checkpoint(groupId)).toBeLessThanOrEqual(now);

    // The real events that follow (their producers' clocks a little ahead of this one, within the allowance), one
    // exactly at the allowance and one 1 ms beyond. The clock stays put, so no idle advance can make them late.
    const after = perMinute(start, 4, (m) => traffic(m, 5, 0));
    await produce(kafka, topic, [...after, invoked(now + ALLOWANCE), invoked(now + ALLOWANCE + 1)]);
    await waitFor(() => ev.stats.events + ev.stats.future >= before.length + after.length + 3, { timeoutMs: 60_000, what: 'part 2 read' });
    await ev.settled();
    expect(ev.stats).toMatchObject({ events: before.length + after.length + 1, future: 2, invalid: 0 });
    expect(engine.stats.tooLate).toBe(0);
    expect(engine.stats.late).toBe(0);
    // The event at the allowance is the newest counted: the watermark may reach it (less the delay), no further.
    expect(engine.watermark.current).toBeLessThanOrEqual(now + ALLOWANCE - DELAY);
    expect(engine.closedThroughMs).toBeLessThanOrEqual(now + ALLOWANCE - DELAY);
    expect(await checkpoint(groupId)).toBeLessThanOrEqual(now);
    expect(ev.metrics().actionpulse_alerts_future_events_total).toBe(2);
  });

  it('a checkpoint stored 23 h ahead of the clock is repaired to now on start and logged at warn with both instants; a breach after it pages', { timeout: 240_000 }, async () => {
    const { kafka, db } = suite;
    const { events: topic } = await freshTopics(kafka, 3);
    const start = Math.floor((Date.now() - 3 * 3600_000) / MIN) * MIN;
    let now = start;
    const groupId = uniqueName('alerts');
    const skewed = start + 23 * 3600_000;
    await db.query(`INSERT INTO alert_checkpoint (id, evaluated_through) VALUES ($1, $2)`, [groupId, skewed]);
    // deal_create fails half its calls for 30 minutes before the clock: the 1 h failure-rate window still holds
    // them after the repaired checkpoint, where a decision may page (at or before the checkpoint, nothing may).
    await produce(kafka, topic, perMinute(start - 40 * MIN, 30, (m) => traffic(m, 10, 5)));

    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger({ level: 'warn', destination });
    const ev = evaluator({ kafka, db, rules: loadRulesFile(), eventsTopic: topic, groupId, clock: () => now, logger, ...channels({ slack, pd }) });
    running.push(ev);
    await ev.start();
    await waitFor(() => ev.isLeader, { timeoutMs: 60_000, what: 'leadership' });
    await ev.rebuiltAndLeading();
    await ev.settled();
    expect(await checkpoint(groupId)).toBe(start);
    const warned = lines.filter((l) => l.msg === 'alert checkpoint ahead of the clock: repaired to now');
    expect(warned).toEqual([expect.objectContaining({ level: 40, evaluatedThrough: new Date(skewed).toISOString(), now: new Date(start).toISOString() })]);

    now = start + 15 * MIN;
    const DEAL = 'node_type=qontak_crm_deal_create';
    await waitFor(() => slackTexts(slack, 'bot').some((t) => t.startsWith('[FIRING]') && t.includes(DEAL)), { timeoutMs: 90_000, what: 'the page after the repaired checkpoint' });
    expect(await checkpoint(groupId)).toBeLessThanOrEqual(now);
  });
});
