import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import type { Codec, IncomingRecord, KafkaConnection, KafkaPort, OutgoingRecord, RecordProducer } from '../../src/platform/kafka/kafka-port.ts';

export function testBrokers(): string[] {
  const fromEnv = process.env.TEST_KAFKA_BROKERS?.split(',').filter(Boolean);
  return fromEnv?.length ? fromEnv : inject('kafkaBrokers');
}

/**
 * The project's Kafka port (the @platformatic/kafka adapter) on the test broker, as production is given it; the
 * caller closes it. `connection` overrides the client id, timeouts, brokers.
 */
export async function testPort(connection: Partial<KafkaConnection> = {}): Promise<KafkaPort> {
  // Loaded on use: the library needs Node >= 22.22, and files that never make a port need not load it.
  const { createPlatformaticKafka } = await import('../../src/platform/kafka/platformatic-adapter.ts');
  return createPlatformaticKafka({ brokers: testBrokers(), clientId: `test-${randomBytes(3).toString('hex')}`, ...connection });
}

/** A message as the event codecs make it (`encodeEvent`, `encodeDeadLetter`: event time as a string) or a port record. */
export type TestMessage = Omit<OutgoingRecord, 'key'> & { key?: OutgoingRecord['key']; timestamp?: string };

function toOutgoing(m: TestMessage): OutgoingRecord {
  const { timestamp, ...rest } = m;
  return { ...rest, key: m.key ?? null, timestampMs: m.timestampMs ?? (timestamp === undefined ? undefined : Number(timestamp)) };
}

/** Sends every message (acks=all, idempotent, in chunks of 5,000) and fails unless each was acknowledged. */
export async function sendAll(producer: RecordProducer, topic: string, messages: readonly TestMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 5000) {
    const result = await producer.send(topic, messages.slice(i, i + 5000).map(toOutgoing));
    if (!result.ok) throw new Error(`send to ${topic} failed: ${result.reason} (${result.detail})`);
  }
}

/** One producer for one send: `codec` as the emitter's settings name it. */
export async function produceTo(port: KafkaPort, topic: string, messages: readonly TestMessage[], codec: Codec = 'none'): Promise<void> {
  const producer = port.producer({ acks: 'all', idempotent: true, codec });
  try {
    await sendAll(producer, topic, messages);
  } finally {
    await producer.close();
  }
}

/**
 * For a whole test file: the project's Kafka port and one idempotent producer per codec, made before the file's
 * tests and closed after them. Read `port` inside hooks and tests only.
 */
export function sharedProducer(): { readonly port: KafkaPort; send(topic: string, messages: readonly TestMessage[], codec?: Codec): Promise<void> } {
  let port: KafkaPort | undefined;
  const producers = new Map<Codec, RecordProducer>();
  beforeAll(async () => {
    port = await testPort();
  });
  afterAll(async () => {
    await port?.close();
  });
  const ready = (): KafkaPort => {
    if (port === undefined) throw new Error('sharedProducer() is only ready inside hooks and tests');
    return port;
  };
  return {
    get port() {
      return ready();
    },
    async send(topic, messages, codec = 'none') {
      let producer = producers.get(codec);
      if (!producer) producers.set(codec, (producer = ready().producer({ acks: 'all', idempotent: true, codec })));
      await sendAll(producer, topic, messages);
    },
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Creates a fresh events topic and dead-letter topic for one test. */
export async function freshTopics(port: KafkaPort, partitions = 3): Promise<{ events: string; dlq: string }> {
  const events = uniqueName('t-events');
  const dlq = uniqueName('t-dlq');
  // Workloads carry event times days and weeks old. Kafka rolls a segment when event time jumps more than
  // segment.ms (7 days) and the retention check (every 5 min) deletes closed segments whose newest record is
  // older than retention.ms (7 days): records could vanish between a test's two reads. Test topics keep all.
  const keep = { 'retention.ms': '-1' };
  const admin = port.admin();
  try {
    await admin.ensureTopics([
      { topic: events, partitions, replicationFactor: 1, settings: keep },
      { topic: dlq, partitions: 1, replicationFactor: 1, settings: keep },
    ]);
  } finally {
    await admin.close();
  }
  return { events, dlq };
}

/** Records in the topic: the sum over its partitions of end − start (on a fresh topic, every record ever written). */
export async function recordsIn(port: KafkaPort, topic: string): Promise<number> {
  const admin = port.admin();
  try {
    return (await admin.partitionRanges(topic)).reduce((n, p) => n + Number(p.high - p.low), 0);
  } finally {
    await admin.close();
  }
}

/** Reads a topic from the beginning, under a group of its own, until `count` records arrived or the timeout passed. */
export async function readTopic(port: KafkaPort, topic: string, count: number, timeoutMs = 60_000): Promise<IncomingRecord[]> {
  const out: IncomingRecord[] = [];
  let enough: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (enough = resolve));
  const timer = setTimeout(enough, timeoutMs);
  const consumer = port.groupConsumer({ groupId: uniqueName('reader'), topics: [topic], startWhenNew: 'earliest', maxWaitMs: 200 });
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
