import type { Producer, ProducerRecord } from 'kafkajs';
import { encodeDeadLetter, type DeadLetterInfo } from '../events/index.ts';
import type { KafkaPort } from '../platform/kafka/kafka-client.ts';
import { kafkajsProducerSettings } from '../platform/kafka/kafkajs-producer-settings.ts';

export interface DeadLetter {
  original: { key?: Buffer | string | null; value: Buffer | string | null; headers?: Record<string, string> };
  info: DeadLetterInfo;
}

/** Publishes what cannot be processed to the dead-letter topic, original bytes intact. */
export class DeadLetterPublisher {
  private producer: Producer;
  private readonly sendOptions: Pick<ProducerRecord, 'acks' | 'compression'>;
  private connected = false;

  constructor(
    kafka: KafkaPort,
    private readonly topic: string,
  ) {
    const settings = kafkajsProducerSettings({ compression: 'gzip' });
    this.producer = kafka.producer(settings.config);
    this.sendOptions = settings.send;
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.producer.connect();
    this.connected = true;
  }

  /** Resolves once the broker acknowledged every record (acks=all); throws if it did not. */
  async publish(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.connect();
    await this.producer.send({
      topic: this.topic,
      ...this.sendOptions,
      messages: letters.map((l) => encodeDeadLetter(l.original, l.info)),
    });
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
    this.connected = false;
  }
}

/** Kafka header values arrive as Buffers (or arrays of them); the wire format uses plain strings. */
export function headersToStrings(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const value = Array.isArray(v) ? v[v.length - 1] : v;
    if (value != null) out[k] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
}
