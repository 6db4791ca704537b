import type { TestProject } from 'vitest/node';
import { startLocalBroker } from '../src/platform/kafka/local-broker.ts';

/**
 * One real Kafka broker for the whole run (tests that break a broker start their own on another port).
 * KAFKA_BROKERS points the suite at an existing cluster instead.
 */
export default async function setup(project: TestProject): Promise<void> {
  let brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean);
  if (!brokers?.length) {
    const broker = await startLocalBroker({
      dataDir: process.env.ACTIONPULSE_TEST_DATA_DIR ?? '.data/test',
      port: Number(process.env.TEST_KAFKA_PORT ?? 19192),
      controllerPort: Number(process.env.TEST_KAFKA_CONTROLLER_PORT ?? 19193),
      heapMb: 512,
    });
    brokers = broker.brokers;
  }
  process.env.TEST_KAFKA_BROKERS = brokers.join(',');
  project.provide('kafkaBrokers', brokers);
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}
