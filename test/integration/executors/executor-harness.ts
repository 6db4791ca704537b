import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { expect } from 'vitest';
import { validateEvent, type ActionEvent } from '../../../src/events/index.ts';
import { createExecutor, type ExecutionContext, type Executor, type ExecutorDeps } from '../../../src/executors/index.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { openRegistryDb, type SqlDb } from '../../../src/platform/registry-db.ts';
import { RecordingEmitter } from '../../../src/producers/emitter-port.ts';
import { FakeQontakCrm, type FakeCrmOptions } from '../../fakes/fake-qontak-crm.ts';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Harness {
  executor: Executor;
  db: SqlDb;
  redis: Redis;
  crm: FakeQontakCrm;
  emitter: RecordingEmitter;
  schema: string;
  /** Gives the organization a live company token, in the fake CRM and (encrypted) in the registry db. */
  seedOrg(org: string): Promise<{ companyToken: string; refreshToken: string }>;
  /** Registers a room with an active channel integration. */
  seedRoom(org: string, channelRoomId: string, roomId: string, opts?: { integration?: boolean }): Promise<void>;
  /** Jobs on the test queue, oldest first, parsed. */
  jobs(): Promise<Record<string, unknown>[]>;
  events(conversationId?: string): ActionEvent[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  store?: 'postgres' | 'pglite';
  crm?: FakeCrmOptions;
  crmConfig?: Partial<ExecutorDeps['crm']>;
  redisUrl?: string;
  enqueueTimeoutMs?: number;
  /** The executor's clock (event times), e.g. to cross a UTC day. */
  clock?: () => number;
  spanNames?: ExecutorDeps['spanNames'];
}

const suffix = () => randomBytes(5).toString('hex');

/**
 * A full executor against real PostgreSQL (a fresh schema per harness, via search_path in the connection
 * options) or in-memory PGlite, real Redis (a unique key prefix and queue), and the fake CRM.
 */
export async function openHarness(options: HarnessOptions = {}): Promise<Harness> {
  const schema = `ex_${suffix()}`;
  let db: SqlDb;
  if ((options.store ?? 'postgres') === 'postgres') {
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    db = await openRegistryDb({ url: `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` });
  } else {
    db = await openRegistryDb({ memory: true });
  }
  const crm = new FakeQontakCrm(options.crm);
  await crm.start();
  const redis = new Redis(options.redisUrl ?? REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  // A test may point at a dead Redis on purpose; the executor reports it, the event needs no listener noise.
  redis.on('error', () => undefined);
  if (!options.redisUrl) await redis.connect();
  const emitter = new RecordingEmitter();
  const keyPrefix = `test:executors:${suffix()}:`;
  const queue = `q_${suffix()}`;
  const executor = await createExecutor({
    db,
    redis,
    emitter,
    logger: silentLogger,
    source: 'agent-runtime',
    clock: options.clock,
    spanNames: options.spanNames,
    crm: {
      baseUrl: crm.url,
      tokenEncryptionKey: randomBytes(32).toString('hex'),
      requestTimeoutMs: 2_000,
      maxRetries: 2,
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 200,
      ...options.crmConfig,
    },
    chat: { queue, keyPrefix, enqueueTimeoutMs: options.enqueueTimeoutMs },
  });
  return {
    executor,
    db,
    redis,
    crm,
    emitter,
    schema,
    async seedOrg(org) {
      const issued = crm.issueToken(org);
      await executor.tokens.put(org, issued);
      return issued;
    },
    async seedRoom(org, channelRoomId, roomId, opts = {}) {
      const integrationId = `int-${org}-${channelRoomId}`;
      if (opts.integration !== false) await executor.rooms.upsertIntegration({ id: integrationId, organizationId: org, channel: 'wa' });
      await executor.rooms.upsertRoom({ organizationId: org, channelRoomId, roomId, channelIntegrationId: integrationId });
    },
    async jobs() {
      // LPUSH puts the newest first; Sidekiq pops from the right, so reverse for "oldest first".
      const raw = await redis.lrange(executor.queue.queueKey(), 0, -1);
      return raw.reverse().map((j) => JSON.parse(j) as Record<string, unknown>);
    },
    events(conversationId) {
      return emitter.events.filter((e) => !conversationId || ('conversation_id' in e && e.conversation_id === conversationId));
    },
    async close() {
      await executor.close();
      if (redis.status === 'ready') {
        const keys = await redis.keys(`${keyPrefix}*`);
        if (keys.length) await redis.del(...keys);
      }
      redis.disconnect();
      await crm.close();
      await db.close();
      if ((options.store ?? 'postgres') === 'postgres') {
        const admin = new pg.Client({ connectionString: DATABASE_URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      }
    },
  };
}

/** Every event passes the contract, and the conversation's events are invoked → one terminal event. */
export function expectLifecycle(events: ActionEvent[], terminal: 'qontak_action_executed' | 'qontak_action_failed'): void {
  for (const e of events) expect(validateEvent(e), JSON.stringify(e)).toMatchObject({ ok: true });
  const names = events.filter((e) => e.event !== 'qontak_action_token_refreshed').map((e) => e.event);
  expect(names).toEqual(['qontak_action_invoked', terminal]);
  const [invoked, done] = events.filter((e) => e.event !== 'qontak_action_token_refreshed');
  expect(done.trace_id).toBe(invoked.trace_id);
  expect(done.trace_id).toMatch(/^[0-9a-f]{32}$/);
  if (done.event === 'qontak_action_executed' || done.event === 'qontak_action_failed') {
    expect(done.duration_ms).toBeGreaterThanOrEqual(0);
  }
}

/** Polls until fn returns truthy (robust on a loaded machine, unlike a fixed sleep). */
export async function pollUntil<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function context(org: string, conversationId = `conv-${suffix()}`, extra: Partial<ExecutionContext> = {}): ExecutionContext {
  return { organization_id: org, agent_id: 'agent-7', conversation_id: conversationId, ...extra };
}
