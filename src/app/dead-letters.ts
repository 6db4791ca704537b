import { decodeEvent, DLQ_HEADERS, encodeEvent, formatErrors } from '../events/index.ts';
import type { IncomingRecord, KafkaPort } from '../platform/kafka/kafka-port.ts';
import { producerSettings } from '../producers/producer-settings.ts';
import { toRecord } from '../producers/record-batch.ts';
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
export async function readDeadLetters(kafka: KafkaPort, topic: string, limit = 1000): Promise<{ records: DeadLetterRecord[]; messages: IncomingRecord[] }> {
  const admin = kafka.admin();
  try {
    const ranges = await admin.partitionRanges(topic);
    const records: DeadLetterRecord[] = [];
    const messages: IncomingRecord[] = [];
    // Partitions still to read up to the end they had when the snapshot started.
    const remaining = new Map(ranges.filter((r) => r.high > r.low).map((r) => [r.partition, r.high]));
    if (remaining.size === 0) return { records, messages };
    // A group of its own, from the earliest record, deleted afterwards: reading leaves nothing behind.
    const groupId = `actionpulse-dlq-reader-${process.pid}-${Date.now()}`;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const consumer = kafka.groupConsumer({ groupId, topics: [topic], startWhenNew: 'earliest', maxWaitMs: 200 });
    const timer = setTimeout(finish, 30_000);
    try {
      await consumer.start(async (batch) => {
        for (const message of batch.records) {
          if (remaining.size === 0 || records.length >= limit) break;
          const end = remaining.get(batch.partition);
          if (end === undefined || message.offset >= end) continue;
          records.push({
            partition: batch.partition,
            offset: message.offset.toString(),
            reason: message.headers[DLQ_HEADERS.reason] ?? 'unknown',
            source: message.headers[DLQ_HEADERS.source] ?? 'unknown',
            detail: message.headers[DLQ_HEADERS.detail] ?? '',
            at: message.headers[DLQ_HEADERS.at] ?? '',
            value: message.value?.toString('utf8') ?? '',
            valid: decodeEvent(message.value).ok,
          });
          messages.push(message);
          if (message.offset + 1n >= end) remaining.delete(batch.partition);
        }
        if (remaining.size === 0 || records.length >= limit) finish();
      });
      await done;
    } finally {
      clearTimeout(timer);
      await consumer.stop();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return { records, messages };
  } finally {
    await admin.close();
  }
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
    if (decoded.ok) toSend.push(toRecord(encodeEvent(decoded.event)));
    else out.stillInvalid.push({ offset: r.offset, reason: decoded.reason, detail: formatErrors(decoded.errors) });
  }
  if (!o.dryRun && toSend.length) {
    const producer = kafka.producer(producerSettings());
    try {
      for (let i = 0; i < toSend.length; i += 5000) {
        const result = await producer.send(o.eventsTopic, toSend.slice(i, i + 5000));
        if (!result.ok) {
          const written = result.written.reduce((n, w) => n + w.records, 0);
          throw new Error(`replay to ${o.eventsTopic} failed (${result.reason}: ${result.detail}) after ${i + written} of ${toSend.length} events; replaying again is safe (duplicates are dropped by event_id)`);
        }
      }
    } finally {
      await producer.close();
    }
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
  try {
    const offsets = await admin.offsetsAt(o.topic, o.fromMs);
    await admin.setCommittedOffsets(o.groupId, o.topic, offsets);
    return offsets.map((p) => ({ partition: p.partition, offset: p.offset.toString() }));
  } finally {
    await admin.close();
  }
}
