/**
 * Resident memory of each consumer process as `actionpulse start --only <component>` runs it, idle and
 * under load: for each of mixpanel, alerts and clickhouse (embedded chDB) it starts the process on fresh
 * topics, waits until it is up, samples its RSS (/proc/<pid>/status) while this script offers
 * FOOTPRINT_RATE events/s for FOOTPRINT_SECONDS, and prints RSS start → peak → end with the rate achieved
 * and the machine's load average (the machine is shared: figures are depressed when it is busy).
 *
 *   npx tsx bench/process-footprint.ts                         # FOOTPRINT_RATE=20000 FOOTPRINT_SECONDS=60
 *   FOOTPRINT_ONLY=mixpanel,alerts npx tsx bench/process-footprint.ts
 *   FOOTPRINT_FROM=source npx tsx bench/process-footprint.ts  # through tsx instead of the compiled build (dist/)
 *
 * The registry database is PostgreSQL when DATABASE_URL is set (a schema of its own per run), else embedded
 * PGlite (a single-process database: a multi-process deployment needs PostgreSQL anyway).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import pg from 'pg';
import { encodeEvent } from '../src/events/index.ts';
import { createPlatformaticKafka } from '../src/platform/kafka/platformatic-adapter.ts';
import { producerSettings } from '../src/producers/producer-settings.ts';
import { toRecord } from '../src/producers/record-batch.ts';
import { benchBrokers } from './lib/bench-kafka.ts';
import { sampleExecuted } from './lib/sample-events.ts';
import { MixpanelRecorder } from '../src/simulators/mixpanel-recorder.ts';

const RATE = Number(process.env.FOOTPRINT_RATE ?? 20_000);
const SECONDS = Number(process.env.FOOTPRINT_SECONDS ?? 60);
const ONLY = (process.env.FOOTPRINT_ONLY ?? 'mixpanel,alerts,clickhouse').split(',');
const ROOT = join(import.meta.dirname, '..');
const FROM = process.env.FOOTPRINT_FROM ?? 'dist';
if (FROM !== 'dist' && FROM !== 'source') throw new Error(`FOOTPRINT_FROM must be dist or source, not ${FROM}`);
// The compiled build, brought up to date as `npm start` does.
if (FROM === 'dist') execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, stdio: 'inherit' });
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const mb = (kb: number) => `${Math.round(kb / 1024)} MB`;
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const brokers = await benchBrokers();
const kafka = createPlatformaticKafka({ brokers, clientId: 'bench-footprint' });

let databaseUrl: string | undefined;
if (process.env.DATABASE_URL) {
  const schema = `footprint_bench_${process.pid}`;
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await client.end();
  const url = new URL(process.env.DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  databaseUrl = url.toString();
}

interface Result {
  component: string;
  startKb: number;
  peakKb: number;
  endKb: number;
  sent: number;
  seconds: number;
  loadStart: string;
  loadEnd: string;
  delivered: string;
}

async function measure(component: string): Promise<Result> {
  const suffix = `${component}-${Date.now().toString(36)}`;
  const topic = `bench-fp-events-${suffix}`;
  const dlq = `bench-fp-dlq-${suffix}`;
  const admin = kafka.admin();
  await admin.ensureTopics([
    { topic, partitions: 3, replicationFactor: 1 },
    { topic: dlq, partitions: 1, replicationFactor: 1 },
  ]).finally(() => admin.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'ap-footprint-'));
  const env: NodeJS.ProcessEnv = { ...process.env, ACTIONPULSE_DATA_DIR: dataDir, KAFKA_BROKERS: brokers.join(','), KAFKA_EVENTS_TOPIC: topic, KAFKA_DLQ_TOPIC: dlq, LOG_LEVEL: 'warn' };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  // Mixpanel is another company's service: the recorder standing in for it runs here, not in the measured
  // process (without credentials `start` would run one in-process, and its parsing would be counted).
  let recorder: MixpanelRecorder | undefined;
  if (component === 'mixpanel') {
    recorder = await new MixpanelRecorder({ projectSecret: 'footprint-bench', keepRecords: false }).start();
    Object.assign(env, { MIXPANEL_API_HOST: recorder.url, MIXPANEL_API_SECRET: 'footprint-bench' });
  }
  // FOOTPRINT_NODE_OPTIONS: V8 flags for the measured process only (e.g. to compare heap settings).
  if (process.env.FOOTPRINT_NODE_OPTIONS) env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${process.env.FOOTPRINT_NODE_OPTIONS}`.trim();
  // The compiled build is what `npm start` and bin/actionpulse run; FOOTPRINT_FROM=source measures tsx instead.
  const args = FROM === 'dist' ? ['bin/actionpulse.mjs'] : [tsxCli, 'src/cli/main.ts'];
  if (FROM === 'dist') delete env.ACTIONPULSE_FROM_SOURCE;
  const child = spawn(process.execPath, [...args, 'start', '--only', component, '--quiet'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  // tsx's CLI runs the program in a child of its own: measure the process that holds the pipeline.
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 180_000;
  while (!/Kafka .*; ClickHouse/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${component} did not start: ${out.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const pid = pipelinePid(child.pid!);
  await new Promise((r) => setTimeout(r, 3000)); // idle after start-up
  const startKb = rssKb(pid);
  const loadStart = load();
  let peakKb = startKb;
  const sampler = setInterval(() => (peakKb = Math.max(peakKb, rssKb(pid))), 250);
  // Held for minutes, the RSS once a minute shows whether it levelled off (FOOTPRINT_SECONDS ≥ 120).
  const minuteStarted = Date.now();
  const minutes = SECONDS >= 120 ? setInterval(() => console.log(`  ${component} after ${Math.round((Date.now() - minuteStarted) / 60_000)} min: RSS ${mb(rssKb(pid))} (peak so far ${mb(peakKb)}; load ${load()})`), 60_000) : undefined;

  const producer = kafka.producer(producerSettings({ compression: 'lz4' }));
  const started = Date.now();
  let sent = 0;
  let i = 0;
  while (Date.now() - started < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * RATE) - sent;
    if (due <= 0) {
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    const n = Math.min(due, 5000);
    const messages = Array.from({ length: n }, () => toRecord(encodeEvent(sampleExecuted(i++))));
    const result = await producer.send(topic, messages);
    if (!result.ok) throw new Error(`send to ${topic} failed: ${result.reason} (${result.detail})`);
    sent += n;
  }
  const seconds = (Date.now() - started) / 1000;
  await producer.close();
  await new Promise((r) => setTimeout(r, 5000)); // consumers catch up a little
  clearInterval(sampler);
  clearInterval(minutes);
  const endKb = rssKb(pid);
  peakKb = Math.max(peakKb, endKb);
  const loadEnd = load();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const delivered = recorder ? `, ${recorder.accepted.size} delivered to Mixpanel` : '';
  await recorder?.stop();
  return { component, startKb, peakKb, endKb, sent, seconds, loadStart, loadEnd, delivered };
}

/** The deepest descendant of the tsx CLI process: the Node process running the pipeline. */
function pipelinePid(root: number): number {
  let pid = root;
  for (;;) {
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return pid;
    }
    if (children.length === 0) return pid;
    pid = Number(children[0]);
  }
}

console.log(`process footprint: ${RATE} events/s offered for ${SECONDS} s per process (${FROM === 'dist' ? 'compiled build' : 'TypeScript through tsx'}); registry ${databaseUrl ? 'PostgreSQL' : 'PGlite'}; load average at start ${load()}`);
for (const component of ONLY) {
  const r = await measure(component);
  console.log(
    `  start --only ${r.component.padEnd(10)} RSS ${mb(r.startKb)} → peak ${mb(r.peakKb)} → end ${mb(r.endKb)}   ` +
      `(${Math.round(r.sent / r.seconds)} events/s offered, ${r.sent} events${r.delivered}; load ${r.loadStart} → ${r.loadEnd})`,
  );
}
process.exit(0);
