import { loadConfig } from '../../platform/config.ts';
import { startLocalBroker, stopLocalBroker } from '../../platform/kafka/local-broker.ts';

export const help = `actionpulse kafka start|stop

  start   start the local Kafka 3.9 broker (KRaft, 127.0.0.1:KAFKA_LOCAL_PORT), or reuse a running one
  stop    stop it (SIGTERM, then SIGKILL after 30 s)`;

export async function run(args: string[]): Promise<number> {
  const config = loadConfig();
  const o = { dataDir: config.dataDir, port: config.kafka.localPort, controllerPort: config.kafka.localControllerPort, heapMb: config.kafka.localHeapMb };
  if (args[0] === 'start') {
    const b = await startLocalBroker(o);
    console.log(`Kafka broker ${b.reused ? 'already running' : 'started'} at ${b.brokers.join(',')} (${b.startMs} ms)`);
    return 0;
  }
  if (args[0] === 'stop') {
    const stopped = await stopLocalBroker(o);
    console.log(stopped ? 'Kafka broker stopped' : 'no local Kafka broker was running');
    return 0;
  }
  console.error(help);
  return 2;
}
