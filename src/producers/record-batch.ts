import { encodeEvent, type ActionEvent, type WireMessage } from '../events/index.ts';
import type { OutgoingRecord } from '../platform/kafka/kafka-port.ts';
import type { MemoryQueue } from './memory-queue.ts';

/**
 * Bytes one record adds to a Kafka request before compression: key, value and headers (the record's own
 * framing is a few varints more). The emitter caps a batch by this, so `PRODUCER_BATCH_MAX_BYTES` bounds
 * what the broker receives (its `message.max.bytes` applies to the batch), not just the JSON values.
 */
export function recordBytes(m: WireMessage): number {
  let n = m.value.length + Buffer.byteLength(m.key);
  for (const k in m.headers) n += k.length + Buffer.byteLength(m.headers[k]);
  return n;
}

/** The event's message as a record to send; its timestamp is the event time. */
export function toRecord(w: WireMessage): OutgoingRecord {
  return { key: w.key, value: w.value, headers: w.headers, timestampMs: w.timestamp === undefined ? undefined : Number(w.timestamp) };
}

/**
 * Takes from the front of the queue the next batch: at most `maxEvents`, and no more records than fit in
 * `maxBytes` (always at least one, so a single large event still goes).
 */
export function takeBatch<T extends { event: ActionEvent }>(
  queue: MemoryQueue<T>,
  maxEvents: number,
  maxBytes: number,
  encode: (item: T) => WireMessage = (item) => encodeEvent(item.event),
): { entries: T[]; records: OutgoingRecord[]; bytes: number } {
  const entries: T[] = [];
  const records: OutgoingRecord[] = [];
  let bytes = 0;
  while (entries.length < maxEvents) {
    const next = queue.peek();
    if (next === undefined) break;
    const m = encode(next);
    const size = recordBytes(m);
    if (entries.length > 0 && bytes + size > maxBytes) break;
    queue.shift();
    entries.push(next);
    records.push(toRecord(m));
    bytes += size;
  }
  return { entries, records, bytes };
}
