import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/platform/config.ts';
import { controlTopic, pipelineTopics, topicReplication } from '../../../src/platform/kafka/topics.ts';

const minIsr = (spec: { configEntries?: { name: string; value: string }[] }) => spec.configEntries?.find((e) => e.name === 'min.insync.replicas')?.value;

describe('topic replication from config', () => {
  it('one copy and min ISR 1 on the single local broker (the npm start default)', () => {
    const k = loadConfig({}).kafka;
    expect(topicReplication(k)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(pipelineTopics(k).map((t) => [t.topic, t.replicationFactor, minIsr(t)])).toEqual([
      ['actionpulse.events.v1', 1, '1'],
      ['actionpulse.events.dlq.v1', 1, '1'],
    ]);
  });

  it('three copies and min ISR 2 for events, dead letters and the alerts control topic on a local 3-broker cluster', () => {
    const k = loadConfig({ KAFKA_LOCAL_BROKERS: '3' }).kafka;
    const specs = [...pipelineTopics(k), controlTopic(k, 'actionpulse.alerts.control.v1')];
    expect(specs.map((t) => [t.replicationFactor, minIsr(t)])).toEqual([
      [3, '2'],
      [3, '2'],
      [3, '2'],
    ]);
    // The dead-letter topic keeps its own retention beside the replication settings.
    expect(specs[1].configEntries?.map((e) => e.name).sort()).toEqual(['min.insync.replicas', 'retention.ms']);
  });

  it('configured values win, also on external brokers', () => {
    expect(topicReplication(loadConfig({ KAFKA_BROKERS: 'k1:9092', KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' }).kafka)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(topicReplication(loadConfig({ KAFKA_BROKERS: 'k1:9092' }).kafka)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
    // A two-broker local cluster: 2 copies, 1 in sync (2 would stop every write when one broker is down).
    expect(topicReplication(loadConfig({ KAFKA_LOCAL_BROKERS: '2' }).kafka)).toEqual({ replicationFactor: 2, minInsyncReplicas: 1 });
  });
});
