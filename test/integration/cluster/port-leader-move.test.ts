import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeLocalPort } from '../../../src/platform/kafka/local-broker.ts';
import { LocalCluster } from '../../../src/platform/kafka/local-cluster.ts';
// Types only (erased): the library itself loads on Node >= 22.22 alone, inside the tests.
import type * as Lib from '@platformatic/kafka';

/**
 * A partition's leader moves while a producer still holds the old leaders, and one send carries records for
 * that partition and for one that stayed. Two brokers; topic `moving` has two partitions, both on broker 1
 * alone; partition 1 is reassigned to broker 2 (its leader moves), then one send writes to both partitions
 * with the producer's metadata still naming broker 1 for both.
 *
 * @platformatic/kafka 2.12.1 groups a send's records by the leader it believes in and, on every retry of a
 * group, sends the whole group to the current leader of the group's FIRST partition
 * (producer.js #performSingleDestinationSend): partition 1's records go back to broker 1 on every attempt and
 * are refused (NOT_LEADER_OR_FOLLOWER) each time. The first test reproduces that with the library alone; the
 * second shows the port's adapter (one library send per partition) delivering both partitions exactly once.
 * Needs Node >= 22.22; runs with the cluster tests (ACTIONPULSE_CLUSTER_TESTS=1).
 */
const [major, minor] = process.versions.node.split('.').map(Number);
const supported = (major === 22 && minor >= 22) || (major === 24 && minor >= 6) || major > 24;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const topic = 'moving';

describe.skipIf(!supported)('a send whose partitions had one leader, after one of them moved', () => {
  let cluster: LocalCluster;
  let dir: string;
  let lib: typeof Lib;

  async function setUp(): Promise<Lib.Admin> {
    lib = await import('@platformatic/kafka');
    dir = mkdtempSync(join(tmpdir(), 'ap-port-leader-move-'));
    cluster = new LocalCluster({ dataDir: dir, brokerPorts: [await freeLocalPort(), await freeLocalPort()], controllerPort: await freeLocalPort(), heapMb: 256, readyTimeoutMs: 600_000 });
    await cluster.start();
    const admin = new lib.Admin({ clientId: 'leader-move-admin', bootstrapBrokers: [cluster.brokers[0]] });
    await admin.createTopics({ topics: [{ topic, partitions: -1, replicas: -1, assignments: [{ partition: 0, brokers: [1] }, { partition: 1, brokers: [1] }] }] });
    while (JSON.stringify(await leaders(admin)) !== '[1,1]') await sleep(300);
    return admin;
  }

  async function leaders(admin: Lib.Admin): Promise<number[]> {
    const m = await admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
    return m?.topics.get(topic)?.partitions.map((p) => p.leader) ?? [];
  }

  /** Partition 1's replicas become [2]: broker 2 copies it, takes the lead, broker 1 drops it. */
  async function moveSecondPartition(admin: Lib.Admin): Promise<void> {
    const connections = await admin.connectToBrokers([1]);
    const response = await lib.alterPartitionReassignmentsV0.api.async(connections.get(1)!, 30_000, false, [{ name: topic, partitions: [{ partitionIndex: 1, replicas: [2] }] }]);
    expect(response.errorCode).toBe(0);
    while (JSON.stringify(await leaders(admin)) !== '[1,2]') await sleep(300);
  }

  async function highs(admin: Lib.Admin): Promise<bigint[]> {
    const listed = await admin.listOffsets({ topics: [{ name: topic, partitions: [0, 1].map((partitionIndex) => ({ partitionIndex, timestamp: lib.ListOffsetTimestamps.LATEST })) }] });
    return listed[0].partitions.sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.offset);
  }

  async function tearDown(admin: Lib.Admin | undefined): Promise<void> {
    await admin?.close().catch(() => undefined);
    await cluster?.stop(5000);
    rmSync(dir, { recursive: true, force: true });
  }

  it('library gap (reproduction): the moved partition never gets its records', { timeout: 900_000 }, async () => {
    let admin: Lib.Admin | undefined;
    let producer: Lib.Producer | undefined;
    try {
      admin = await setUp();
      producer = new lib.Producer({ clientId: 'leader-move-raw', bootstrapBrokers: cluster.brokers, idempotent: true, acks: lib.ProduceAcks.ALL, metadataMaxAge: 600_000, retryDelay: 250 });
      const batch = (label: string) => [0, 1].flatMap((partition) => Array.from({ length: 10 }, (_, i) => ({ topic, partition, value: Buffer.from(`${label}-${partition}-${i}`) })));
      await producer.send({ messages: batch('warm-up') });
      expect(await highs(admin)).toEqual([10n, 10n]);
      await moveSecondPartition(admin);
      const outcome = await Promise.race([
        producer.send({ messages: batch('after-move') }).then(() => 'resolved', (err: Error) => `rejected: ${err.message}`),
        sleep(30_000).then(() => 'still pending after 30 s'),
      ]);
      // Partition 0 got its records (deduplicated on every re-send); partition 1 none of them, whatever the send says.
      expect(await highs(admin)).toEqual([20n, 10n]);
      expect(outcome).not.toBe('resolved');
      console.info(`library send after the leader move: ${outcome}`);
    } finally {
      await producer?.close(true).catch(() => undefined);
      await tearDown(admin);
    }
  });

  it('the port’s adapter writes both partitions exactly once', { timeout: 900_000 }, async () => {
    let admin: Lib.Admin | undefined;
    const { createPlatformaticKafka } = await import('../../../src/platform/kafka/platformatic-adapter.ts');
    let port: ReturnType<typeof createPlatformaticKafka> | undefined;
    try {
      admin = await setUp();
      port = createPlatformaticKafka({ brokers: cluster.brokers, clientId: 'leader-move-port', metadataMaxAgeMs: 600_000 });
      const producer = port.producer({ acks: 'all', idempotent: true, codec: 'lz4', retryForever: true });
      const batch = (label: string) => [0, 1].flatMap((partition) => Array.from({ length: 10 }, (_, i) => ({ key: null, partition, value: `${label}-${partition}-${i}` })));
      const warm = await producer.send(topic, batch('warm-up'));
      expect(warm.ok).toBe(true);
      await moveSecondPartition(admin);
      const result = await Promise.race([producer.send(topic, batch('after-move')), sleep(60_000).then(() => 'still pending after 60 s')]);
      expect(result).toEqual({ ok: true, partitions: [{ partition: 0, baseOffset: 10n, records: 10 }, { partition: 1, baseOffset: 10n, records: 10 }] });
      expect(await highs(admin)).toEqual([20n, 20n]);
    } finally {
      await port?.close();
      await tearDown(admin);
    }
  });
});
