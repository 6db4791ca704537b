import { type Span } from '@opentelemetry/api';
import type { Batch, Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { decodeEvent, formatErrors, type ActionEvent } from '../events/index.ts';
import type { KafkaPort } from '../platform/kafka/kafka-client.ts';
import type { Logger } from '../platform/logger.ts';
import { DeadLetterPublisher, headersToStrings, type DeadLetter } from './dead-letter-publisher.ts';
import { backoffDelay, retryDelay, sleep, type BackoffPolicy } from '../platform/retry.ts';
import type { Sink, SinkBatch } from './sink.ts';
import { startProcessSpan } from '../platform/kafka/messaging-spans.ts';
import { tracingActive } from '../platform/telemetry.ts';
import { inSpan } from '../platform/span-scope.ts';

/**
 * Reads the events topic for one sink: decode + validate each message (an event time further ahead of this
 * process's clock than the future allowance is invalid too: `timestamp_in_future`), dead-letter what is invalid,
 * hand the valid events to the sink, retry transient failures with backoff, and commit offsets only
 * after the sink accepted the batch — so a crash or outage at any point re-delivers, never skips.
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
  /**
   * Overlap each partition's sink write with fetching and decoding its next batch (default false). The
   * offsets are resolved early so kafkajs fetches on, but still committed only after the sink accepted
   * the batch, in order; a batch that was not committed is read again (seek back), never skipped.
   */
  pipelineWrites?: boolean;
  retry?: BackoffPolicy;
  sessionTimeoutMs?: number;
}

export interface PartitionStats {
  lag: number;
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
  sources: KafkaMessage[];
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

export class ConsumerRunner {
  readonly stats: ConsumerStats = { consumed: 0, written: 0, deadLettered: 0, futureEvents: 0, retries: 0, lastBatchAt: 0, partitions: new Map() };
  private consumer: Consumer;
  private dlq: DeadLetterPublisher;
  private readonly abort = new AbortController();
  private readonly source: string;
  /** Pipelined mode: the write in flight per topic:partition and the first offset it covers. */
  private readonly writing = new Map<string, { job: Promise<boolean>; firstOffset: string }>();

  constructor(private readonly o: ConsumerRunnerOptions) {
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 8 * 1024 * 1024,
      maxBytes: 4 * (o.maxBytesPerPartition ?? 8 * 1024 * 1024),
      maxWaitTimeInMs: o.maxWaitTimeMs ?? 500,
      minBytes: o.minBytes ?? 1,
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      allowAutoTopicCreation: false,
    });
    this.dlq = new DeadLetterPublisher(o.kafka, o.deadLetterTopic);
    this.source = `consumer:${o.sink.name}`;
  }

  get consumerHandle(): Consumer {
    return this.consumer;
  }

  async start(): Promise<void> {
    await this.dlq.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: this.o.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const span = this.processSpan(payload.batch);
    let handedOver = false;
    try {
      const decoded = await this.decode(payload);
      if (!this.o.pipelineWrites) {
        handedOver = true;
        await this.writeAndCommit(payload, decoded, span);
        return;
      }
      handedOver = await this.handlePipelined(payload, decoded, span);
    } finally {
      // A batch that never reached writeAndCommit (stopping, seek back) still ends its span.
      if (!handedOver) span?.end();
    }
  }

  /** Pipelined mode; true when the batch was handed to writeAndCommit (which then owns the span). */
  private async handlePipelined(payload: EachBatchPayload, decoded: Decoded, span: Span | undefined): Promise<boolean> {
    const { batch, isRunning, isStale } = payload;
    const key = `${batch.topic}:${batch.partition}`;
    const previous = this.writing.get(key);
    if (previous) {
      // One batch per partition in the sink at a time, in offset order: this one was fetched and decoded
      // while the previous one was being written.
      const ok = await previous.job;
      if (this.writing.get(key) === previous) this.writing.delete(key);
      const first = batch.firstOffset();
      if (!ok && (first === null || BigInt(first) > BigInt(previous.firstOffset))) {
        // The previous batch was not committed (stopping, or its generation ended), and kafkajs has moved
        // past it because it was resolved early: go back to it rather than ever commit beyond it.
        if (isRunning() && !isStale()) this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: previous.firstOffset });
        return false;
      }
    }
    if (!isRunning() || isStale() || batch.messages.length === 0) return false;
    const job = this.writeAndCommit(payload, decoded, span).catch((err: Error) => {
      this.o.logger.error({ err: err.message, partition: batch.partition }, 'batch write failed; it will be read again');
      return false;
    });
    this.writing.set(key, { job, firstOffset: batch.messages[0].offset });
    // Resolved, not committed: kafkajs fetches the next batch now; the commit follows the sink's answer.
    payload.resolveOffset(batch.messages[batch.messages.length - 1].offset);
    return true;
  }

  /**
   * One CONSUMER span per fetched batch for this sink's group, from the first decode to the commit, linked
   * to each message's creation context (messaging-spans.ts); the sink writes inside it, so a sink's own
   * spans are its children. None when spans go nowhere.
   */
  private processSpan(batch: Batch): Span | undefined {
    if (!tracingActive() || batch.messages.length === 0) return undefined;
    return startProcessSpan({
      topic: batch.topic,
      partition: batch.partition,
      consumerGroup: this.o.groupId,
      messages: batch.messages,
      attributes: { 'actionpulse.sink': this.o.sink.name },
    });
  }

  private async decode({ batch }: EachBatchPayload): Promise<Decoded> {
    const letters: DeadLetter[] = [];
    const events: ActionEvent[] = [];
    const sources: KafkaMessage[] = [];
    const keepEvents = this.o.sink.storesValues !== true;
    let sinceYield = 0;
    for (const message of batch.messages) {
      // A large batch decodes for a tenth of a second or more: let the loop run between slices, so a
      // write that finished meanwhile is answered (and the sink's next insert started) without waiting.
      if (++sinceYield === DECODE_SLICE) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      this.stats.consumed++;
      const result = decodeEvent(message.value);
      if (result.ok) {
        if (keepEvents) events.push(result.event);
        sources.push(message);
        continue;
      }
      letters.push({
        original: { key: message.key, value: message.value, headers: headersToStrings(message.headers) },
        info: {
          reason: result.reason,
          source: this.source,
          errors: result.errors,
          detail: formatErrors(result.errors),
          originalTopic: batch.topic,
          originalPartition: batch.partition,
          originalOffset: message.offset,
        },
      });
    }
    return { events, sources, letters };
  }

  /** Sink, then dead letters, then the commit: true when the batch's offsets were committed. Ends `span`. */
  private async writeAndCommit(payload: EachBatchPayload, decoded: Decoded, span: Span | undefined): Promise<boolean> {
    return inSpan(span, () => this.writeAndCommitIn(payload, decoded, span), (committed, s) =>
      s.setAttributes({ 'actionpulse.committed': committed, 'actionpulse.dead_lettered': decoded.letters.length }),
    );
  }

  private async writeAndCommitIn(payload: EachBatchPayload, { events, sources, letters }: Decoded, span: Span | undefined): Promise<boolean> {
    const { batch, heartbeat, isRunning, isStale } = payload;
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
        firstOffset: sliceSources[0].offset,
        lastOffset: sliceSources[sliceSources.length - 1].offset,
        values,
      };
      const written = await this.writeWithRetry(sinkBatch, payload, letters, sliceSources, span);
      if (!written) return false; // stopping or rebalanced: leave the offsets uncommitted, the batch comes again
      await heartbeat();
    }
    if (!isRunning() || isStale()) return false;
    await this.publishDeadLetters(letters, payload);
    if (batch.messages.length > 0) {
      const last = batch.messages[batch.messages.length - 1].offset;
      payload.resolveOffset(last);
      await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
      this.stats.partitions.set(batch.partition, {
        lag: Number(batch.offsetLag()),
        committedOffset: (BigInt(last) + 1n).toString(),
        lastEventAt: Date.now(),
      });
    }
    this.stats.lastBatchAt = Date.now();
    return true;
  }

  private async writeWithRetry(
    sinkBatch: SinkBatch,
    payload: EachBatchPayload,
    letters: DeadLetter[],
    sources: readonly KafkaMessage[],
    span: Span | undefined,
  ): Promise<boolean> {
    const policy = this.o.retry ?? DEFAULT_RETRY_POLICY;
    for (let attempt = 1; ; attempt++) {
      if (!payload.isRunning() || payload.isStale() || this.abort.signal.aborted) return false;
      let result;
      try {
        result = await this.o.sink.write(sinkBatch, this.abort.signal);
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
          const message = sources[rejected.index];
          letters.push({
            original: { key: message.key, value: message.value, headers: headersToStrings(message.headers) },
            info: {
              reason: rejected.reason === 'mixpanel_rejected' ? 'mixpanel_rejected' : 'sink_rejected',
              source: this.source,
              detail: `${rejected.reason}: ${rejected.detail}`,
              originalTopic: sinkBatch.topic,
              originalPartition: sinkBatch.partition,
              originalOffset: message.offset,
            },
          });
        }
        return true;
      }
      this.stats.retries++;
      const delay = retryDelay(attempt, policy, result.retryInMs);
      span?.addEvent('sink retry', { attempt, 'actionpulse.retry_delay_ms': Math.round(delay), 'exception.message': result.error.message });
      this.o.logger.warn({ sink: this.o.sink.name, attempt, delayMs: Math.round(delay), err: result.error.message }, 'sink write failed; retrying');
      await this.sleepWithHeartbeat(delay, payload);
    }
  }

  private async publishDeadLetters(letters: DeadLetter[], payload: EachBatchPayload): Promise<void> {
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
        // Committing without the dead letters safely stored would lose them: keep trying.
        this.o.logger.error({ err: (err as Error).message, attempt }, 'dead-letter publish failed; retrying');
        await this.sleepWithHeartbeat(backoffDelay(attempt, policy), payload);
        if (!payload.isRunning()) throw err;
      }
    }
  }

  private async sleepWithHeartbeat(ms: number, payload: EachBatchPayload): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && payload.isRunning() && !this.abort.signal.aborted) {
      await sleep(Math.min(1000, until - Date.now()), this.abort.signal);
      await payload.heartbeat().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    // Aborted writes return promptly and commit nothing; wait so the sink is not closed under them.
    await Promise.allSettled([...this.writing.values()].map((w) => w.job));
    await this.consumer.disconnect().catch(() => undefined);
    await this.dlq.close().catch(() => undefined);
    await this.o.sink.close();
  }
}
