import { createRequire } from 'node:module';

/**
 * Replacement for kafkajs 2.2.4's `producer/sendMessages.js` (installed by kafkajs.ts), which can report a send as
 * done while some of its messages were never written. kafkajs remembers which *brokers* answered across retries
 * and, on a retry, skips every broker that already answered. When a broker dies mid-send, its partitions move to
 * a surviving leader; if that leader had answered for its own partitions, the moved partitions' messages are never
 * sent again and `send()` resolves (a known kafkajs 2.x bug). The three-broker failover run lost ~700 of 61,000 events
 * that way: acknowledged to the emitter, absent from every replica's log.
 *
 * Here the acknowledgement is remembered per *partition*: each attempt sends every partition not yet acknowledged
 * to its current leader, and the send resolves only when every partition holding messages is acknowledged.
 * Each attempt waits for all its requests to settle before the retry, so no request of the previous attempt is
 * still in flight when a partition is sent again (kafkajs' idempotence takes the sequence numbers at send time:
 * a retry overlapping a request that later succeeds would write its messages a second time).
 * Messages are grouped into partitions once, on the first attempt that has metadata, so a retry never moves a
 * message to another partition. Sequence numbers, broker locks and the response format are kafkajs' own.
 */
const require = createRequire(import.meta.url);

/* eslint-disable @typescript-eslint/no-explicit-any -- kafkajs internals are untyped CommonJS */
const { KafkaJSMetadataNotLoaded } = require('kafkajs/src/errors.js') as Record<string, new (message: string) => Error>;
const { staleMetadata } = require('kafkajs/src/protocol/error.js') as { staleMetadata: (e: unknown) => boolean };
const createTopicData = require('kafkajs/src/producer/createTopicData.js') as (d: unknown[]) => { topic: string; partitions: { partition: number; messages: unknown[]; firstSequence?: number }[] }[];
const responseSerializer = require('kafkajs/src/producer/responseSerializer.js') as (r: unknown) => { topicName: string; partition: number }[];

interface Deps {
  logger: { error(msg: string, extra?: object): void; debug(msg: string, extra?: object): void };
  cluster: any;
  partitioner: unknown;
  eosManager: any;
  retrier: <T>(fn: (bail: (e: Error) => void, retryCount: number, retryTime: number) => Promise<T>) => Promise<T>;
}

interface SendArgs {
  acks: number;
  timeout: number;
  compression: unknown;
  topicMessages: { topic: string; messages: unknown[] }[];
}

export function createSendMessages({ logger, cluster, partitioner, eosManager, retrier }: Deps) {
  // The grouping module is required lazily so the replacement installed by kafkajs.ts is the one used.
  const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (a: object) => Record<number, unknown[]>;

  return async ({ acks, timeout, compression, topicMessages }: SendArgs) => {
    const grouped = new Map<string, Record<number, unknown[]>>();
    /** `topic\0partition` → its response entry, kept across attempts. */
    const acknowledged = new Map<string, object>();
    const key = (topic: string, partition: number | string) => `${topic}\0${partition}`;

    const attempt = async () => {
      await cluster.refreshMetadataIfNecessary();
      const perBroker = new Map<number, { topic: string; partitions: number[]; messagesPerPartition: Record<number, unknown[]> }[]>();
      for (const { topic, messages } of topicMessages) {
        if (!grouped.has(topic)) {
          const partitionMetadata = cluster.findTopicPartitionMetadata(topic);
          if (partitionMetadata.length === 0) throw new KafkaJSMetadataNotLoaded('Producing to topic without metadata');
          grouped.set(topic, groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }));
        }
        const messagesPerPartition = grouped.get(topic)!;
        const pending = Object.keys(messagesPerPartition).filter((p) => !acknowledged.has(key(topic, p)));
        const partitionsPerLeader = cluster.findLeaderForPartitions(topic, pending) as Record<string, number[]>;
        const placed = Object.values(partitionsPerLeader).flat().length;
        // kafkajs leaves out a partition missing from the metadata: its messages would silently stay unsent.
        if (placed !== pending.length) throw new KafkaJSMetadataNotLoaded(`no leader known for ${pending.length - placed} partition(s) of ${topic}`);
        for (const [nodeId, partitions] of Object.entries(partitionsPerLeader)) {
          const list = perBroker.get(Number(nodeId)) ?? [];
          list.push({ topic, partitions, messagesPerPartition });
          perBroker.set(Number(nodeId), list);
        }
      }

      const requests = [...perBroker].map(async ([nodeId, topicDataForBroker]) => {
        const broker = await cluster.findBroker({ nodeId });
        const topicData = createTopicData(topicDataForBroker);
        await eosManager.acquireBrokerLock(broker);
        try {
          if (eosManager.isTransactional()) await eosManager.addPartitionsToTransaction(topicData);
          for (const { topic, partitions } of topicData) {
            for (const entry of partitions) {
              entry.firstSequence = eosManager.getSequence(topic, entry.partition);
              eosManager.updateSequence(topic, entry.partition, entry.messages.length);
            }
          }
          let response: unknown;
          try {
            response = await broker.produce({
              transactionalId: eosManager.isTransactional() ? eosManager.getTransactionalId() : undefined,
              producerId: eosManager.getProducerId(),
              producerEpoch: eosManager.getProducerEpoch(),
              acks,
              timeout,
              compression,
              topicData,
            });
          } catch (e) {
            for (const { topic, partitions } of topicData) for (const entry of partitions) eosManager.updateSequence(topic, entry.partition, -entry.messages.length);
            throw e;
          }
          if (acks === 0) {
            for (const { topic, partitions } of topicData) for (const entry of partitions) acknowledged.set(key(topic, entry.partition), undefined as unknown as object);
            return;
          }
          for (const entry of responseSerializer(response)) acknowledged.set(key(entry.topicName, entry.partition), entry);
        } finally {
          await eosManager.releaseBrokerLock(broker);
        }
      });
      const settled = await Promise.allSettled(requests);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      return [...acknowledged.values()].filter(Boolean);
    };

    return retrier(async (bail, retryCount, retryTime) => {
      await cluster.addMultipleTargetTopics(topicMessages.map(({ topic }) => topic));
      try {
        return await attempt();
      } catch (e: any) {
        if (e.name === 'KafkaJSConnectionClosedError') cluster.removeBroker({ host: e.host, port: e.port });
        if (!cluster.isConnected()) {
          logger.debug(`Cluster has disconnected, reconnecting: ${e.message}`, { retryCount, retryTime });
          await cluster.connect();
          await cluster.refreshMetadata();
          throw e;
        }
        if (staleMetadata(e) || ['KafkaJSMetadataNotLoaded', 'KafkaJSConnectionError', 'KafkaJSConnectionClosedError'].includes(e.name) || (e.name === 'KafkaJSProtocolError' && e.retriable)) {
          logger.error(`Failed to send messages: ${e.message}`, { retryCount, retryTime });
          await cluster.refreshMetadata();
          throw e;
        }
        logger.error(`${e.message}`, { retryCount, retryTime });
        if (e.retriable) throw e;
        bail(e);
      }
    });
  };
}
