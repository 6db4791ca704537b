/**
 * Executor overhead per call, excluding the upstream: `npx tsx bench/executor-overhead.ts [calls]`.
 * Needs PostgreSQL (DATABASE_URL, default local) and Redis (REDIS_URL, default local); the CRM is the
 * in-process fake, whose own handling time is subtracted per call. Prints p50/p99 per scenario.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { ActionEvent } from '../src/events/index.ts';
import { createExecutor } from '../src/executors/index.ts';
import { silentLogger } from '../src/platform/logger.ts';
import { openRegistryDb } from '../src/platform/registry-db.ts';
import type { EventEmitterPort } from '../src/producers/emitter-port.ts';
import { FakeQontakCrm } from '../test/fakes/fake-qontak-crm.ts';

const CALLS = Number(process.argv[2] ?? 2000);
const WARMUP = 200;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

class CountingEmitter implements EventEmitterPort {
  count = 0;
  emit(_event: ActionEvent): void {
    this.count++;
  }
}

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

const schema = `bench_ex_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: DATABASE_URL });
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);
const db = await openRegistryDb({ url: `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` });
const redis = new Redis(REDIS_URL);
const crm = new FakeQontakCrm();
await crm.start();
const emitter = new CountingEmitter();
const keyPrefix = `bench:executors:${randomBytes(4).toString('hex')}:`;
const executor = await createExecutor({
  db,
  redis,
  emitter,
  logger: silentLogger,
  source: 'bench',
  crm: { baseUrl: crm.url, tokenEncryptionKey: randomBytes(32).toString('hex'), requestTimeoutMs: 10_000, maxRetries: 2 },
  chat: { queue: 'bench', keyPrefix },
});

try {
  const org = 'org-bench';
  await executor.rooms.upsertIntegration({ id: 'int-1', organizationId: org, channel: 'wa' });
  await executor.rooms.upsertRoom({ organizationId: org, channelRoomId: 'wa-1', roomId: 'room-1', channelIntegrationId: 'int-1' });
  await executor.tokens.put(org, crm.issueToken(org));
  const ctx = (i: number) => ({ organization_id: org, agent_id: 'agent-1', conversation_id: `conv-${i}`, channel_room_id: 'wa-1', contact: { name: 'Ana' } });
  console.log(`executor overhead, ${CALLS} sequential calls per scenario after ${WARMUP} warm-up calls (node ${process.version})\n`);

  // 1. No I/O at all: context check, span, invoked/failed events, registry gate (in memory), param check.
  const invalid = async (i: number) => void (await executor.execute('qontak_chat_room_tag', { tags: [] }, ctx(i)));
  await measure(WARMUP, invalid);
  report('pure executor path (gate+span+events+validation, no I/O)', await measure(CALLS, invalid));

  // 2. Chat: the upstream is one room SELECT + one Redis MULTI; measured bare to subtract their medians.
  const tag = async (i: number) => void (await executor.execute('qontak_chat_room_tag', { tags: 'a,b' }, ctx(i)));
  await measure(WARMUP, tag);
  const chat = await measure(CALLS, tag);
  report('chat tag: whole call (room SELECT + Redis MULTI included)', chat);
  const bareSelect = await measure(CALLS, async () => void (await executor.rooms.resolve(org, 'wa-1')));
  const bareRedis = await measure(CALLS, async () => void (await redis.multi().sadd(`${keyPrefix}queues`, 'x').lpush(`${keyPrefix}queue:x`, '{}').exec()));
  report('  upstream alone: room SELECT', bareSelect);
  report('  upstream alone: Redis MULTI SADD+LPUSH', bareRedis);
  const chatOverhead = pct(chat, 50) - pct(bareSelect, 50) - pct(bareRedis, 50);
  console.log(`  => chat executor overhead ≈ p50 ${chatOverhead.toFixed(3)} ms (whole p50 minus upstream p50s)`);

  // 3. CRM create against the fake, the fake's own handling time subtracted per call (HTTP client kept in).
  const create = async (i: number) => {
    const before = crm.requests.length;
    await executor.execute('qontak_crm_deal_create', { crm_pipeline_id: 1, crm_stage_id: 2, name: 'Deal {{customer_name}}' }, ctx(i));
    return crm.requests.slice(before).reduce((sum, r) => sum + r.handledMs, 0);
  };
  await measure(WARMUP, create);
  report('CRM deal create minus fake CRM time (incl. fetch/loopback)', await measure(CALLS, create));

  // 4. Registry propagation: SQL UPDATE → running executor refuses.
  const propagation: number[] = [];
  for (let i = 0; i < 20; i++) {
    const enabled = i % 2 === 1;
    const t0 = performance.now();
    await db.query('UPDATE node_registries SET enabled = $1 WHERE node_type = $2', [enabled, 'qontak_chat_room_resolve']);
    while (executor.registry.isEnabled('qontak_chat_room_resolve') !== enabled) await new Promise((r) => setTimeout(r, 1));
    propagation.push(performance.now() - t0);
  }
  report('registry change propagation (UPDATE → gate)', propagation);
  console.log(`\nevents emitted: ${emitter.count}`);
} finally {
  await executor.close();
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await crm.close();
  await db.close();
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.end();
}
