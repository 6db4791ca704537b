import type { KafkaMessage } from 'kafkajs';
import { decodeEvent, DLQ_HEADERS, encodeEvent, formatErrors } from '../events/index.ts';
import type { KafkaPort } from '../platform/kafka/kafka-client.ts';
import { kafkajsProducerSettings } from '../platform/kafka/kafkajs-producer-settings.ts';

export interface DeadLetterRecord {
  partition: number;
  offset: string;
  reason: string;
  source: string;
  detail: string;
  at: string;
  value: string;
  valid: boolean;
}

/** Reads the dead-letter topic from its start up to its current end (a bounded snapshot, not a tail). */
export async function readDeadLetters(kafka: KafkaPort, topic: string, limit = 1000): Promise<{ records: DeadLetterRecord[]; messages: KafkaMessage[] }> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
  const total = ends.reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0);
  const records: DeadLetterRecord[] = [];
  const messages: KafkaMessage[] = [];
  if (total === 0) return { records, messages };
  const consumer = kafka.consumer({ groupId: `actionpulse-dlq-reader-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 30_000);
    const isDone = () => [...remaining.values()].every((v) => v <= 0n) || records.length >= limit;
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers = headersToStrings(message.headers);
        const value = message.value?.toString('utf8') ?? '';
        records.push({
          partition,
          offset: message.offset,
          reason: headers[DLQ_HEADERS.reason] ?? 'unknown',
          source: headers[DLQ_HEADERS.source] ?? 'unknown',
          detail: headers[DLQ_HEADERS.detail] ?? '',
          at: headers[DLQ_HEADERS.at] ?? '',
          value,
          valid: decodeEvent(message.value).ok,
        });
        messages.push(message);
        const end = ends.find((e) => e.partition === partition);
        if (end && BigInt(message.offset) + 1n >= BigInt(end.high)) remaining.set(partition, 0n);
        if (isDone()) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return { records, messages };
}

export interface ReplayOutcome {
  replayed: number;
  stillInvalid: { offset: string; reason: string; detail: string }[];
}

/**
 * Re-drives dead-lettered events into the events topic after a fix. Only records that now pass the
 * contract are re-sent (their event_id makes the re-send idempotent downstream); the rest are
 * reported with the reason they still fail.
 */
export async function replayDeadLetters(
  kafka: KafkaPort,
  o: { deadLetterTopic: string; eventsTopic: string; reason?: string; dryRun?: boolean },
): Promise<ReplayOutcome> {
  const { records } = await readDeadLetters(kafka, o.deadLetterTopic, 1_000_000);
  const selected = records.filter((r) => !o.reason || r.reason === o.reason);
  const out: ReplayOutcome = { replayed: 0, stillInvalid: [] };
  const toSend = [];
  for (const r of selected) {
    const decoded = decodeEvent(r.value);
    if (decoded.ok) toSend.push(encodeEvent(decoded.event));
    else out.stillInvalid.push({ offset: r.offset, reason: decoded.reason, detail: formatErrors(decoded.errors) });
  }
  if (!o.dryRun && toSend.length) {
    const settings = kafkajsProducerSettings();
    const producer = kafka.producer(settings.config);
    await producer.connect();
    for (let i = 0; i < toSend.length; i += 5000) {
      await producer.send({ topic: o.eventsTopic, ...settings.send, messages: toSend.slice(i, i + 5000) });
    }
    await producer.disconnect();
  }
  out.replayed = o.dryRun ? 0 : toSend.length;
  return out;
}

/**
 * Re-feeds one sink from Kafka: moves its consumer group's offsets back to the first record at or after
 * `fromMs` (broker timestamps are event times). The group must be stopped; sinks are idempotent by
 * event_id, so what was already written is not double-counted.
 */
export async function rewindGroup(kafka: KafkaPort, o: { groupId: string; topic: string; fromMs: number }): Promise<{ partition: number; offset: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsetsByTimestamp(o.topic, o.fromMs);
    const partitions = offsets.map((p) => ({ partition: p.partition, offset: p.offset }));
    await admin.setOffsets({ groupId: o.groupId, topic: o.topic, partitions });
    return partitions;
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs header values arrive as Buffers (or arrays of them); the wire format uses plain strings (the last of a repeat). */
export function headersToStrings(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const value = Array.isArray(v) ? v[v.length - 1] : v;
    if (value != null) out[k] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
}
