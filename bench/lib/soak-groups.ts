import type { KafkaPort } from '../../src/platform/kafka/kafka-port.ts';
import { until } from './soak-processes.ts';

/** A group's state (`Stable`, `PreparingRebalance`, …) and the partitions of `topic` held by each member, sorted. */
export async function describeGroup(kafka: KafkaPort, groupId: string, topic: string): Promise<{ state: string; members: number[][] }> {
  const admin = kafka.admin();
  try {
    const group = await admin.describeGroup(groupId);
    const members = group.members
      .map((m) => m.assigned.filter((a) => a.topic === topic).flatMap((a) => a.partitions).sort((a, b) => a - b))
      .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
    return { state: group.state, members };
  } finally {
    await admin.close();
  }
}

/** Partitions of `topic` held by each member of a consumer group, e.g. `[0,2,4] [1,3,5]` (sorted, one list per member). */
export async function groupMembers(kafka: KafkaPort, groupId: string, topic: string): Promise<number[][]> {
  return (await describeGroup(kafka, groupId, topic)).members;
}

/**
 * The members once the group is settled: `Stable` with every member holding partitions (`count` members when
 * given). A rebalance (a member joining or dying, the coordinator moving with a broker restart) passes through
 * states where assignments are empty; reading then would describe the rebalance, not the group.
 */
export async function settledGroupMembers(kafka: KafkaPort, groupId: string, topic: string, timeoutMs: number, count?: number): Promise<number[][]> {
  return until(
    async () => {
      const g = await describeGroup(kafka, groupId, topic).catch(() => undefined);
      const settled = g?.state === 'Stable' && g.members.length > 0 && g.members.every((p) => p.length > 0) && (count === undefined || g.members.length === count);
      return settled ? g.members : undefined;
    },
    timeoutMs,
    `consumer group ${groupId} to settle${count === undefined ? '' : ` with ${count} member(s)`}`,
    500,
  );
}

export const formatMembers = (members: number[][]) => `${members.length} member(s): ${members.map((p) => `[${p.join(',')}]`).join(' ')}`;
