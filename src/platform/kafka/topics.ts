import type { Config } from '../config.ts';
import type { KafkaPort as KafkajsClient } from './kafka-client.ts';
import type { KafkaPort, TopicSpec as PortTopicSpec } from './kafka-port.ts';
import { clusterReplication } from './local-cluster.ts';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

/** How long a created topic may take to have a leader for every partition (a busy broker can take seconds). */
const LEADERS_DEADLINE_MS = 120_000;

/**
 * Creates the topics that are missing; existing ones are left as they are. Safe to call on every start. Returns
 * once every partition of each topic has a leader: kafkajs' own wait gives up when the broker answers "does not
 * host this topic-partition" before its metadata caught up with the creation, which a loaded broker does.
 */
export async function ensureTopics(kafka: KafkaPort | KafkajsClient, topics: TopicSpec[]): Promise<string[]> {
  if ('groupConsumer' in kafka) {
    const portAdmin = kafka.admin();
    try {
      return await portAdmin.ensureTopics(topics.map(portTopicSpec));
    } finally {
      await portAdmin.close();
    }
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing, waitForLeaders: false });
      await waitForLeaders(admin, missing);
    }
    return missing.map((t) => t.topic);
  } finally {
    await admin.disconnect();
  }
}

async function waitForLeaders(admin: ReturnType<KafkajsClient['admin']>, topics: TopicSpec[]): Promise<void> {
  const deadline = Date.now() + LEADERS_DEADLINE_MS;
  let lastError = '';
  for (let delay = 50; ; delay = Math.min(1000, delay * 2)) {
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
      const ready = topics.every((t) => {
        const m = meta.find((x) => x.name === t.topic);
        return m !== undefined && m.partitions.length === t.numPartitions && m.partitions.every((p) => p.leader >= 0);
      });
      if (ready) return;
      lastError = 'partitions without a leader';
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.map((t) => t.topic).join(', ')} have no leader for every partition after ${LEADERS_DEADLINE_MS / 1000} s: ${lastError}`);
    await new Promise((r) => setTimeout(r, delay));
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
