/**
 * Soak + chaos: the demo-like workload (seeded generator, exact ground truth) through a real emitter into
 * the run's own Kafka broker, with each consumer group in its own `actionpulse start --only …` process.
 * During the load: SIGKILL + restart of the broker and of each consumer child, ClickHouse frozen for 60 s
 * (SIGSTOP/SIGCONT of the process embedding chDB), Mixpanel recorder answering 429 for 60 s. After every
 * group reaches lag 0: exact counts in ClickHouse, every metric equal to ground truth, every $insert_id in
 * the recorder, nothing doubled; RSS of every process at start/peak/end. Exit 1 on any mismatch.
 *
 *   npx tsx bench/soak-chaos.ts                          # 10 minutes at 5,000 events/s
 *   SOAK_SECONDS=120 SOAK_RATE=2000 npx tsx bench/soak-chaos.ts
 *   SOAK_OUTAGE_SECONDS=60 SOAK_ALERTS=on|off|auto SOAK_KEEP=1 SOAK_KAFKA_PORT=19392 (and +1) SOAK_SEED=8
 *
 * SOAK_MODE=cluster: a three-broker cluster (KRaft controller + 3 brokers on free ports, 256 MB heaps, topics at
 * replication 3 / min.insync.replicas 2) and two processes per Mixpanel and alerts group. Chaos: SIGKILL of the
 * leader of the fullest partition, later of a second broker (below min ISR for SOAK_OUTAGE_SECONDS, then both
 * restarted), SIGKILL + restart of the ClickHouse consumer; first of all, SIGKILL of the second process of each group.
 *
 *   SOAK_MODE=cluster SOAK_SECONDS=300 SOAK_RATE=3000 SOAK_OUTAGE_SECONDS=20 npx tsx bench/soak-chaos.ts
 *   SOAK_CHAOS=crash-second-instances,kill-partition-leader,kill-second-broker   (steps, in order)
 *
 * SOAK_MODE=max-rate: no chaos; bisects the offered rate between SOAK_RATE_LOW and SOAK_RATE_HIGH (defaults
 * 2,000 and 30,000), one whole soak of SOAK_SECONDS (default 60) per probe, and prints the highest rate at which
 * nothing was dropped and every check passed.
 *
 *   SOAK_MODE=max-rate SOAK_SECONDS=60 SOAK_RATE_LOW=2000 SOAK_RATE_HIGH=30000 npx tsx bench/soak-chaos.ts
 */
import { parseArgs } from 'node:util';
import { findMaxRate, formatMaxRate } from './lib/soak-max-rate.ts';
import { alertsAvailable, formatReport, runSoak, type ChaosName } from './lib/soak-run.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, rate: { type: 'string' } }, strict: false });
const maxRateMode = process.env.SOAK_MODE === 'max-rate';
const seconds = Number(values.seconds ?? process.env.SOAK_SECONDS ?? (maxRateMode ? 60 : 600));
const rate = Number(values.rate ?? process.env.SOAK_RATE ?? 5000);
const alertsMode = process.env.SOAK_ALERTS ?? 'auto';
const alerts = alertsMode === 'on' || (alertsMode === 'auto' && alertsAvailable());
// Default: two free ports picked by the OS, so the run never meets the dev (19092) or test (19192) broker.
const port = process.env.SOAK_KAFKA_PORT ? Number(process.env.SOAK_KAFKA_PORT) : undefined;
if (!(seconds > 0) || !(rate > 0)) {
  console.error('SOAK_SECONDS and SOAK_RATE must be positive numbers');
  process.exit(2);
}
if (maxRateMode) {
  const low = Number(process.env.SOAK_RATE_LOW ?? 2000);
  const high = Number(process.env.SOAK_RATE_HIGH ?? 30_000);
  if (!(low > 0) || !(high >= low)) {
    console.error('SOAK_RATE_LOW and SOAK_RATE_HIGH must be positive, LOW ≤ HIGH');
    process.exit(2);
  }
  console.log(`soak-chaos (max-rate mode): ${seconds} s per probe between ${low} and ${high} events/s, no chaos; alerts child ${alerts ? 'on' : 'off'}`);
  const result = await findMaxRate(
    { seconds, low, high, seed: Number(process.env.SOAK_SEED ?? 8), alerts, kafkaPort: port, kafkaControllerPort: port === undefined ? undefined : port + 1, childStartTimeoutSeconds: 600 },
    (line) => console.log(line),
  );
  console.log(formatMaxRate(result));
  process.exit(result.highestOk === undefined ? 1 : 0);
}
const clusterMode = process.env.SOAK_MODE === 'cluster';
const chaos: ChaosName[] = process.env.SOAK_CHAOS
  ? (process.env.SOAK_CHAOS.split(',') as ChaosName[])
  : clusterMode
  ? ['crash-second-instances', 'kill-partition-leader', 'kill-second-broker', 'kill-clickhouse']
  : ['kill-broker', 'kill-clickhouse', 'kill-mixpanel', ...(alerts ? (['kill-alerts'] as const) : []), 'freeze-clickhouse', 'mixpanel-429'];

console.log(`soak-chaos${clusterMode ? ' (cluster mode: 3 brokers, 2 processes per Mixpanel/alerts group)' : ''}: ${seconds} s at ${rate} events/s; alerts child ${alerts ? 'on' : 'off (start --only alerts not wired yet)'}; ClickHouse outage = SIGSTOP/SIGCONT of the process embedding chDB`);
const report = await runSoak({
  seconds,
  rate,
  seed: Number(process.env.SOAK_SEED ?? 8),
  chaos,
  alerts,
  outageSeconds: Number(process.env.SOAK_OUTAGE_SECONDS ?? 60),
  kafkaPort: port,
  kafkaControllerPort: port === undefined ? undefined : port + 1,
  keepData: process.env.SOAK_KEEP === '1',
  childStartTimeoutSeconds: 600,
  ...(clusterMode ? { brokers: 3, instances: 2, schedule: { 'crash-second-instances': 0.1, 'kill-partition-leader': 0.3, 'kill-second-broker': 0.55, 'kill-clickhouse': 0.8 } } : {}),
});
console.log(formatReport(report));
process.exit(report.ok ? 0 : 1);
