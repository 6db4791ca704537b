import { type Span } from '@opentelemetry/api';
import { decodeEvent, formatErrors, type ActionEvent } from '../events/index.ts';
import type { GroupConsumer, IncomingBatch, IncomingRecord, KafkaAdmin, KafkaPort } from '../platform/kafka/kafka-port.ts';
import type { Logger } from '../platform/logger.ts';
import { DeadLetterPublisher, type DeadLetter } from './dead-letter-publisher.ts';
import { backoffDelay, retryDelay, sleep, type BackoffPolicy } from '../platform/retry.ts';
import type { Sink, SinkBatch } from './sink.ts';
import { startProcessSpan } from '../platform/kafka/messaging-spans.ts';
import { tracingActive } from '../platform/telemetry.ts';
import { inSpan } from '../platform/span-scope.ts';

/**
 * Reads the events topic for one sink through the Kafka port's group consumer: decode + validate each message
 * (an event time further ahead of this process's clock than the future allowance is invalid too:
 * `timestamp_in_future`), dead-letter what is invalid, hand the valid events to the sink, retry transient
 * failures with backoff, and let the port commit a batch's offsets only after the sink accepted it and its dead
 * letters are stored — so a crash or outage at any point re-delivers, never skips.
 */
export interface ConsumerRunnerOptions {
  kafka: KafkaPort;
  sink: Sink;
  groupId: string;
  topic: string;
  deadLetterTopic: string;
  logger: Logger;
  fromBeginning?: boolean;
  /** Largest slice of a Kafka batch handed to the sink at once. */
  maxBatchEvents?: number;
  /** Bytes fetched per partition per request; bigger = larger sink batches. */
  maxBytesPerPartition?: number;
  /** How long the broker may wait to fill `minBytes` before answering a fetch (batching by time). */
  maxWaitTimeMs?: number;
  minBytes?: number;
  /**
   * Partitions whose batches are handled at the same time (default 1). Above 1 the sink's `write` must
   * accept concurrent calls; each partition still writes, then commits, in order.
   */
  partitionsConsumedConcurrently?: number;
  retry?: BackoffPolicy;
  sessionTimeoutMs?: number;
}

export interface PartitionStats {
  /** Records after the committed offset, from the partition's end as last asked of the broker (at most once a second). */
  lag: number;
  /** The next offset to read, as committed. */
  committedOffset: string;
  lastEventAt: number;
}

export interface ConsumerStats {
  consumed: number;
  written: number;
  deadLettered: number;
  /** Of those, events dated further ahead than the future allowance (`timestamp_in_future`): a producer's clock is wrong. */
  futureEvents: number;
  retries: number;
  lastBatchAt: number;
  partitions: Map<number, PartitionStats>;
}

interface Decoded {
  /** The valid messages' events; empty when the sink stores values (then `sources` alone says which were valid). */
  events: ActionEvent[];
  sources: IncomingRecord[];
  letters: DeadLetter[];
}

/** A decoded array of events from values the contract already accepted. */
function decodeAccepted(values: readonly Buffer[]): ActionEvent[] {
  return values.map((value) => {
    const result = decodeEvent(value);
    // The same bytes passed the same check when the batch was read.
    if (!result.ok) throw new Error(`a value accepted earlier fails the contract now: ${result.reason}`);
    return result.event;
  });
}

/** Sink retries: a first wait under 0.5 s, growing to at most 30 s. */
export const DEFAULT_RETRY_POLICY: BackoffPolicy = { initialMs: 500, maxMs: 30_000, multiplier: 2 };

/** Messages decoded between two turns of the event loop. */
const DECODE_SLICE = 2000;

/** A batch left unwritten because the runner stopped or the partition was taken away: it is read again. */
class BatchNotWritten extends Error {
  constructor(topic: string, partition: number) {
    super(`batch of ${topic}:${partition} not written (stopping or partition reassigned); it will be read again`);
  }
}

/** How often the partitions' ends are asked of the broker for `PartitionStats.lag`. */
const LAG_REFRESH_MS = 1000;

export class ConsumerRunner {
  readonly stats: ConsumerStats = { consumed: 0, written: 0, deadLettered: 0, futureEvents: 0, retries: 0, lastBatchAt: 0, partitions: new Map() };
  private readonly consumer: GroupConsumer;
  private readonly admin: KafkaAdmin;
  private readonly dlq: DeadLetterPublisher;
  private readonly abort = new AbortController();
  private readonly source: string;
  /** Partition ends (offset of the next record) as last asked, and when. */
  private ends = new Map<number, bigint>();
  private endsAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly o: ConsumerRunnerOptions) {
    this.consumer = o.kafka.groupConsumer({
      groupId: o.groupId,
      topics: [o.topic],
      startWhenNew: (o.fromBeginning ?? true) ? 'earliest' : 'latest',
      // A batch handed over is at most one sink write; the slicing below stays for a sink given a smaller limit.
      maxBatchRecords: o.maxBatchEvents ?? 50_000,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 8 * 1024 * 1024,
      maxWaitMs: o.maxWaitTimeMs ?? 500,
      minBytes: o.minBytes ?? 1,
      sessionTimeoutMs: o.sessionTimeoutMs ?? 30_000,
      partitionsConcurrently: o.partitionsConsumedConcurrently ?? 1,
      // The stats say what Kafka holds as committed, so they are set once the port committed, not before.
      onCommitted: (_topic, partition, next) => this.committed(partition, next),
    });
    this.admin = o.kafka.admin();
    this.dlq = new DeadLetterPublisher(o.kafka, o.deadLetterTopic);
    this.source = `consumer:${o.sink.name}`;
  }

  async start(): Promise<void> {
    await this.consumer.start((batch, signal) => this.handleBatch(batch, signal));
  }

  /**
   * One partition's batch. Resolving means "written and dead letters stored": the port commits past it. When
   * `signal` aborts (stop, or the partition taken away) the sink's write and the retry wait end and the handler
   * throws: the port commits nothing and the batch is read again from the committed offset.
   */
  private async handleBatch(batch: IncomingBatch, signal: AbortSignal): Promise<void> {
    if (batch.records.length === 0) return;
    // The runner's stop() and the port's signal both end sink writes and retry waits.
    const stop = AbortSignal.any([signal, this.abort.signal]);
    const span = this.processSpan(batch);
    let handedOver = false;
    let done = false;
    try {
      const decoded = await this.decode(batch);
      if (!stop.aborted) {
        handedOver = true;
        done = await this.writeAll(batch, decoded, span, stop);
      }
    } finally {
      // A batch that never reached writeAll (stopping) still ends its span.
      if (!handedOver) span?.end();
    }
    // Thrown rather than resolved, so that nothing can commit a batch that was not written, whichever of the
    // two signals (the runner's or the port's) fired first.
    if (!done) throw new BatchNotWritten(batch.topic, batch.partition);
  }

  /**
   * One CONSUMER span per batch for this sink's group, from the first decode to the end of the handler,
   * linked to each message's creation context (messaging-spans.ts); the sink writes inside it, so a sink's own
   * spans are its children. None when spans go nowhere.
   */
  private processSpan(batch: IncomingBatch): Span | undefined {
    if (!tracingActive() || batch.records.length === 0) return undefined;
    return startProcessSpan({
      topic: batch.topic,
      partition: batch.partition,
      consumerGroup: this.o.groupId,
      messages: batch.records,
      attributes: { 'actionpulse.sink': this.o.sink.name },
    });
  }

  private async decode(batch: IncomingBatch): Promise<Decoded> {
    const letters: DeadLetter[] = [];
    const events: ActionEvent[] = [];
    const sources: IncomingRecord[] = [];
    const keepEvents = this.o.sink.storesValues !== true;
    let sinceYield = 0;
    for (const record of batch.records) {
      // A large batch decodes for a tenth of a second or more: let the loop run between slices, so a
      // write that finished meanwhile is answered (and the sink's next insert started) without waiting.
      if (++sinceYield === DECODE_SLICE) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      this.stats.consumed++;
      const result = decodeEvent(record.value);
      if (result.ok) {
        if (keepEvents) events.push(result.event);
        sources.push(record);
        continue;
      }
      letters.push({
        original: { key: record.key, value: record.value, headers: record.headers },
        info: {
          reason: result.reason,
          source: this.source,
          errors: result.errors,
          detail: formatErrors(result.errors),
          originalTopic: batch.topic,
          originalPartition: batch.partition,
          originalOffset: record.offset.toString(),
        },
      });
    }
    return { events, sources, letters };
  }

  /** Sink, then dead letters: true when the batch may be committed. Ends `span`. */
  private async writeAll(batch: IncomingBatch, decoded: Decoded, span: Span | undefined, stop: AbortSignal): Promise<boolean> {
    return inSpan(span, () => this.writeAllIn(batch, decoded, span, stop), (done, s) =>
      // `done` = handed back for the port to commit; false when stopped or the partition was taken away.
      s.setAttributes({ 'actionpulse.committed': done, 'actionpulse.dead_lettered': decoded.letters.length }),
    );
  }

  private async writeAllIn(batch: IncomingBatch, { events, sources, letters }: Decoded, span: Span | undefined, stop: AbortSignal): Promise<boolean> {
    const max = this.o.maxBatchEvents ?? 50_000;
    for (let start = 0; start < sources.length; start += max) {
      // One slice (the usual case) is the arrays themselves: a copy would double the batch's footprint.
      const whole = start === 0 && sources.length <= max;
      const sliceSources = whole ? sources : sources.slice(start, start + max);
      // decodeEvent accepted these, so none is null.
      const values = sliceSources.map((m) => m.value as Buffer);
      const slice = this.o.sink.storesValues === true ? undefined : whole ? events : events.slice(start, start + max);
      let decodedAgain: ActionEvent[] | undefined;
      const sinkBatch: SinkBatch = {
        get events() {
          return slice ?? (decodedAgain ??= decodeAccepted(values));
        },
        topic: batch.topic,
        partition: batch.partition,
        firstOffset: sliceSources[0].offset.toString(),
        lastOffset: sliceSources[sliceSources.length - 1].offset.toString(),
        values,
      };
      // Stopping or rebalanced: resolve without writing; the port commits nothing and the batch comes again.
      if (!(await this.writeWithRetry(sinkBatch, letters, sliceSources, span, stop))) return false;
    }
    if (stop.aborted) return false;
    await this.publishDeadLetters(letters, stop);
    this.stats.lastBatchAt = Date.now();
    return true;
  }

  private async writeWithRetry(sinkBatch: SinkBatch, letters: DeadLetter[], sources: readonly IncomingRecord[], span: Span | undefined, stop: AbortSignal): Promise<boolean> {
    const policy = this.o.retry ?? DEFAULT_RETRY_POLICY;
    for (let attempt = 1; ; attempt++) {
      if (stop.aborted) return false;
      let result;
      try {
        result = await this.o.sink.write(sinkBatch, stop);
      } catch (err) {
        // A throwing sink is a bug, but losing the batch would be worse: treat it as transient.
        result = { status: 'retry' as const, error: err as Error };
      }
      if (result.status === 'ok') {
        this.stats.written += sources.length;
        return true;
      }
      if (result.status === 'reject') {
        this.stats.written += sources.length - result.events.length;
        for (const rejected of result.events) {
          const record = sources[rejected.index];
          letters.push({
            original: { key: record.key, value: record.value, headers: record.headers },
            info: {
              reason: rejected.reason === 'mixpanel_rejected' ? 'mixpanel_rejected' : 'sink_rejected',
              source: this.source,
              detail: `${rejected.reason}: ${rejected.detail}`,
              originalTopic: sinkBatch.topic,
              originalPartition: sinkBatch.partition,
              originalOffset: record.offset.toString(),
            },
          });
        }
        return true;
      }
      this.stats.retries++;
      const delay = retryDelay(attempt, policy, result.retryInMs);
      span?.addEvent('sink retry', { attempt, 'actionpulse.retry_delay_ms': Math.round(delay), 'exception.message': result.error.message });
      this.o.logger.warn({ sink: this.o.sink.name, attempt, delayMs: Math.round(delay), err: result.error.message }, 'sink write failed; retrying');
      // The port heartbeats on its own while this waits: a long retry does not cost the group membership.
      await sleep(delay, stop);
    }
  }

  private async publishDeadLetters(letters: DeadLetter[], stop: AbortSignal): Promise<void> {
    if (letters.length === 0) return;
    const policy = this.o.retry ?? DEFAULT_RETRY_POLICY;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.dlq.publish(letters);
        this.stats.deadLettered += letters.length;
        for (const l of letters) if (l.info.reason === 'timestamp_in_future') this.stats.futureEvents++;
        this.o.logger.warn({ sink: this.o.sink.name, count: letters.length, reasons: [...new Set(letters.map((l) => l.info.reason))] }, 'dead-lettered messages');
        return;
      } catch (err) {
        // Committing without the dead letters safely stored would lose them: keep trying. Stopped meanwhile:
        // throw, so the port commits nothing and the batch (sink write included) comes again.
        this.o.logger.error({ err: (err as Error).message, attempt }, 'dead-letter publish failed; retrying');
        await sleep(backoffDelay(attempt, policy), stop);
        if (stop.aborted) throw err;
      }
    }
  }

  private committed(partition: number, next: bigint): void {
    const end = this.ends.get(partition);
    this.stats.partitions.set(partition, {
      lag: end !== undefined && end > next ? Number(end - next) : 0,
      committedOffset: next.toString(),
      lastEventAt: Date.now(),
    });
    if (Date.now() - this.endsAt >= LAG_REFRESH_MS) this.refreshing ??= this.refreshLag();
  }

  /** Partition ends from the broker, in the background: a batch's commit never waits for it. */
  private async refreshLag(): Promise<void> {
    try {
      const ranges = await this.admin.partitionRanges(this.o.topic);
      this.ends = new Map(ranges.map((r) => [r.partition, r.high]));
      this.endsAt = Date.now();
      for (const [partition, p] of this.stats.partitions) {
        const end = this.ends.get(partition);
        const next = BigInt(p.committedOffset);
        p.lag = end !== undefined && end > next ? Number(end - next) : 0;
      }
    } catch (err) {
      // The lag is informational; the next commit asks again.
      this.endsAt = Date.now();
      this.o.logger.debug({ err: (err as Error).message }, 'partition ends not read; lag not refreshed');
    } finally {
      this.refreshing = undefined;
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    // The port aborts the handler's signal and waits for it: aborted writes return promptly and commit nothing,
    // so the sink is not closed under them.
    await this.consumer.stop().catch(() => undefined);
    await this.refreshing;
    await this.admin.close().catch(() => undefined);
    await this.dlq.close().catch(() => undefined);
    await this.o.sink.close();
  }
}
