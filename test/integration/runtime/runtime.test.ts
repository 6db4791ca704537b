import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateEvent } from '../../../src/events/index.ts';
import { setRegistryEnabled } from '../../../src/executors/index.ts';
import type { KafkaPort } from '../../../src/platform/kafka/kafka-port.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { openRegistryDb, type SqlDb } from '../../../src/platform/registry-db.ts';
import { createRuntime, type Runtime } from '../../../src/runtime/index.ts';
import { QontakCrmSimulator } from '../../../src/simulators/qontak-crm-simulator.ts';
import { freePort, freshTopics, readTopic, testBrokers, testPort, waitFor } from '../../helpers/kafka.ts';

/**
 * The runtime entry point as the README's integration guide describes it: it starts and answers calls while
 * Kafka is unreachable, keeps those events in its spool and delivers them after a restart; and a disable
 * written to the shared registry database (the kill switch) reaches the running runtime.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `rt_${randomBytes(5).toString('hex')}`;
const databaseUrl = `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
const crm = new QontakCrmSimulator();
const key = randomBytes(32).toString('hex');
let kafka: KafkaPort;
let topic: string;
let dir: string;
const open: Runtime[] = [];

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  kafka = await testPort();
  topic = (await freshTopics(kafka)).events;
  dir = await mkdtemp(join(tmpdir(), 'runtime-'));
  await crm.start();
  crm.seedRecord('deals', '1', { name: 'Deal 1' });
});

afterAll(async () => {
  for (const runtime of open) await runtime.close().catch(() => undefined);
  await kafka?.close();
  await crm.close();
  await rm(dir, { recursive: true, force: true });
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

async function runtimeOn(brokers: string): Promise<Runtime> {
  const runtime = await createRuntime({
    env: {},
    settings: {
      'kafka.brokers': brokers,
      'kafka.eventsTopic': topic,
      dataDir: dir,
      'database.url': databaseUrl,
      'crm.baseUrl': crm.url,
      'crm.tokenEncryptionKey': key,
      'producer.spillAfterMs': 100,
    },
    logger: silentLogger,
  });
  open.push(runtime);
  return runtime;
}

const context = (conversation: string) => ({ organization_id: 'org-rt', agent_id: 'agent-1', conversation_id: conversation });

describe('createRuntime', () => {
  it('runs an action while Kafka is unreachable, spools its events at close, and the next start delivers them', async () => {
    const down = await runtimeOn(`127.0.0.1:${await freePort()}`);
    await down.provisioning.putCrmToken('org-rt', crm.issueToken('org-rt'));
    const result = await down.execute('qontak_crm_deal_update', { id: '1', amount: 5000 }, context('conv-outage'));
    expect(result.ok).toBe(true);
    const during = await down.health();
    expect(during).toMatchObject({ ready: true, kafkaConnected: false });
    await down.close(500);
    const after = await down.health();
    expect(after.emitter.sent).toBe(0);
    expect(after.emitter.dropped).toBe(0);
    expect(after.emitter.spoolRecords).toBe(after.emitter.accepted);

    const up = await runtimeOn(testBrokers().join(','));
    // The agent's first call of the day also reported it active; all three kept their order through the spool.
    const messages = await readTopic(kafka, topic, 3, 60_000);
    const events = messages.map((m) => validateEvent(JSON.parse(m.value!.toString())));
    expect(events.map((e) => (e.ok ? [e.event.event, 'conversation_id' in e.event ? e.event.conversation_id : ''] : ['invalid', '']))).toEqual([
      ['qontak_agent_active', ''],
      ['qontak_action_invoked', 'conv-outage'],
      ['qontak_action_executed', 'conv-outage'],
    ]);
    await up.close();
    expect((await up.health()).emitter.spoolRecords).toBe(0);
  });

  it('a disable written to the registry database reaches the running runtime, which then refuses the action without calling the CRM', async () => {
    const runtime = await runtimeOn(testBrokers().join(','));
    await runtime.provisioning.putCrmToken('org-rt', crm.issueToken('org-rt'));
    expect((await runtime.health()).disabledActions).toEqual([]);
    const evaluator: SqlDb = await openRegistryDb({ url: databaseUrl });
    try {
      await setRegistryEnabled(evaluator, 'qontak_crm_deal_update', false, { actor: 'alert-evaluator', reason: 'test: failure rate' });
      await waitFor(async () => (await runtime.health()).disabledActions.includes('qontak_crm_deal_update'), { what: 'the disable to reach the runtime' });
      const putsBefore = crm.requestsTo('PUT', '/api/v3.1/deals').length;
      const result = await runtime.execute('qontak_crm_deal_update', { id: '1', amount: 7000 }, context('conv-disabled'));
      expect(result).toMatchObject({ ok: false, reason: 'registry_disabled' });
      expect(crm.requestsTo('PUT', '/api/v3.1/deals').length).toBe(putsBefore);
    } finally {
      await setRegistryEnabled(evaluator, 'qontak_crm_deal_update', true, { actor: 'test', reason: 'restore' });
      await evaluator.close();
    }
  });
});
