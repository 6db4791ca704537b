import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DEFAULT_CLICKHOUSE_GROUP } from '../../src/consumers/clickhouse/clickhouse-consumer.ts';
import { consumerLag } from '../../src/consumers/clickhouse/consumer-lag.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { kafkaConnectionFromConfig } from '../../src/platform/kafka/kafka-connection.ts';
import type { KafkaPort } from '../../src/platform/kafka/kafka-port.ts';
import { createPlatformaticKafka } from '../../src/platform/kafka/platformatic-adapter.ts';
import { ensureTopics, pipelineTopics } from '../../src/platform/kafka/topics.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createEmitter, type Emitter } from '../../src/producers/emitter.ts';
import { MixpanelRecorder } from '../../src/simulators/mixpanel-recorder.ts';
import { emitAtRate, soakWorkload, type LoadResult } from './soak-load.ts';
import { busiestPartitionLeader, ConsumerChild, freePort, rssMb, sleep, SoakBroker, SoakCluster, until } from './soak-processes.ts';
import { formatMembers, settledGroupMembers } from './soak-groups.ts';
import { stallAround, type ProgressSample } from './soak-progress.ts';
import { checkClickhouseStore, checkDeadLetters, checkMetricsViaDashboard, checkMixpanel, type Check } from './soak-verify.ts';
import { loadRateThresholds } from '../../src/consumers/alerts/rate-thresholds.ts';

/**
 * One soak + chaos run, shared by bench/soak-chaos.ts (10 minutes at 5k/s) and the short chaos test:
 * own broker, consumers as separate `actionpulse start --only …` processes, the workload through a real
 * emitter at a steady rate, chaos steps at scheduled moments, then — once every group's lag is 0 — exact
 * checks against the generator's ground truth. Everything started here is stopped in `finally`.
 */
export type ChaosName =
  | 'kill-broker'
  | 'kill-clickhouse'
  | 'kill-mixpanel'
  | 'kill-alerts'
  | 'freeze-clickhouse'
  | 'mixpanel-429'
  // Three-broker runs: SIGKILL the leader of the fullest partition (it stays down), later a second broker
  // (one in-sync copy left, below min.insync.replicas=2: every acks=all write is refused) held down for
  // the outage length, then both start again.
  | 'kill-partition-leader'
  | 'kill-second-broker'
  // With two instances per group: SIGKILL the second process of each group during the load, never restarted.
  | 'crash-second-instances';

export interface SoakOptions {
  seconds: number;
  rate: number;
  seed?: number;
  /** Chaos steps in order; each runs at its share of the load phase (see `schedule`). */
  chaos: ChaosName[];
  /** Overrides of SCHEDULE: when a step runs, as a share of the load phase. */
  schedule?: Partial<Record<ChaosName, number>>;
  /** Length of the ClickHouse freeze and of the Mixpanel 429 storm. */
  outageSeconds?: number;
  /** Run the alert evaluator as its own child (needs `start --only alerts`). */
  alerts?: boolean;
  /** 1 = one broker (default); 3 = a local three-broker cluster, topics at replication 3 / min ISR 2. */
  brokers?: number;
  /** Processes per consumer group for Mixpanel and alerts (ClickHouse stays one: embedded chDB is one folder per process). */
  instances?: number;
  kafkaPort?: number;
  kafkaControllerPort?: number;
  drainTimeoutSeconds?: number;
  childStartTimeoutSeconds?: number;
  keepData?: boolean;
  log?: (line: string) => void;
}

export interface ChaosRecord {
  name: ChaosName;
  plannedAtS: number;
  atS: number;
  /** How long the fault lasted (kill → back up, or the outage). */
  downMs: number;
  detail: string;
}

export interface SoakReport {
  ok: boolean;
  checks: Check[];
  figures: [string, string | number][];
  chaos: ChaosRecord[];
  rss: { process: string; startMb?: number; peakMb?: number; endMb?: number }[];
  workDir: string;
}

const MIXPANEL_GROUP = 'actionpulse-mixpanel';

/** When each step runs, as a share of the load phase: spread out so each recovery is seen on its own. */
const SCHEDULE: Record<ChaosName, number> = {
  'kill-broker': 0.12,
  'kill-clickhouse': 0.27,
  'kill-mixpanel': 0.38,
  'kill-alerts': 0.45,
  'freeze-clickhouse': 0.5,
  'mixpanel-429': 0.7,
  'kill-partition-leader': 0.2,
  'kill-second-broker': 0.45,
  'crash-second-instances': 0.75,
};

export function alertsAvailable(): boolean {
  // `start --only alerts` runs the evaluator once the pipeline wires it; until then it would idle.
  return readFileSync(resolve(import.meta.dirname, '../../src/app/pipeline.ts'), 'utf8').includes("run.has('alerts')");
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const t0 = Date.now();
  const at = () => Math.round((Date.now() - t0) / 100) / 10;
  const say = (line: string) => log(`[${at().toFixed(1).padStart(6)} s] ${line}`);
  const workDir = mkdtempSync(join(tmpdir(), 'ap-soak-'));
  const suffix = randomBytes(3).toString('hex');
  const topic = `soak-events-${suffix}`;
  const dlq = `soak-dlq-${suffix}`;
  const outageMs = (o.outageSeconds ?? 60) * 1000;
  const figures: [string, string | number][] = [];
  const chaos: ChaosRecord[] = [];
  const checks: Check[] = [];
  const children: ConsumerChild[] = [];
  const rss = new Map<string, { startMb?: number; peakMb?: number; endMb?: number }>();
  let emitter: Emitter | undefined;
  let kafka: KafkaPort | undefined;
  let recorder: MixpanelRecorder | undefined;
  const brokerCount = o.brokers ?? 1;
  const cluster =
    brokerCount > 1
      ? new SoakCluster({ dataDir: join(workDir, 'kafka'), brokerPorts: await Promise.all(Array.from({ length: brokerCount }, () => freePort())), controllerPort: await freePort() })
      : undefined;
  const single = cluster
    ? undefined
    : new SoakBroker({ dataDir: join(workDir, 'broker'), port: o.kafkaPort ?? (await freePort()), controllerPort: o.kafkaControllerPort ?? (await freePort()) });
  const broker: { brokers: string[]; start(): Promise<number>; stop(): Promise<void> } = cluster ?? single!;
  const replication = cluster ? { replicationFactor: 3, minInsyncReplicas: 2 } : undefined;
  let sampler: NodeJS.Timeout | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  const progress: ProgressSample[] = [];
  const faults: { name: ChaosName; atMs: number; restartedAtMs?: number }[] = [];
  const crashed = new Set<ConsumerChild>();
  try {
    say(`work dir ${workDir}; generating ${o.rate * o.seconds} deliveries (seed ${o.seed ?? 8})…`);
    const gen = Date.now();
    const { workload, expected } = soakWorkload({ seed: o.seed ?? 8, deliveries: o.rate * o.seconds });
    const deliveries = workload.deliveries;
    figures.push(['deliveries (incl. producer-retry duplicates)', deliveries.length], ['distinct events', expected.ids.size], ['distinct events for Mixpanel', expected.mixpanelIds.size]);
    say(`workload: ${deliveries.length} deliveries, ${expected.ids.size} distinct, in ${Date.now() - gen} ms`);

    figures.push(['broker start (ms)', await broker.start()]);
    say(cluster ? `cluster ${broker.brokers.join(',')} (controller + ${brokerCount} brokers)` : `broker ${broker.brokers[0]} pid ${single!.pid}`);
    const config = loadConfig({}, {
      dataDir: join(workDir, 'producer'),
      'kafka.brokers': broker.brokers,
      'kafka.eventsTopic': topic,
      'kafka.deadLetterTopic': dlq,
      'kafka.partitions': 6,
      ...(replication ? { 'kafka.replicationFactor': replication.replicationFactor, 'kafka.minInsyncReplicas': replication.minInsyncReplicas } : {}),
    });
    const producerLog = createLogger({ level: 'info', destination: createWriteStream(join(workDir, 'producer.log')) });
    kafka = createPlatformaticKafka(kafkaConnectionFromConfig(config, broker.brokers));
    await ensureTopics(kafka, pipelineTopics(config.kafka));

    const secret = randomBytes(16).toString('hex');
    recorder = await new MixpanelRecorder({ projectSecret: secret, keepRecords: false }).start();
    let stormUntil = 0;
    recorder.faultPlan = () => (Date.now() < stormUntil ? { kind: 'status', status: 429 } : undefined);

    const env: Record<string, string> = { KAFKA_BROKERS: broker.brokers.join(','), KAFKA_EVENTS_TOPIC: topic, KAFKA_DLQ_TOPIC: dlq, KAFKA_PARTITIONS: '6', LOG_LEVEL: 'info' };
    if (replication) Object.assign(env, { KAFKA_REPLICATION_FACTOR: String(replication.replicationFactor), KAFKA_MIN_INSYNC_REPLICAS: String(replication.minInsyncReplicas) });
    const ch = new ConsumerChild({ name: 'clickhouse', only: ['clickhouse', 'http'], dataDir: join(workDir, 'clickhouse'), env, httpPort: await freePort() });
    const mp = new ConsumerChild({
      name: 'mixpanel',
      only: ['mixpanel'],
      dataDir: join(workDir, 'mixpanel'),
      env: { ...env, MIXPANEL_API_HOST: recorder.url, MIXPANEL_API_SECRET: secret },
      httpPort: await freePort(),
    });
    children.push(ch, mp);
    const al = o.alerts ? new ConsumerChild({ name: 'alerts', only: ['alerts'], dataDir: join(workDir, 'alerts'), env, httpPort: await freePort() }) : undefined;
    if (al) children.push(al);
    // More processes of the same groups: same settings, own data folder and port; the group shares the partitions.
    for (let i = 2; i <= (o.instances ?? 1); i++) {
      children.push(new ConsumerChild({ ...mp.o, name: `mixpanel-${i}`, dataDir: join(workDir, `mixpanel-${i}`), httpPort: await freePort() }));
      if (al) children.push(new ConsumerChild({ ...al.o, name: `alerts-${i}`, dataDir: join(workDir, `alerts-${i}`), httpPort: await freePort() }));
    }
    // All at once: on a busy machine one child takes a minute or more to start (tsx, chDB, Kafka joins).
    await Promise.all(children.map(async (c) => say(`${c.o.name} child started in ${await c.start((o.childStartTimeoutSeconds ?? 180) * 1000)} ms (pid ${c.pid})`)));
    const byName = new Map(children.map((c) => [c.o.name, c]));
    const mixpanelProcesses = children.filter((c) => c.o.only.includes('mixpanel')).length;
    if (mixpanelProcesses > 1) {
      // A started process may still be joining its group: the load (and the crash of one member) waits until
      // every Mixpanel process holds partitions, so the run really starts with the partitions shared.
      const members = await settledGroupMembers(kafka, MIXPANEL_GROUP, topic, (o.childStartTimeoutSeconds ?? 180) * 1000, mixpanelProcesses);
      say(`Mixpanel group settled: ${formatMembers(members)}`);
    }

    const processes = (): [string, number | undefined][] => [['producer + recorder (this process)', process.pid], ...(cluster ? cluster.pids() : [['kafka broker', single!.pid] as [string, number | undefined]]), ...children.map((c): [string, number | undefined] => [`${c.o.name} child`, c.pid])];
    for (const [name, pid] of processes()) rss.set(name, { startMb: rssMb(pid), peakMb: rssMb(pid) });
    sampler = setInterval(() => {
      for (const [name, pid] of processes()) {
        const r = rss.get(name)!;
        const mb = rssMb(pid);
        if (mb !== undefined) r.peakMb = Math.max(r.peakMb ?? 0, mb);
      }
    }, 2000);

    emitter = await createEmitter(config, { kafka, logger: producerLog });
    const e = emitter;
    progressTimer = setInterval(() => {
      const st = e.stats();
      progress.push({ t: Date.now(), sent: st.sent, spooled: st.spoolRecords });
    }, 100);
    const loadMs = (deliveries.length / o.rate) * 1000;
    const steps = o.chaos.filter((c) => c !== 'kill-alerts' || al);
    const chaosRun = (async () => {
      const loadStarted = Date.now();
      for (const name of steps) {
        const plannedAtS = Math.round(((o.schedule?.[name] ?? SCHEDULE[name]) * loadMs) / 1000);
        while (Date.now() - loadStarted < plannedAtS * 1000) await sleep(200);
        const atS = Math.round((Date.now() - loadStarted) / 1000);
        const began = Date.now();
        let detail = '';
        say(`chaos: ${name}`);
        if (name === 'kill-partition-leader' || name === 'kill-second-broker') {
          if (!cluster) throw new Error(`${name} needs a cluster (brokers: 3)`);
          if (name === 'kill-partition-leader') {
            const { partition, leader, isr } = await busiestPartitionLeader(kafka!, topic);
            faults.push({ name, atMs: Date.now() });
            await cluster.kill(leader);
            detail = `SIGKILL broker ${leader}, leader of partition ${partition} (the fullest; ISR was [${isr.join(',')}]); it stays down`;
          } else {
            const second = cluster.cluster.nodeIds.find((id) => !cluster.down.has(id))!;
            const fault: (typeof faults)[number] = { name, atMs: Date.now() };
            faults.push(fault);
            await cluster.kill(second);
            await sleep(outageMs);
            const down = [...cluster.down];
            fault.restartedAtMs = Date.now();
            const restartMs = await cluster.restartDown();
            detail = `SIGKILL broker ${second}: one in-sync copy left (< min.insync.replicas 2) for ${outageMs / 1000} s, then brokers ${down.join(',')} started again (registered in ${restartMs} ms)`;
          }
        } else if (name === 'crash-second-instances') {
          const seconds = children.filter((c) => /-2$/.test(c.o.name));
          figures.push(['Mixpanel group before the crash', formatMembers(await settledGroupMembers(kafka!, MIXPANEL_GROUP, topic, outageMs + 300_000))]);
          for (const c of seconds) await c.kill();
          seconds.forEach((c) => crashed.add(c));
          faults.push({ name, atMs: Date.now() });
          detail = `SIGKILL of ${seconds.map((c) => `${c.o.name} (pid ${c.proc?.pid})`).join(', ')} during the load, not restarted`;
        } else if (name === 'kill-broker') {
          if (!single) throw new Error('kill-broker needs the single broker (brokers: 1)');
          await single.kill();
          const startMs = await single.restart();
          detail = `SIGKILL, restarted (broker start ${startMs} ms, pid ${single.pid})`;
        } else if (name.startsWith('kill-')) {
          const child = byName.get(name.slice(5))!;
          await child.kill();
          const startMs = await child.start((o.childStartTimeoutSeconds ?? 180) * 1000);
          child.restarts++;
          detail = `SIGKILL, restarted in ${startMs} ms (pid ${child.pid})`;
        } else if (name === 'freeze-clickhouse') {
          // chDB is embedded: the honest "ClickHouse unavailable" is freezing the process that hosts it.
          ch.freeze();
          await sleep(outageMs);
          ch.thaw();
          detail = `SIGSTOP ${outageMs / 1000} s then SIGCONT of the clickhouse child (its embedded chDB engine, consumer and dashboard frozen)`;
        } else if (name === 'mixpanel-429') {
          const before = recorder!.requests.faults;
          stormUntil = Date.now() + outageMs;
          await sleep(outageMs);
          detail = `recorder answered 429 to all /import for ${outageMs / 1000} s (${recorder!.requests.faults - before} requests refused)`;
        }
        chaos.push({ name, plannedAtS, atS, downMs: Date.now() - began, detail });
        say(`chaos: ${name} done — ${detail}`);
      }
    })();
    let lastReport = Date.now();
    const load: LoadResult = await emitAtRate(emitter, deliveries, o.rate, (sent) => {
      if (Date.now() - lastReport < 10_000) return;
      lastReport = Date.now();
      const s = emitter!.stats();
      say(`load: ${sent}/${deliveries.length} emitted; emitter sent ${s.sent}, spool ${s.spoolRecords}, dropped ${s.dropped}, mode ${s.mode}`);
    });
    figures.push(['target rate (events/s)', o.rate], ['achieved emit rate (events/s)', Math.round((load.emitted * 1000) / load.ms)], ['load phase (s)', Math.round(load.ms / 1000)], ['producer max pacing gap (ms)', load.maxTickGapMs]);
    say(`load done: ${load.emitted} in ${Math.round(load.ms / 1000)} s; waiting for the chaos steps to finish…`);
    await chaosRun;
    const drainStart = Date.now();
    const drainTimeout = (o.drainTimeoutSeconds ?? 900) * 1000;
    const drained = await emitter.drained(drainTimeout);
    const es = emitter.stats();
    figures.push(['emitter accepted', es.accepted], ['emitter sent to Kafka', es.sent], ['emitter spooled (during broker outage)', es.spooled], ['emitter dropped', es.dropped]);
    checks.push({ name: 'emitter drained, nothing dropped', ok: drained && es.dropped === 0 && es.accepted === deliveries.length, detail: `drained=${drained} accepted=${es.accepted}/${deliveries.length} dropped=${es.dropped}` });

    const groups: [string, string][] = [['clickhouse', DEFAULT_CLICKHOUSE_GROUP], ['mixpanel', MIXPANEL_GROUP]];
    const lagOf = async (group: string) => [...(await consumerLag(kafka!, group, topic)).values()].reduce((a, b) => a + b, 0);
    let lastLagLog = 0;
    await until(
      async () => {
        const lags = await Promise.all(groups.map(async ([, g]) => lagOf(g).catch(() => -1)));
        if (Date.now() - lastLagLog > 10_000) {
          lastLagLog = Date.now();
          say(`drain: lag ${groups.map(([n], i) => `${n}=${lags[i]}`).join(' ')}; Mixpanel distinct ids ${recorder!.accepted.size}/${expected.mixpanelIds.size}`);
        }
        return lags.every((l) => l === 0);
      },
      drainTimeout,
      'every consumer group to reach lag 0',
      1000,
    );
    figures.push(['drain after load+chaos (s): lag 0 on every group', Math.round((Date.now() - drainStart) / 1000)]);
    clearInterval(progressTimer);
    for (const f of faults) {
      if (f.name === 'crash-second-instances') {
        figures.push(['Mixpanel group after the crash', formatMembers(await settledGroupMembers(kafka, MIXPANEL_GROUP, topic, drainTimeout))]);
        continue;
      }
      const stall = stallAround(progress, f.atMs);
      if (!stall) {
        figures.push([`${f.name}: emitter acknowledgements never paused`, 0]);
      } else if (f.restartedAtMs) {
        figures.push([`${f.name}: writes refused (held, spooled) for (s)`, Math.round((stall.resumedAt - stall.stoppedAt) / 100) / 10]);
        figures.push([`${f.name}: first ack after the restart (s)`, Math.round((stall.resumedAt - f.restartedAtMs) / 100) / 10]);
      } else {
        figures.push([`${f.name}: first ack after the kill (s)`, Math.round((stall.resumedAt - f.atMs) / 100) / 10]);
      }
    }
    const peakSpool = progress.reduce((m, p) => Math.max(m, p.spooled), 0);
    if (faults.length) figures.push(['emitter spool peak (records)', peakSpool]);
    figures.push(['end-to-end throughput (distinct events/s, load start → lag 0)', Math.round(expected.ids.size / ((load.ms + Date.now() - drainStart) / 1000))]);
    say('every group at lag 0: checking');

    // Dashboard metrics through the clickhouse child's own API (it must be up and unfrozen by now).
    // Each check on its own: one that throws (e.g. the dashboard refusing a request) must not hide the rest.
    const attempt = async (name: string, run: () => Promise<Check[]>) => {
      try {
        checks.push(...(await run()));
      } catch (err) {
        checks.push({ name, ok: false, detail: (err as Error).stack ?? String(err) });
      }
    };
    checks.push(checkMixpanel(recorder, expected.mixpanelIds));
    await attempt('dashboard API metrics equal ground truth', () => checkMetricsViaDashboard(ch.url, workload, loadRateThresholds(config.alerts)));
    figures.push(['Mixpanel /import requests', recorder.requests.import], ['Mixpanel records accepted (incl. redeliveries)', recorder.acceptedTotal], ['Mixpanel 429 answers', recorder.requests.faults]);
    const crash = faults.find((f) => f.name === 'crash-second-instances');
    if (crash && al && [...crashed].some((c) => c.o.name === 'alerts-2')) {
      // pino lines of the surviving evaluator: it must (re)join the group as the leader after the crash.
      const joins = readFileSync(join(al.o.dataDir, 'child.log'), 'utf8')
        .split('\n')
        .flatMap((l) => {
          try {
            const j = JSON.parse(l) as { msg?: string; time?: number; leader?: boolean };
            return j.msg === 'alert evaluator group joined' && (j.time ?? 0) >= crash.atMs ? [j.leader] : [];
          } catch {
            return [];
          }
        });
      checks.push({ name: 'alerts: the surviving evaluator process leads after the other one was SIGKILLed', ok: joins.includes(true), detail: `group joins after the crash: ${JSON.stringify(joins)}` });
    }
    const k = kafka;
    await attempt('dead-letter topic empty', async () => [await checkDeadLetters(k, dlq)]);

    for (const [name, pid] of processes()) rss.get(name)!.endMb = rssMb(pid);
    clearInterval(sampler);
    for (const c of children) {
      if (crashed.has(c)) {
        checks.push({ name: `${c.o.name} child: SIGKILLed during the load (not restarted), no other exit`, ok: c.unexpectedExits.length === 0, detail: JSON.stringify(c.unexpectedExits) });
        continue;
      }
      const code = await c.stop();
      checks.push({ name: `${c.o.name} child: no crash, clean stop`, ok: code === 0 && c.unexpectedExits.length === 0, detail: `exit ${code}; unexpected exits ${JSON.stringify(c.unexpectedExits)}` });
    }
    // The clickhouse child is gone: its chDB folder is ours to open.
    await attempt('ClickHouse store counts', async () => {
      const store = await checkClickhouseStore(join(workDir, 'clickhouse'), 'actionpulse', expected);
      figures.push(...store.figures);
      return store.checks;
    });
  } catch (err) {
    checks.push({ name: 'run completed', ok: false, detail: (err as Error).stack ?? String(err) });
  } finally {
    clearInterval(sampler);
    clearInterval(progressTimer);
    await emitter?.close(5000).catch(() => undefined);
    await kafka?.close().catch(() => undefined);
    for (const c of children) {
      await c.stop(15_000).catch(() => undefined);
      c.close();
    }
    await recorder?.stop().catch(() => undefined);
    await broker.stop();
    if (!o.keepData && checks.every((c) => c.ok)) rmSync(workDir, { recursive: true, force: true });
  }
  return {
    ok: checks.length > 0 && checks.every((c) => c.ok),
    checks,
    figures,
    chaos,
    rss: [...rss].map(([process, r]) => ({ process, ...r })),
    workDir,
  };
}

/** The figures table, checks and chaos log as text. */
export function formatReport(r: SoakReport): string {
  const lines: string[] = [];
  const w = Math.max(...r.figures.map(([k]) => k.length), 10);
  lines.push('', 'figures', '-'.repeat(w + 14));
  for (const [k, v] of r.figures) lines.push(`${k.padEnd(w)}  ${String(v).padStart(12)}`);
  lines.push('', 'RSS (MB)                                   start    peak     end');
  for (const p of r.rss) lines.push(`${p.process.padEnd(40)} ${String(p.startMb ?? '-').padStart(7)} ${String(p.peakMb ?? '-').padStart(7)} ${String(p.endMb ?? '-').padStart(7)}`);
  lines.push('', 'chaos (planned s / actual s / fault lasted)');
  for (const c of r.chaos) lines.push(`  ${c.name.padEnd(18)} ${String(c.plannedAtS).padStart(5)} ${String(c.atS).padStart(5)} ${String(Math.round(c.downMs / 1000)).padStart(5)} s  ${c.detail}`);
  lines.push('', 'checks');
  for (const c of r.checks) lines.push(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name}${c.ok ? '' : `\n        ${c.detail}`}`);
  lines.push('', r.ok ? 'RESULT: zero lost, zero double-counted' : `RESULT: FAILED (data kept in ${r.workDir})`);
  return lines.join('\n');
}
