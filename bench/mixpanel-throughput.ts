/**
 * Events/s delivered to the fake Mixpanel /import: our sink (mapping + 2,000-record gzip strict requests,
 * bounded concurrency) versus the `mixpanel` package's import_batch (50 per request) as the peer, with
 * no added latency and with 50 ms per response. The fake runs in this process; each client runs in its
 * own child process (so both get a core of their own, and the package trusts the fake's self-signed
 * certificate through NODE_EXTRA_CA_CERTS, which Node only reads at start-up).
 *
 *   npx tsx bench/mixpanel-throughput.ts        # BENCH_EVENTS=100000 BENCH_LATENCIES=0,50
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Mixpanel from 'mixpanel';
import { buildEvent, decodeEvent, encodeEvent, NODE_TYPE_NAMES, type ActionEvent } from '../src/events/index.ts';
import { toMixpanelRecord, type MixpanelRecord } from '../src/consumers/mixpanel/event-mapping.ts';
import { MixpanelImportClient } from '../src/consumers/mixpanel/import-client.ts';
import { MixpanelSink } from '../src/consumers/mixpanel/mixpanel-sink.ts';
import { silentLogger } from '../src/platform/logger.ts';
import { FakeMixpanel } from '../test/fakes/fake-mixpanel.ts';

const N = Number(process.env.BENCH_EVENTS ?? 100_000);
const LATENCIES = (process.env.BENCH_LATENCIES ?? '0,50').split(',').map(Number);
const SECRET = 'bench-project-secret';

function events(n: number): ActionEvent[] {
  return Array.from({ length: n }, (_, i) =>
    buildEvent({ event: 'qontak_action_executed', source: 'agent-runtime', organization_id: `org-${i % 500}`, node_type: NODE_TYPE_NAMES[i % NODE_TYPE_NAMES.length], agent_id: `agent-${i % 3000}`, conversation_id: `conv-${i % 100_000}`, duration_ms: 100 + (i % 900) }),
  );
}

/** Child: send N events with one client, print {ms}. */
async function child(mode: string, url: string, concurrency: number): Promise<void> {
  // As the consumer runner hands them to the sink: decoded and validated from the Kafka message bytes.
  const evs = events(N).map((e) => {
    const d = decodeEvent(encodeEvent(e).value as Buffer);
    if (!d.ok) throw new Error(d.reason);
    return d.event;
  });
  const started = performance.now();
  if (mode === 'ours') {
    const client = new MixpanelImportClient({ apiHost: url, auth: { kind: 'project_secret', secret: SECRET }, timeoutMs: 30_000, concurrency, ...(process.env.MP_GZIP_LEVEL ? { gzipLevel: Number(process.env.MP_GZIP_LEVEL) } : {}) });
    const sink = new MixpanelSink({ client, logger: silentLogger, maxEvents: 2000, maxBytes: 2 * 1024 * 1024, concurrency });
    const signal = new AbortController().signal;
    // As the consumer runner hands them over: slices of 20,000 events.
    for (let i = 0; i < evs.length; i += 20_000) {
      const slice = evs.slice(i, i + 20_000);
      const r = await sink.write({ events: slice, topic: 'bench', partition: 0, firstOffset: String(i), lastOffset: String(i + slice.length - 1) }, signal);
      if (r.status !== 'ok') throw new Error(`sink said ${r.status}`);
    }
    await sink.close();
  } else {
    const now = Date.now();
    const records = evs.map((e) => (toMixpanelRecord(e, now) as { record: MixpanelRecord }).record);
    const u = new URL(url);
    const mp = Mixpanel.init('bench-token', { host: u.hostname, port: Number(u.port), protocol: 'https', secret: SECRET } as Parameters<typeof Mixpanel.init>[1]);
    // The package's typings omit the (events, options, callback) overload that its code implements.
    const importBatch = mp.import_batch as unknown as (events: MixpanelRecord[], options: { max_concurrent_requests: number }, cb: (errors?: Error[]) => void) => void;
    await new Promise<void>((resolve, reject) =>
      importBatch(records, { max_concurrent_requests: concurrency }, (errors) => (errors?.length ? reject(errors[0]) : resolve())),
    );
  }
  process.stdout.write(JSON.stringify({ ms: performance.now() - started }) + '\n');
}

function runChild(mode: string, url: string, concurrency: number, caFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile, MP_BENCH_CHILD: mode, MP_BENCH_URL: url, MP_BENCH_CONCURRENCY: String(concurrency) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('exit', (code) => (code === 0 ? resolve((JSON.parse(out.trim().split('\n').pop()!) as { ms: number }).ms) : reject(new Error(`${mode} client exited ${code}`))));
  });
}

async function main(): Promise<void> {
  console.log(`Mixpanel /import throughput, ${N.toLocaleString()} events, fake over HTTPS in the parent process`);
  for (const latencyMs of LATENCIES) {
    const runs: { name: string; mode: string; concurrency: number }[] = [
      { name: 'actionpulse sink (2,000/request, gzip, strict), concurrency 4', mode: 'ours', concurrency: 4 },
      { name: 'actionpulse sink, concurrency 10', mode: 'ours', concurrency: 10 },
      { name: 'mixpanel import_batch (50/request), max_concurrent_requests 10', mode: 'package', concurrency: 10 },
    ];
    const rates: Record<string, number> = {};
    for (const run of runs) {
      const fake = await new FakeMixpanel({ tls: true, projectSecret: SECRET, keepRecords: false, latencyMs }).start();
      const ms = await runChild(run.mode, fake.url, run.concurrency, fake.caFile!);
      const delivered = fake.accepted.size;
      await fake.stop();
      if (delivered !== N) throw new Error(`${run.name}: fake received ${delivered} of ${N}`);
      rates[run.mode + run.concurrency] = N / (ms / 1000);
      console.log(`  latency ${String(latencyMs).padStart(2)} ms | ${run.name.padEnd(66)} | ${Math.round(N / (ms / 1000)).toLocaleString().padStart(8)} events/s | ${fake.requests.import} requests`);
    }
    console.log(`  latency ${String(latencyMs).padStart(2)} ms | peer ratio (ours c=10 / import_batch c=10): ${(rates.ours10 / rates.package10).toFixed(1)}x; (ours c=4 / import_batch c=10): ${(rates.ours4 / rates.package10).toFixed(1)}x`);
  }
}

const mode = process.env.MP_BENCH_CHILD;
if (mode) await child(mode, process.env.MP_BENCH_URL!, Number(process.env.MP_BENCH_CONCURRENCY));
else await main();
