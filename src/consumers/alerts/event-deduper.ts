import { producerInstance, producerSequence } from '../../events/event-id.ts';
import { EventIdSet, uuidWords } from './event-id-set.ts';
import { SequenceIntervals } from './sequence-intervals.ts';

export interface EventDeduperStats {
  /** Ids remembered (the same as `size`). */
  ids: number;
  /** Event-time buckets held. */
  buckets: number;
  /** (producer instance, bucket) pairs with ids. */
  producerBuckets: number;
  /** Sequence intervals over all of them: producerBuckets when every producer's ids came without holes. */
  intervals: number;
  /** Ids kept in the fallback EventIdSets. */
  fallbackIds: number;
  /** Estimated bytes: V8 heap per bucket, per (instance, bucket) and per interval as measured, and the fallback tables. */
  bytes: number;
}

/** V8 heap per item, measured on Node 20 after a full collection and rounded. */
const BYTES_PER_PRODUCER_BUCKET = 150;
const BYTES_PER_EXTRA_INTERVAL = 18;
const BYTES_PER_BUCKET = 250;
/** A fallback id that is not a canonical UUID is a string in a Set: about this much with its string. */
const BYTES_PER_OTHER_ID = 100;

interface Bucket {
  readonly producers: Map<number, SequenceIntervals>;
  fallback: EventIdSet | undefined;
  ids: number;
  /** Fallback ids that are not canonical UUIDs: strings in the EventIdSet's Set. */
  otherIds: number;
}

/** Scratch for the words of the id being added (one engine per thread; nothing here is re-entrant). */
const words = new Int32Array(4);

/**
 * Which event_ids the alert engine has counted, for the lateness allowance, exactly and in memory that does not
 * grow with the event rate.
 *
 * An id made by an EventIdGenerator (src/events/event-id.ts) names its producer instance and a sequence number
 * that grows by one per id. Per event-time bucket and instance the deduper keeps the sequence numbers seen as
 * intervals (sequence-intervals.ts): a producer's ids arrive nearly in order, so a bucket holds one interval per
 * producer plus one per hole not yet filled (ids still unread in another partition, ids that never come). Every
 * other id — an HTTP client may send any canonical UUID — goes to an EventIdSet of its bucket, 21–43 bytes each.
 *
 * Memory, V8 heap on Node 20: about 150 bytes per (instance, bucket) with ids, 18 per extra interval, 250 per
 * bucket, and the fallback tables. 4 producers over 6 h of one-minute buckets are 360 × (250 + 4 × 150) B ≈ 0.3 MB
 * at any event rate, where one EventIdSet entry per id was 6 GB at 10k events/s. A producer process that lives for
 * a handful of events costs its 150 bytes per bucket, several times an EventIdSet entry, but only as often as such
 * processes start.
 *
 * The answers are those of a Set<string> of the ids, on one condition. A string always takes the same path, and
 * the fallback compares all 128 bits; an id in the producer layout is its (time, instance, sequence), so two
 * different ones in a bucket share an instance's sequence number only if two generators drew the same 40-bit
 * instance (see event-id.ts for the odds) or someone made such ids on purpose. A duplicate carries its original
 * timestamp, so it is looked for in one bucket only.
 */
export class EventDeduper {
  readonly bucketMs: number;
  private readonly byBucket = new Map<number, Bucket>();
  private horizon = -Infinity;
  private count = 0;
  /** The bucket of the previous add: most adds go to the current minute. */
  private lastIndex = NaN;
  private last: Bucket | undefined;

  /** `bucketMs`: the event-time span of a bucket (the engine's minute, which a time scale may shorten). */
  constructor(options: { bucketMs: number }) {
    if (!(options.bucketMs > 0) || !Number.isFinite(options.bucketMs)) throw new RangeError(`bucketMs must be a positive number, not ${options.bucketMs}`);
    this.bucketMs = options.bucketMs;
  }

  /**
   * Records `eventId` at event time `ts`; true when it is new, false for a duplicate. `ts` must not be before the
   * last `forgetBefore` (the engine refuses such an event as too late before asking): its bucket may be gone, so
   * no answer would be exact, and this throws.
   */
  add(eventId: string, ts: number): boolean {
    if (!(ts >= this.horizon)) throw new RangeError(`event time ${ts} is before the forgotten horizon ${this.horizon}`);
    const index = Math.floor(ts / this.bucketMs);
    let bucket = index === this.lastIndex ? this.last! : this.byBucket.get(index);
    if (bucket === undefined) {
      bucket = { producers: new Map(), fallback: undefined, ids: 0, otherIds: 0 };
      this.byBucket.set(index, bucket);
    }
    this.lastIndex = index;
    this.last = bucket;
    let added: boolean;
    const uuid = uuidWords(eventId, words);
    const seq = uuid ? producerSequence(words[0], words[1], words[2], words[3]) : -1;
    if (seq >= 0) {
      const instance = producerInstance(words[2], words[3]);
      let seen = bucket.producers.get(instance);
      if (seen === undefined) {
        seen = new SequenceIntervals();
        bucket.producers.set(instance, seen);
      }
      added = seen.add(seq);
    } else {
      bucket.fallback ??= new EventIdSet();
      added = bucket.fallback.add(eventId);
      if (added && !uuid) bucket.otherIds++;
    }
    if (added) {
      bucket.ids++;
      this.count++;
    }
    return added;
  }

  /**
   * Forgets the events whose event time is before `ts`: every bucket that ends at or before it (the one that
   * holds `ts` stays whole). The horizon never moves back; an earlier `ts` changes nothing.
   */
  forgetBefore(ts: number): void {
    if (!(ts > this.horizon)) return;
    this.horizon = ts;
    const first = Math.floor(ts / this.bucketMs);
    for (const [index, bucket] of this.byBucket) {
      if (index >= first) continue;
      bucket.fallback?.clear(); // its table's memory back at the next scavenge, not the next full collection
      this.count -= bucket.ids;
      this.byBucket.delete(index);
    }
    if (this.lastIndex < first) {
      this.lastIndex = NaN;
      this.last = undefined;
    }
  }

  /** Ids remembered. */
  get size(): number {
    return this.count;
  }

  /** Indexes (event time / bucketMs, rounded down) of the buckets that hold ids, in no particular order. */
  bucketIndexes(): IterableIterator<number> {
    return this.byBucket.keys();
  }

  stats(): EventDeduperStats {
    let producerBuckets = 0;
    let intervals = 0;
    let fallbackIds = 0;
    let bytes = 0;
    for (const bucket of this.byBucket.values()) {
      bytes += BYTES_PER_BUCKET;
      for (const seen of bucket.producers.values()) {
        producerBuckets++;
        intervals += seen.intervals;
        bytes += BYTES_PER_PRODUCER_BUCKET + BYTES_PER_EXTRA_INTERVAL * (seen.intervals - 1);
      }
      if (bucket.fallback) {
        fallbackIds += bucket.fallback.size;
        bytes += bucket.fallback.tableBytes + BYTES_PER_OTHER_ID * bucket.otherIds;
      }
    }
    return { ids: this.count, buckets: this.byBucket.size, producerBuckets, intervals, fallbackIds, bytes };
  }
}
