import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Kafka, logLevel } from '../../../src/platform/kafka/kafkajs.ts';
import { freeLocalPort } from '../../../src/platform/kafka/local-broker.ts';
import { LocalCluster } from '../../../src/platform/kafka/local-cluster.ts';
import { kafkajsProducerSettings } from '../../../src/platform/kafka/kafkajs-producer-settings.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The case that lost events in the three-broker failover run, made deterministic: a two-broker cluster, one
 * partition on broker 1 alone (so broker 1 answers for it at once, whatever happens to broker 2) and one led by
 * broker 2 with a copy on broker 1. Broker 2 is frozen (SIGSTOP) and fenced, its partition moves to broker 1, and
 * only then one send carries messages for both partitions with the producer's metadata still naming broker 2:
 * broker 1 answers for its partition, the request to broker 2 times out, and the retry finds the moved partition
 * on broker 1 — the broker that already answered. kafkajs 2.2.4 as released resolves that send without ever
 * writing the moved partition's messages.
 */
describe('the emitter’s kafkajs producer when a partition leader dies during a send', () => {
  it('resolves a send only once every partition holds its messages, also when the dead leader’s partition moves to a broker that already answered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ap-leader-move-'));
    const cluster = new LocalCluster({ dataDir: dir, brokerPorts: [await freeLocalPort(), await freeLocalPort()], controllerPort: await freeLocalPort(), heapMb: 256, readyTimeoutMs: 600_000 });
    const kafka = new Kafka({ clientId: 'leader-move', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer(kafkajsProducerSettings({ retryForever: true }).config);
    // Two topics of one partition each: every partition of one topic must have the same number of copies, and
    // the partition on broker 1 must have no copy on broker 2 (else its acks=all answer waits for broker 2's fencing).
    const alone = 'on-broker-1';
    const moving = 'led-by-broker-2';
    let frozen: number | undefined;
    try {
      await cluster.start();
      await admin.connect();
      await admin.createTopics({
        topics: [
          { topic: alone, replicaAssignment: [{ partition: 0, replicas: [1] }] },
          { topic: moving, replicaAssignment: [{ partition: 0, replicas: [2, 1] }] },
        ],
        waitForLeaders: true,
      });
      const leaders = async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [alone, moving] });
        return [alone, moving].map((name) => [name, topics.find((t) => t.name === name)?.partitions[0]?.leader]);
      };
      while (JSON.stringify(await leaders()) !== JSON.stringify([[alone, 1], [moving, 2]])) await sleep(500);

      await producer.connect();
      const batch = (label: string, n: number) => [alone, moving].map((topic) => ({ topic, messages: Array.from({ length: n }, (_, i) => ({ value: `${label}${i}` })) }));
      await producer.sendBatch({ acks: -1, topicMessages: batch('warm-up', 1) });
      // Frozen, not killed: the producer's connection to broker 2 stays open, so its request is sent and waits
      // for an answer that never comes. The controller fences broker 2 (no heartbeats) and moves its partition
      // to broker 1; the producer still holds the old metadata when it sends.
      frozen = cluster.pid(2);
      process.kill(frozen!, 'SIGSTOP');
      // Watched and measured through broker 1 alone: broker 2, once thawed, answers as the leader it no longer is
      // until it learns it was fenced.
      const viaBroker1 = new Kafka({ clientId: 'leader-move-watch', brokers: [cluster.brokers[0]], logLevel: logLevel.NOTHING }).admin();
      await viaBroker1.connect();
      try {
        const leaderOfMoving = async () => (await viaBroker1.fetchTopicMetadata({ topics: [moving] })).topics[0].partitions[0].leader;
        while ((await leaderOfMoving()) !== 1) await sleep(500);
        await producer.sendBatch({ acks: -1, topicMessages: batch('m', 50) });

        // Broker 1 leads both partitions: each must hold the warm-up message and the 50 others, each once.
        const highs = await Promise.all([alone, moving].map(async (topic) => [topic, Number((await viaBroker1.fetchTopicOffsets(topic))[0].high)]));
        expect(highs).toEqual([[alone, 51], [moving, 51]]);
      } finally {
        await viaBroker1.disconnect();
      }
    } finally {
      if (frozen) process.kill(frozen, 'SIGCONT');
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await cluster.stop(5000);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
