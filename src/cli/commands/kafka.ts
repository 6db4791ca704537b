import { loadConfig } from '../../platform/config.ts';
import { KAFKA_LIBS_DIR, kafkaJarsPresent } from '../../platform/kafka/kafka-jars.ts';
import { startLocalBroker, stopLocalBroker } from '../../platform/kafka/local-broker.ts';
import { topicReplication } from '../../platform/kafka/topics.ts';
import { parse, UsageError } from '../args.ts';

export const help = `actionpulse kafka start|stop [--brokers N]

  start   start the local Kafka 3.9 broker (KRaft, 127.0.0.1:KAFKA_LOCAL_PORT), or reuse a running one; the first
          start fetches its jars from Maven Central (needs Maven and Java 17) with the package's pom.xml
  stop    stop it (SIGTERM, then SIGKILL after 30 s)

  --brokers N   a local cluster instead: one KRaft controller (KAFKA_LOCAL_CONTROLLER_PORT) and N brokers on
                KAFKA_LOCAL_PORT, +2, +4, … (default KAFKA_LOCAL_BROKERS, 1). With 3 brokers the pipeline's
                topics get 3 copies and min.insync.replicas=2; run the pipeline on it with
                KAFKA_LOCAL_BROKERS=3 npm start (or KAFKA_BROKERS=<the printed list>).`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { brokers: { type: 'string' } });
  const config = loadConfig();
  const count = values.brokers === undefined ? config.kafka.localBrokers : Number(values.brokers);
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new UsageError('--brokers takes a whole number from 1 to 9');
  const command = positionals[0];
  if (count > 1 && (command === 'start' || command === 'stop')) {
    // Loaded here only: a runtime-only install starts one broker without the pipeline's packages.
    const { localCluster } = await import('../../app/local-infra.ts');
    const cluster = localCluster(config, undefined, count);
    if (command === 'stop') {
      await cluster.stop();
      console.log(`Kafka cluster ${cluster.brokers.join(',')} stopped`);
      return 0;
    }
    const c = await cluster.start();
    const r = topicReplication({ ...config.kafka, localBrokers: count });
    console.log(`Kafka cluster of ${count} brokers ${c.reused ? 'already running' : 'started'} at ${cluster.brokers.join(',')} (${c.startMs} ms)`);
    console.log(`Pipeline topics there: replication factor ${r.replicationFactor}, min.insync.replicas ${r.minInsyncReplicas}. Use it with`);
    console.log(`  KAFKA_LOCAL_BROKERS=${count} npm start     (or KAFKA_BROKERS=${cluster.brokers.join(',')} KAFKA_REPLICATION_FACTOR=${r.replicationFactor} KAFKA_MIN_INSYNC_REPLICAS=${r.minInsyncReplicas})`);
    return 0;
  }
  const o = { dataDir: config.dataDir, port: config.kafka.localPort, controllerPort: config.kafka.localControllerPort, heapMb: config.kafka.localHeapMb };
  if (command === 'start') {
    if (!kafkaJarsPresent()) console.error(`Fetching the Kafka broker's jars from Maven Central (once) into ${KAFKA_LIBS_DIR}…`);
    const b = await startLocalBroker(o);
    console.log(`Kafka broker ${b.reused ? 'already running' : 'started'} at ${b.brokers.join(',')} (${b.startMs} ms)`);
    return 0;
  }
  if (command === 'stop') {
    const stopped = await stopLocalBroker(o);
    console.log(stopped ? 'Kafka broker stopped' : 'no local Kafka broker was running');
    return 0;
  }
  console.error(help);
  return 2;
}
