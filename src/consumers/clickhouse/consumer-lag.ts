import type { KafkaPort } from '../../platform/kafka/kafka-port.ts';

/**
 * Consumer lag per partition = log-end offset − committed offset, asked of the broker. Unlike the lag a
 * running consumer sees in its last fetch, this keeps growing while the sink is stuck retrying (the
 * consumer commits nothing then), which is exactly when on-call needs to see it.
 * Exposed as `actionpulse_clickhouse_consumer_lag{partition}`.
 */
export async function consumerLag(kafka: KafkaPort, groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  try {
    const [ranges, committed] = await Promise.all([admin.partitionRanges(topic), admin.committedOffsets(groupId, topic)]);
    const done = new Map(committed.map((p) => [p.partition, p.offset]));
    const lag = new Map<number, number>();
    for (const p of ranges) {
      const at = done.get(p.partition) ?? -1n;
      // -1 = nothing committed yet: everything from the log start is still to be read.
      const from = at < 0n ? p.low : at;
      lag.set(p.partition, Number(p.high > from ? p.high - from : 0n));
    }
    return lag;
  } finally {
    await admin.close();
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
