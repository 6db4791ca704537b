import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowSeries } from '../../../src/consumers/alerts/window-series.ts';
import { FAILURE_REASON_CODES } from '../../../src/events/index.ts';

type Field = 'num' | 'den' | 'blocked';

/** Every add kept as it came: sums over a span of steps, by brute force. */
class Reference {
  readonly adds: { step: number; field: Field; reason?: string }[] = [];
  forgotBefore = -Infinity;

  sum(from: number, to: number, field: Field): number {
    return this.adds.filter((a) => a.field === field && a.step >= from && a.step <= to && a.step >= this.forgotBefore).length;
  }

  reasons(from: number, to: number): Map<string, number> {
    const m = new Map<string, number>();
    for (const a of this.adds) if (a.field === 'num' && a.reason && a.step >= from && a.step <= to) m.set(a.reason, (m.get(a.reason) ?? 0) + 1);
    return m;
  }

  steps(): number {
    return new Set(this.adds.filter((a) => a.step >= this.forgotBefore).map((a) => a.step)).size;
  }
}

const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), back: fc.nat({ max: 60 }), field: fc.constantFrom<Field>('num', 'den', 'blocked'), reason: fc.option(fc.constantFrom(...FAILURE_REASON_CODES), { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), steps: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 20, max: 400 })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), forget: fc.boolean(), checkFrom: fc.nat({ max: 40 }) }) },
);

describe('WindowSeries keeps exact counts in its rows however steps arrive and are forgotten', () => {
  it('rolling sums, windows re-walked for late events, top reasons and the steps held match a brute-force count', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 80 }), fc.array(op, { minLength: 1, maxLength: 400 }), (sizes, extraKeep, ops) => {
        const w = new WindowSeries('qontak_crm_deal_create', sizes);
        const ref = new Reference();
        const keep = Math.max(...sizes) + extraKeep;
        let now = 100_000;
        let evaluated = -Infinity;
        for (const o of ops) {
          if (o.kind === 'tick') now += o.steps;
          else if (o.kind === 'add') {
            // A late event lands in a step already evaluated, within what the engine still keeps.
            const step = Math.max(now - o.back, evaluated === -Infinity ? -Infinity : evaluated - keep + 1, ref.forgotBefore);
            const reason = o.field === 'num' ? o.reason : undefined;
            w.add(step, o.field, reason);
            ref.adds.push({ step, field: o.field, reason });
          } else {
            const end = now;
            if (end <= evaluated) continue;
            evaluated = end;
            const keepFrom = o.forget ? end - keep : -Infinity;
            w.advance(end, keepFrom);
            if (o.forget) ref.forgotBefore = Math.max(ref.forgotBefore, keepFrom);
            w.rolls.forEach((r) => {
              expect(r.end).toBe(end);
              for (const f of ['num', 'den', 'blocked'] as const) expect(r[f]).toBe(ref.sum(end - r.size + 1, end, f));
            });
            const from = end - o.checkFrom;
            sizes.forEach((size, roll) => {
              const got = w.windowsBetween(from, end, roll);
              for (let i = from; i <= end; i++) {
                expect(got.num[i - from]).toBe(ref.sum(i - size + 1, i, 'num'));
                expect(got.den[i - from]).toBe(ref.sum(i - size + 1, i, 'den'));
              }
            });
            const want = [...ref.reasons(end - sizes[0] + 1, end)].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
            expect(w.topReasons(end, sizes[0], FAILURE_REASON_CODES.length)).toEqual(want);
            expect(w.stepCount).toBe(ref.steps());
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('counts a reason past 65,535 in one step (its counters widen) without losing the others', () => {
    const w = new WindowSeries(undefined, [6]);
    for (let step = 10; step < 13; step++) w.add(step, 'num', 'crm_timeout');
    for (let n = 0; n < 70_000; n++) w.add(12, 'num', 'crm_server_error');
    w.add(13, 'num', 'network_error');
    w.advance(13, -Infinity);
    expect(w.rolls[0].num).toBe(70_004);
    expect(w.topReasons(13, 6)).toEqual([
      { reason: 'crm_server_error', count: 70_000 },
      { reason: 'crm_timeout', count: 3 },
      { reason: 'network_error', count: 1 },
    ]);
  });
});
