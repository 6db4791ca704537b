import type { KafkaPort } from '../../platform/kafka/kafka-client.ts';

/**
 * Consumer lag per partition = log-end offset − committed offset, asked of the broker. Unlike the lag a
 * running consumer sees in its last fetch, this keeps growing while the sink is stuck retrying (the
 * consumer commits nothing then), which is exactly when on-call needs to see it.
 * Exposed as `actionpulse_clickhouse_consumer_lag{partition}`.
 */
export async function consumerLag(kafka: KafkaPort, groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const done = new Map<number, bigint>();
    for (const p of committed.find((t) => t.topic === topic)?.partitions ?? []) done.set(p.partition, BigInt(p.offset));
    const lag = new Map<number, number>();
    for (const p of ends) {
      const end = BigInt(p.high);
      const at = done.get(p.partition) ?? -1n;
      // -1 = nothing committed yet: everything from the log start is still to be read.
      const from = at < 0n ? BigInt(p.low) : at;
      lag.set(p.partition, Number(end > from ? end - from : 0n));
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/** Prometheus text lines for the lag, one per partition. */
export function lagMetricLines(lag: Map<number, number>, topic: string): string {
  const lines = ['# TYPE actionpulse_clickhouse_consumer_lag gauge'];
  for (const [partition, value] of [...lag].sort(([a], [b]) => a - b)) {
    lines.push(`actionpulse_clickhouse_consumer_lag{topic="${topic}",partition="${partition}"} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}
