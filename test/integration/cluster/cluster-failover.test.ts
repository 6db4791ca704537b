import { describe, expect, it } from 'vitest';
import { formatReport, runSoak } from '../../../bench/lib/soak-run.ts';

/**
 * A three-broker cluster of the test's own (KRaft controller + 3 brokers on free ports, 256 MB heaps), the
 * topics at replication factor 3 and min.insync.replicas 2, the workload through a real idempotent acks=all
 * emitter at 2,000 events/s for 30 s. Consumers are separate `actionpulse start --only …` processes: one for
 * ClickHouse (embedded chDB is one folder per process) and TWO for the Mixpanel group.
 *
 * Faults, in order: the second Mixpanel process is SIGKILLed (never restarted);
 * the broker leading the fullest partition is SIGKILLed (stays down); later a second broker is SIGKILLed,
 * leaving one in-sync copy, below the minimum, so every write is refused: the emitter must hold and spool,
 * and resume by itself once both brokers are started again.
 *
 * After lag 0: ClickHouse holds every distinct produced event exactly once (FINAL counts per event name,
 * uniqExact, the id set, the rollups), every dashboard metric equals ground truth, the Mixpanel recorder
 * holds exactly the expected $insert_id set, the dead-letter topic is empty, and the surviving Mixpanel
 * process owns all partitions.
 */
describe('chaos: three-broker cluster, broker SIGKILLs below min ISR, a second Mixpanel consumer process SIGKILLed', () => {
  it('loses nothing and double-counts nothing in ClickHouse and Mixpanel; the emitter holds, spools and resumes by itself', async () => {
    const lines: string[] = [];
    const report = await runSoak({
      seconds: 30,
      rate: 2000,
      seed: 43,
      brokers: 3,
      instances: 2,
      // Alerts stay out of this run to keep it within a busy 2-core machine (the soak's cluster mode adds them).
      alerts: false,
      chaos: ['crash-second-instances', 'kill-partition-leader', 'kill-second-broker'],
      schedule: { 'crash-second-instances': 0.1, 'kill-partition-leader': 0.3, 'kill-second-broker': 0.55 },
      outageSeconds: 6,
      drainTimeoutSeconds: 600,
      // A busy machine takes a minute or more to start each consumer process.
      childStartTimeoutSeconds: 900,
      log: (line) => lines.push(line),
    });
    const text = `${lines.join('\n')}\n${formatReport(report)}`;
    // The figures (stall and resume times, group membership, spool peak) are the point of the run: print them.
    process.stdout.write(`${text}\n`);
    expect(report.checks.filter((c) => !c.ok), text).toEqual([]);
    expect(report.chaos.map((c) => c.name), text).toEqual(['crash-second-instances', 'kill-partition-leader', 'kill-second-broker']);
    const figure = (name: string) => report.figures.find(([k]) => k.startsWith(name))?.[1];
    // The faults really happened: writes were refused below min ISR and went to the spool meanwhile,
    // and two Mixpanel processes shared the partitions until one was killed, then one held them all.
    expect(Number(figure('emitter spooled')), text).toBeGreaterThan(0);
    expect(Number(figure('kill-second-broker: writes refused (held, spooled) for (s)')), text).toBeGreaterThan(0);
    expect(figure('Mixpanel group before the crash'), text).toMatch(/^2 member\(s\): \[\d(,\d)*\] \[\d(,\d)*\]$/);
    expect(figure('Mixpanel group after the crash'), text).toBe('1 member(s): [0,1,2,3,4,5]');
    expect(Number(figure('distinct events')), text).toBeGreaterThan(50_000);
    expect(Number(figure('ClickHouse distinct event_id')), text).toBe(Number(figure('distinct events')));
    expect(report.ok, text).toBe(true);
  }, 2_400_000);
});
