import type { Config } from '../config.ts';
import type { KafkaPort, TopicSpec as PortTopicSpec } from './kafka-port.ts';
import { clusterReplication } from './local-cluster.ts';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

/**
 * Creates the topics that are missing through the port's admin; existing ones are left as they are. Safe to call on
 * every start. Returns once every partition of each new topic has a leader.
 */
export async function ensureTopics(kafka: KafkaPort, topics: TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  try {
    return await admin.ensureTopics(topics.map(portTopicSpec));
  } finally {
    await admin.close();
  }
}

/** The same topic in the Kafka port's words. */
export function portTopicSpec(t: TopicSpec): PortTopicSpec {
  return { topic: t.topic, partitions: t.numPartitions, replicationFactor: t.replicationFactor, settings: Object.fromEntries((t.configEntries ?? []).map((e) => [e.name, e.value])) };
}

export interface TopicReplication {
  replicationFactor: number;
  minInsyncReplicas: number;
}

type ReplicationSettings = Pick<Config['kafka'], 'replicationFactor' | 'minInsyncReplicas'> & Partial<Pick<Config['kafka'], 'brokers' | 'localBrokers'>>;

/**
 * Copies and in-sync minimum of the pipeline's topics: the configured values, or what fits the Kafka
 * we start ourselves (one broker: 1/1; a local cluster of three or more: 3/2), or 1/1 on configured
 * brokers (where the operator says what the cluster can hold).
 */
export function topicReplication(k: ReplicationSettings): TopicReplication {
  const local = !k.brokers && (k.localBrokers ?? 1) > 1 ? clusterReplication(k.localBrokers ?? 1) : { replicationFactor: 1, minInsyncReplicas: 1 };
  const replicationFactor = k.replicationFactor ?? local.replicationFactor;
  return { replicationFactor, minInsyncReplicas: k.minInsyncReplicas ?? Math.min(local.minInsyncReplicas, replicationFactor) };
}

function replicated(k: ReplicationSettings, spec: Omit<TopicSpec, 'replicationFactor'>): TopicSpec {
  const r = topicReplication(k);
  return {
    ...spec,
    replicationFactor: r.replicationFactor,
    // Below this many in-sync copies the leader refuses acks=all writes: a write is on two disks or not acknowledged.
    configEntries: [...(spec.configEntries ?? []), { name: 'min.insync.replicas', value: String(r.minInsyncReplicas) }],
  };
}

export function pipelineTopics(k: ReplicationSettings & { eventsTopic: string; deadLetterTopic: string; partitions: number }): TopicSpec[] {
  return [
    replicated(k, { topic: k.eventsTopic, numPartitions: k.partitions }),
    // The dead-letter topic keeps its records long enough for a human to fix and replay them.
    replicated(k, { topic: k.deadLetterTopic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600_000) }] }),
  ];
}

/** The alert evaluator's one-partition leadership topic, replicated like the pipeline's topics. */
export function controlTopic(k: ReplicationSettings, topic: string): TopicSpec {
  return replicated(k, { topic, numPartitions: 1 });
}
