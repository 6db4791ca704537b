import type { KafkaPort } from './kafka-client.ts';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

/** Creates the topics that are missing; existing ones are left as they are. Safe to call on every start. */
export async function ensureTopics(kafka: KafkaPort, topics: TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
    }
    return missing.map((t) => t.topic);
  } finally {
    await admin.disconnect();
  }
}

export function pipelineTopics(k: { eventsTopic: string; deadLetterTopic: string; partitions: number; replicationFactor: number }): TopicSpec[] {
  return [
    { topic: k.eventsTopic, numPartitions: k.partitions, replicationFactor: k.replicationFactor },
    // The dead-letter topic keeps its records long enough for a human to fix and replay them.
    {
      topic: k.deadLetterTopic,
      numPartitions: 1,
      replicationFactor: k.replicationFactor,
      configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600_000) }],
    },
  ];
}
