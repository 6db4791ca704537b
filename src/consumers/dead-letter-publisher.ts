import { encodeDeadLetter, type DeadLetterInfo } from '../events/index.ts';
import type { KafkaPort, RecordProducer } from '../platform/kafka/kafka-port.ts';

export interface DeadLetter {
  original: { key?: Buffer | string | null; value: Buffer | string | null; headers?: Record<string, string> };
  info: DeadLetterInfo;
}

/** Publishes what cannot be processed to the dead-letter topic, original bytes intact. */
export class DeadLetterPublisher {
  private readonly producer: RecordProducer;

  constructor(
    kafka: KafkaPort,
    private readonly topic: string,
  ) {
    // acks=all + idempotent: a dead letter is the only copy of a message once its offset is committed. Bounded
    // retries (not forever): the runner sees a failure, logs it and retries the publish itself, before committing.
    this.producer = kafka.producer({ acks: 'all', idempotent: true, codec: 'gzip' });
  }

  /** Resolves once the broker acknowledged every record (acks=all); throws if it did not. */
  async publish(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const result = await this.producer.send(
      this.topic,
      letters.map((l) => {
        const m = encodeDeadLetter(l.original, l.info);
        return { key: m.key, value: m.value, headers: m.headers };
      }),
    );
    if (!result.ok) throw new Error(`dead letters not stored (${result.reason}): ${result.detail}`);
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}
