import { describe, expect, it } from 'vitest';
import { formatReport, runSoak } from '../../../bench/lib/soak-run.ts';

/**
 * The soak's short version: 24k deliveries (5% producer-retry duplicates) at 2,000/s through a real
 * emitter into a broker of the test's own, consumers as separate `actionpulse start --only …` processes.
 * The broker is SIGKILLed and restarted mid-load (the emitter spools meanwhile), then the ClickHouse
 * consumer process is SIGKILLed and restarted (uncommitted batches are redelivered, sliced differently).
 * After lag 0 on both groups: ClickHouse holds every distinct event exactly once (FINAL counts per event
 * name, uniqExact, the id set, the rollups), every dashboard metric equals the generator's ground truth,
 * and the Mixpanel recorder holds exactly the expected $insert_id set.
 */
describe('chaos: broker and consumer SIGKILL during load', () => {
  it('loses nothing and double-counts nothing in ClickHouse and Mixpanel', async () => {
    const lines: string[] = [];
    const report = await runSoak({
      seconds: 12,
      rate: 2000,
      seed: 31,
      chaos: ['kill-broker', 'kill-clickhouse'],
      schedule: { 'kill-broker': 0.2, 'kill-clickhouse': 0.5 },
      drainTimeoutSeconds: 240,
      log: (line) => lines.push(line),
    });
    const text = `${lines.join('\n')}\n${formatReport(report)}`;
    expect(report.checks.filter((c) => !c.ok), text).toEqual([]);
    expect(report.chaos.map((c) => c.name), text).toEqual(['kill-broker', 'kill-clickhouse']);
    // The faults really happened: the emitter had to spool while the broker was down, and the
    // clickhouse child is a new process after its SIGKILL.
    const figure = (name: string) => Number(report.figures.find(([k]) => k.startsWith(name))?.[1]);
    expect(figure('emitter spooled'), text).toBeGreaterThan(0);
    expect(figure('distinct events'), text).toBeGreaterThan(20_000);
    expect(figure('ClickHouse distinct event_id'), text).toBe(figure('distinct events'));
    expect(report.ok, text).toBe(true);
  }, 420_000);
});
