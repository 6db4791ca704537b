import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../../src/events/index.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import type { KafkaPort } from '../../../src/platform/kafka/kafka-port.ts';
import { startLocalBroker, stopLocalBroker, wipeLocalBroker } from '../../../src/platform/kafka/local-broker.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { createEmitter, type Emitter } from '../../../src/producers/emitter.ts';
import { freePort, readTopic, recordsIn, testPort, uniqueName } from '../../helpers/kafka.ts';

/**
 * The promise of the producer: a 30 s broker outage in the middle of 100k events loses nothing, duplicates
 * nothing, and keeps each organization's order. This test stops its OWN broker (other ports, temp data),
 * never the shared one.
 */
// Ports the OS says are free right now: a fixed port could be answered by some other broker (the local
// broker start reuses whatever answers), and then stopping "ours" would stop nothing.
let broker: { port: number; controllerPort: number; heapMb: number };
const TOTAL = 100_000;
const ORGS = 50;
const OUTAGE_MS = 30_000;

let dataDir = '';
let emitter: Emitter | undefined;
let port: KafkaPort | undefined;

afterAll(async () => {
  await emitter?.close(1000);
  await port?.close();
  if (dataDir && broker) {
    await stopLocalBroker({ dataDir, port: broker.port, signal: 'SIGKILL' });
    wipeLocalBroker({ dataDir, port: broker.port });
    await rm(dataDir, { recursive: true, force: true });
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('emitter through a broker outage', () => {
  it('100k events with the broker stopped for 30 s mid-stream: every event_id exactly once, per-organization order kept', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'outage-broker-'));
    broker = { port: await freePort(), controllerPort: await freePort(), heapMb: 384 };
    const { brokers } = await startLocalBroker({ dataDir, ...broker });
    port = await testPort({ brokers, clientId: uniqueName('outage') });
    const kafka = port;
    const topic = uniqueName('t-outage');
    const admin = port.admin();
    await admin.ensureTopics([{ topic, partitions: 3, replicationFactor: 1 }]).finally(() => admin.close());
    const config = loadConfig({}, {
      'kafka.eventsTopic': topic,
      'spool.dir': join(dataDir, 'spool'),
      'spool.memoryQueueEvents': '10000',
      'producer.spillAfterMs': '500',
    });
    emitter = await createEmitter(config, { kafka: port, logger: silentLogger });

    // ~2,500 events/s for ~40 s; the broker goes down after the first 15k and stays down 30 s.
    let emitted = 0;
    const emitChunk = (n: number) => {
      for (let i = 0; i < n && emitted < TOTAL; i++, emitted++) {
        emitter!.emit(
          buildEvent({ event: 'qontak_action_invoked', source: 'outage-test', organization_id: `org-${emitted % ORGS}`, node_type: 'qontak_crm_deal_create', agent_id: 'agent-1', conversation_id: `s-${emitted}` }),
        );
      }
    };
    const producing = (async () => {
      while (emitted < TOTAL) {
        emitChunk(250);
        await sleep(100);
      }
    })();
    while (emitted < 15_000) await sleep(50);
    await stopLocalBroker({ dataDir, port: broker.port, signal: 'SIGTERM' });
    await sleep(OUTAGE_MS);
    const spooledDuringOutage = emitter.stats().spooled;
    await startLocalBroker({ dataDir, ...broker });
    await producing;
    expect(await emitter.drained(180_000)).toBe(true);
    const stats = emitter.stats();
    await emitter.close();
    emitter = undefined;

    const messages = await readTopic(kafka, topic, TOTAL, 120_000);
    const seqs = messages.map((m) => Number((JSON.parse(m.value!.toString()) as { conversation_id: string }).conversation_id.slice(2)));
    const ids = new Set(messages.map((m) => (JSON.parse(m.value!.toString()) as { event_id: string }).event_id));
    // readTopic stops at TOTAL. The topic is fresh, so its high watermarks count every record in it: a duplicate
    // beyond TOTAL shows without waiting for a read to time out.
    const inTopic = await recordsIn(kafka, topic);
    console.info(`outage test: emitted ${emitted}, spooled during outage ${spooledDuringOutage}, spooled total ${stats.spooled}, sent ${stats.sent}, dropped ${stats.dropped}, in topic ${inTopic}, distinct event_ids ${ids.size}`);
    expect(stats.dropped).toBe(0);
    expect(spooledDuringOutage).toBeGreaterThan(0);
    expect(inTopic).toBe(TOTAL);
    expect(ids.size).toBe(TOTAL);
    expect(new Set(seqs).size).toBe(TOTAL);
    // Per organization, the topic (one partition per org, read in partition order) has increasing sequence numbers.
    const lastByOrg = new Map<string, number>();
    let outOfOrder = 0;
    messages.forEach((m, i) => {
      const org = m.key!.toString();
      if ((lastByOrg.get(org) ?? -1) > seqs[i]) outOfOrder++;
      lastByOrg.set(org, seqs[i]);
    });
    expect(outOfOrder).toBe(0);
  }, 300_000);
});
