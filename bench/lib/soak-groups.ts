import { AssignerProtocol } from 'kafkajs';
import type { KafkaPort } from '../../src/platform/kafka/kafka-client.ts';

/** Partitions of `topic` held by each member of a consumer group, e.g. `[0,2,4] [1,3,5]` (sorted, one list per member). */
export async function groupMembers(kafka: KafkaPort, groupId: string, topic: string): Promise<number[][]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return (groups[0]?.members ?? [])
      .map((m) => {
        const decoded = m.memberAssignment.length ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
        return [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b);
      })
      .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  } finally {
    await admin.disconnect();
  }
}

export const formatMembers = (members: number[][]) => `${members.length} member(s): ${members.map((p) => `[${p.join(',')}]`).join(' ')}`;
