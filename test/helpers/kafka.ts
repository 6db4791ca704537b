import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import type { KafkaMessage, Producer } from 'kafkajs';
import { createKafkaClient, type KafkaPort } from '../../src/platform/kafka/kafka-client.ts';
import type { IncomingRecord, KafkaConnection, KafkaPort as Port } from '../../src/platform/kafka/kafka-port.ts';
import { ensureTopics } from '../../src/platform/kafka/topics.ts';

export function testBrokers(): string[] {
  const fromEnv = process.env.TEST_KAFKA_BROKERS?.split(',').filter(Boolean);
  return fromEnv?.length ? fromEnv : inject('kafkaBrokers');
}

export async function testKafka(brokers: string[] = testBrokers()): Promise<KafkaPort> {
  return createKafkaClient({ brokers, clientId: `test-${randomBytes(3).toString('hex')}` });
}

/**
 * The project's Kafka port (the @platformatic/kafka adapter) on the test broker, as the emitter is given it in
 * production; the caller closes it. `connection` overrides the client id, timeouts, brokers.
 */
export async function testPort(connection: Partial<KafkaConnection> = {}): Promise<Port> {
  // Loaded on use: the library needs Node >= 22.22, and files that never make a port need not load it.
  const { createPlatformaticKafka } = await import('../../src/platform/kafka/platformatic-adapter.ts');
  return createPlatformaticKafka({ brokers: testBrokers(), clientId: `test-${randomBytes(3).toString('hex')}`, ...connection });
}

/**
 * For a whole test file: a broker client and one idempotent producer, connected before the file's
 * tests and disconnected after them, and the project's Kafka port (`port`, what the consumers take).
 * Read `kafka`, `producer` and `port` inside hooks and tests only.
 */
export function sharedProducer(): { readonly kafka: KafkaPort; readonly producer: Producer; readonly port: Port } {
  let kafka: KafkaPort | undefined;
  let producer: Producer | undefined;
  let port: Port | undefined;
  beforeAll(async () => {
    kafka = await testKafka();
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    port = await testPort();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await port?.close();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('sharedProducer() is only ready inside hooks and tests');
    return value;
  };
  return {
    get kafka() {
      return ready(kafka);
    },
    get producer() {
      return ready(producer);
    },
    get port() {
      return ready(port);
    },
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Creates a fresh events topic and dead-letter topic for one test (through the port's admin when given a port). */
export async function freshTopics(kafka: KafkaPort | Port, partitions = 3): Promise<{ events: string; dlq: string }> {
  const events = uniqueName('t-events');
  const dlq = uniqueName('t-dlq');
  // Workloads carry event times days and weeks old. Kafka rolls a segment when event time jumps more than
  // segment.ms (7 days) and the retention check (every 5 min) deletes closed segments whose newest record is
  // older than retention.ms (7 days): records could vanish between a test's two reads. Test topics keep all.
  const keep = [{ name: 'retention.ms', value: '-1' }];
  if ('groupConsumer' in kafka) {
    const admin = kafka.admin();
    try {
      await admin.ensureTopics([
        { topic: events, partitions, replicationFactor: 1, settings: { 'retention.ms': '-1' } },
        { topic: dlq, partitions: 1, replicationFactor: 1, settings: { 'retention.ms': '-1' } },
      ]);
    } finally {
      await admin.close();
    }
    return { events, dlq };
  }
  await ensureTopics(kafka, [
    { topic: events, numPartitions: partitions, replicationFactor: 1, configEntries: keep },
    { topic: dlq, numPartitions: 1, replicationFactor: 1, configEntries: keep },
  ]);
  return { events, dlq };
}

/** Reads a topic through the port from the beginning until `count` records arrived or the timeout passed. */
export async function readTopic(kafka: Port, topic: string, count: number, timeoutMs?: number): Promise<IncomingRecord[]>;
/** Reads a topic from the beginning until `count` messages arrived or the timeout passed. */
export async function readTopic(kafka: KafkaPort, topic: string, count: number, timeoutMs?: number): Promise<KafkaMessage[]>;
export async function readTopic(kafka: KafkaPort | Port, topic: string, count: number, timeoutMs = 60_000): Promise<KafkaMessage[] | IncomingRecord[]> {
  if ('groupConsumer' in kafka) return readThroughPort(kafka, topic, count, timeoutMs);
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 200 });
  const out: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    void consumer.run({
      eachMessage: async ({ message }) => {
        out.push(message);
        if (out.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await done;
  await consumer.disconnect();
  return out;
}

async function readThroughPort(kafka: Port, topic: string, count: number, timeoutMs: number): Promise<IncomingRecord[]> {
  const out: IncomingRecord[] = [];
  let enough: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (enough = resolve));
  const timer = setTimeout(enough, timeoutMs);
  const consumer = kafka.groupConsumer({ groupId: uniqueName('reader'), topics: [topic], startWhenNew: 'earliest', maxWaitMs: 200 });
  try {
    await consumer.start(async (batch) => {
      out.push(...batch.records);
      if (out.length >= count) enough();
    });
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.stop();
  }
  return out;
}

export async function waitFor<T>(probe: () => T | Promise<T>, { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}


/** Ports for a test's own broker. */
export { freeLocalPort as freePort } from '../../src/platform/kafka/local-broker.ts';
