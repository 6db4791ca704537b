import { loadConfig } from '../../platform/config.ts';
import { kafkaConnectionFromConfig } from '../../platform/kafka/kafka-connection.ts';
import { localClusterPorts } from '../../platform/kafka/local-cluster.ts';
import { createPlatformaticKafka } from '../../platform/kafka/platformatic-adapter.ts';
import { pipelineTopics } from '../../platform/kafka/topics.ts';
import { EX_UNAVAILABLE, OperatorError, parse, UsageError } from '../args.ts';

export const help = `actionpulse topics create

  Creates the pipeline's Kafka topics with their settings, on KAFKA_BROKERS (or, when it is unset, on the local
  broker of \`actionpulse kafka start\`): the events topic KAFKA_EVENTS_TOPIC (KAFKA_PARTITIONS partitions) and
  the dead-letter topic KAFKA_DLQ_TOPIC (1 partition, kept 30 days), each with KAFKA_REPLICATION_FACTOR copies and
  min.insync.replicas KAFKA_MIN_INSYNC_REPLICAS. A topic that exists is left as it is, so running it again
  changes nothing. Run it once per Kafka cluster before the first agent runtime starts: the runtime never creates
  topics, and a broker that refuses auto-creation refuses its events. (\`actionpulse start\` creates them too.)`;

export async function run(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  if (positionals.length !== 1 || positionals[0] !== 'create') throw new UsageError(positionals.length ? `unknown subcommand '${positionals.join(' ')}'` : 'topics needs a subcommand');
  const config = loadConfig();
  const brokers = config.kafka.brokers ?? localClusterPorts(config.kafka.localPort, config.kafka.localBrokers).map((port) => `127.0.0.1:${port}`);
  const specs = pipelineTopics(config.kafka);
  const kafka = createPlatformaticKafka(kafkaConnectionFromConfig(config, brokers));
  const admin = kafka.admin();
  try {
    const created = await admin.ensureTopics(
      specs.map((s) => ({
        topic: s.topic,
        partitions: s.numPartitions,
        replicationFactor: s.replicationFactor,
        settings: Object.fromEntries((s.configEntries ?? []).map((e) => [e.name, e.value])),
      })),
    );
    for (const s of specs) {
      const settings = (s.configEntries ?? []).map((e) => `${e.name}=${e.value}`).join(', ');
      console.log(`${s.topic}: ${created.includes(s.topic) ? 'created' : 'exists, left as it is'} (${s.numPartitions} partition${s.numPartitions === 1 ? '' : 's'}, ${s.replicationFactor} cop${s.replicationFactor === 1 ? 'y' : 'ies'}${settings ? `, ${settings}` : ''})`);
    }
    return 0;
  } catch (err) {
    const detail = (err as Error).message.split('\n')[0];
    throw new OperatorError(
      `Kafka at ${brokers.join(',')}: ${detail}: check KAFKA_BROKERS (and KAFKA_SSL/KAFKA_SASL_*), or start the local broker with \`npx actionpulse kafka start\``,
      EX_UNAVAILABLE,
    );
  } finally {
    await kafka.close().catch(() => undefined);
  }
}
