import type { TestProject } from 'vitest/node';
import { startLocalBroker, stopLocalBroker } from '../src/platform/kafka/local-broker.ts';

/**
 * One real Kafka broker for the whole run (tests that break a broker start their own on another port).
 * KAFKA_BROKERS points the suite at an existing cluster instead. A broker this run started is stopped when
 * the run ends; one that was already running (e.g. `actionpulse kafka start` with TEST_KAFKA_PORT's port,
 * to keep it between runs) is left running.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  let brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean);
  let teardown: (() => Promise<void>) | undefined;
  if (!brokers?.length) {
    const local = {
      dataDir: process.env.ACTIONPULSE_TEST_DATA_DIR ?? '.data/test',
      port: Number(process.env.TEST_KAFKA_PORT ?? 19192),
      controllerPort: Number(process.env.TEST_KAFKA_CONTROLLER_PORT ?? 19193),
      heapMb: 512,
    };
    const broker = await startLocalBroker(local);
    brokers = broker.brokers;
    if (!broker.reused) {
      teardown = async () => {
        await stopLocalBroker(local);
      };
    }
  }
  process.env.TEST_KAFKA_BROKERS = brokers.join(',');
  project.provide('kafkaBrokers', brokers);
  return teardown;
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}
