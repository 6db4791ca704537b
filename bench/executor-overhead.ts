/**
 * The agent runtime's package as a runtime team gets it: `npx tsx bench/executor-overhead.ts [calls] [--no-package]`.
 *
 * 1. Package (skipped with --no-package): `npm pack`, the tarball installed into a fresh project without optional
 *    dependencies (as the README's integration guide says), its install size, and the time `import('actionpulse')`
 *    takes there (fresh `node` process each time, median of 5).
 * 2. Overhead per call through the public entry point (`import('actionpulse')`, the compiled build): createRuntime
 *    with the real emitter (Kafka at KAFKA_BROKERS, or a local broker started for the run), PostgreSQL
 *    (DATABASE_URL) and Redis (REDIS_URL); the CRM is the in-process fake, whose own handling time is subtracted.
 *    p50/p99 per scenario; the instrumentation (context check, span, events validated and queued, registry gate)
 *    is what the pure path measures. Printed, never asserted; the machine's load average is printed with them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { silentLogger } from '../src/platform/logger.ts';
import type * as PublicEntryModule from '../src/runtime/index.ts';
import { createPlatformaticKafka } from '../src/platform/kafka/platformatic-adapter.ts';
import { freeLocalPort, startLocalBroker, stopLocalBroker } from '../src/platform/kafka/local-broker.ts';
import { FakeQontakCrm } from '../test/fakes/fake-qontak-crm.ts';

const args = process.argv.slice(2);
const CALLS = Number(args.find((a) => /^\d+$/.test(a)) ?? 2000);
const WARMUP = 200;
const ROOT = join(import.meta.dirname, '..');
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
type PublicEntry = typeof PublicEntryModule;
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

function pct(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report(name: string, samples: number[]): void {
  console.log(`${name.padEnd(58)} p50 ${pct(samples, 50).toFixed(3).padStart(8)} ms   p99 ${pct(samples, 99).toFixed(3).padStart(8)} ms   (n=${samples.length})`);
}

async function measure(n: number, fn: (i: number) => Promise<number | void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const subtract = await fn(i);
    out.push(performance.now() - t0 - (subtract ?? 0));
  }
  return out;
}

function du(path: string): number {
  return Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]) * 1024;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

console.log(`executor-overhead through the public entry point — node ${process.version}, load average ${load()} (2 cores, shared)\n`);
const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

if (!args.includes('--no-package')) {
  const work = mkdtempSync(join(tmpdir(), 'actionpulse-size-'));
  try {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' })) as {
      filename: string;
      size: number;
      unpackedSize: number;
      entryCount: number;
    }[];
    const project = join(work, 'runtime');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'size-probe', private: true, type: 'module' }));
    execFileSync('npm', ['install', join(work, packed[0].filename), '--no-audit', '--no-fund', '--prefer-offline', '--omit=optional'], { cwd: project, stdio: 'ignore' });
    const modules = join(project, 'node_modules');
    const biggest = readdirSync(modules)
      .filter((d) => !d.startsWith('.'))
      .flatMap((d) => (d.startsWith('@') ? readdirSync(join(modules, d)).map((s) => `${d}/${s}`) : [d]))
      .map((d) => ({ d, bytes: du(join(modules, d)) }))
      .sort((a, b) => b.bytes - a.bytes);
    console.log(`package: tarball ${mb(packed[0].size)} (${packed[0].entryCount} files, ${mb(packed[0].unpackedSize)} unpacked)`);
    console.log(`install (npm install <tarball> --omit=optional): node_modules ${mb(du(modules))}, ${biggest.length} packages; largest:`);
    for (const { d, bytes } of biggest.slice(0, 6)) console.log(`  ${d.padEnd(40)} ${mb(bytes)}`);
    // Wall time moves with the machine's load; CPU time (user + system) much less so.
    const probe = "const t = performance.now(); const c = process.cpuUsage(); await import('actionpulse'); const u = process.cpuUsage(c); console.log(performance.now() - t, (u.user + u.system) / 1000)";
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 5; i++) {
      const [w, c] = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: project, encoding: 'utf8' }).trim().split(' ').map(Number);
      wall.push(w);
      cpu.push(c);
    }
    console.log(`import('actionpulse') in a fresh process (5 runs): median ${pct(wall, 50).toFixed(0)} ms wall, ${pct(cpu, 50).toFixed(0)} ms CPU; load average ${load()}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// The compiled public entry, by package name (self-reference resolves it to dist/), typed by its source.
const specifier = 'actionpulse';
const t0 = performance.now();
const { createRuntime } = (await import(specifier)) as PublicEntry;
console.log(`import('actionpulse') in this process (repo's node_modules): ${(performance.now() - t0).toFixed(0)} ms`);

const dataDir = mkdtempSync(join(tmpdir(), 'executor-overhead-'));
let brokers = process.env.KAFKA_BROKERS;
let localPort: number | undefined;
if (!brokers) {
  localPort = await freeLocalPort();
  brokers = (await startLocalBroker({ dataDir, port: localPort, controllerPort: await freeLocalPort() })).brokers.join(',');
}
const topic = `bench.executor-overhead.${randomBytes(3).toString('hex')}`;
const kafka = createPlatformaticKafka({ brokers: brokers.split(','), clientId: 'bench-executor-overhead' });
const kafkaAdmin = kafka.admin();
await kafkaAdmin.ensureTopics([{ topic, partitions: 3, replicationFactor: 1 }]);
const schema = `bench_ex_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: DATABASE_URL });
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);
const databaseUrl = `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
const redis = new Redis(REDIS_URL);
const crm = new FakeQontakCrm();
await crm.start();
const keyPrefix = `bench:executors:${randomBytes(4).toString('hex')}:`;
const runtime = await createRuntime({
  env: {},
  settings: {
    'kafka.brokers': brokers,
    'kafka.eventsTopic': topic,
    dataDir,
    'database.url': databaseUrl,
    'redis.url': REDIS_URL,
    'crm.baseUrl': crm.url,
    'crm.tokenEncryptionKey': randomBytes(32).toString('hex'),
  },
  source: 'bench',
  logger: silentLogger,
  chat: { queue: 'bench', keyPrefix },
});
const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();

try {
  const org = 'org-bench';
  await runtime.provisioning.upsertChannelIntegration({ id: 'int-1', organizationId: org, channel: 'wa' });
  await runtime.provisioning.upsertRoom({ organizationId: org, channelRoomId: 'wa-1', roomId: 'room-1', channelIntegrationId: 'int-1' });
  await runtime.provisioning.putCrmToken(org, crm.issueToken(org));
  const ctx = (i: number) => ({ organization_id: org, agent_id: 'agent-1', conversation_id: `conv-${i}`, channel_room_id: 'wa-1', contact: { name: 'Ana' } });
  console.log(`\nper call, ${CALLS} sequential calls per scenario after ${WARMUP} warm-up calls; emitter → Kafka ${brokers}\n`);

  // 1. No I/O: context check, span, invoked + failed events validated and queued, registry gate, parameter check.
  const invalid = async (i: number) => void (await runtime.execute('qontak_chat_room_tag', { tags: [] }, ctx(i)));
  await measure(WARMUP, invalid);
  report('instrumentation: pure path (gate+span+2 events, no I/O)', await measure(CALLS, invalid));

  // 2. Chat: the upstream is one room SELECT + one Redis MULTI; measured bare to subtract their medians.
  const tag = async (i: number) => void (await runtime.execute('qontak_chat_room_tag', { tags: 'a,b' }, ctx(i)));
  await measure(WARMUP, tag);
  const chat = await measure(CALLS, tag);
  report('chat tag: whole call (room SELECT + Redis MULTI included)', chat);
  const roomSql = `SELECT r.room_id, i.id AS integration_id, i.channel FROM chat_rooms r
    LEFT JOIN chat_channel_integrations i ON i.id = r.channel_integration_id AND i.organization_id = r.organization_id AND i.active
    WHERE r.organization_id = $1 AND r.channel_room_id = $2`;
  const bareSelect = await measure(CALLS, async () => void (await db.query(roomSql, [org, 'wa-1'])));
  const bareRedis = await measure(CALLS, async () => void (await redis.multi().sadd(`${keyPrefix}queues`, 'x').lpush(`${keyPrefix}queue:x`, '{}').exec()));
  report('  upstream alone: room SELECT', bareSelect);
  report('  upstream alone: Redis MULTI SADD+LPUSH', bareRedis);
  console.log(`  => chat overhead ≈ p50 ${(pct(chat, 50) - pct(bareSelect, 50) - pct(bareRedis, 50)).toFixed(3)} ms (whole p50 minus upstream p50s)`);

  // 3. CRM create against the fake, the fake's own handling time subtracted per call (HTTP client kept in).
  const create = async (i: number) => {
    const before = crm.requests.length;
    await runtime.execute('qontak_crm_deal_create', { crm_pipeline_id: 1, crm_stage_id: 2, name: 'Deal {{customer_name}}' }, ctx(i));
    return crm.requests.slice(before).reduce((sum, r) => sum + r.handledMs, 0);
  };
  await measure(WARMUP, create);
  report('CRM deal create minus fake CRM time (incl. fetch/loopback)', await measure(CALLS, create));

  // 4. Kill switch: SQL UPDATE → the running runtime reports the action disabled.
  const propagation: number[] = [];
  for (let i = 0; i < 20; i++) {
    const enabled = i % 2 === 1;
    const t = performance.now();
    await db.query('UPDATE node_registries SET enabled = $1 WHERE node_type = $2', [enabled, 'qontak_chat_room_resolve']);
    while ((await runtime.health()).disabledActions.includes('qontak_chat_room_resolve') === enabled) await new Promise((r) => setTimeout(r, 1));
    propagation.push(performance.now() - t);
  }
  report('kill switch propagation (UPDATE → runtime.health())', propagation);
  const { emitter } = await runtime.health();
  console.log(`\nemitter: accepted ${emitter.accepted}, sent ${emitter.sent}, spooled ${emitter.spooled}, dropped ${emitter.dropped}; load average now ${load()}`);
} finally {
  await runtime.close();
  await db.end();
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await crm.close();
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.end();
  await kafkaAdmin.deleteTopics([topic]).catch(() => undefined);
  await kafka.close();
  if (localPort) await stopLocalBroker({ dataDir, port: localPort });
  rmSync(dataDir, { recursive: true, force: true });
}
