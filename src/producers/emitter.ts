import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Meter, Span } from '@opentelemetry/api';
import { encodeEvent, formatErrors, validateEvent, type ActionEvent } from '../events/index.ts';
import type { Config } from '../platform/config.ts';
import type { KafkaPort, OutgoingRecord, RecordProducer, SendResult } from '../platform/kafka/kafka-port.ts';
import type { Logger } from '../platform/logger.ts';
import { noopMeter } from '../platform/noop-meter.ts';
import { backoffDelay, sleep, type BackoffPolicy } from '../platform/retry.ts';
import { DiskSpool, type SpoolBatch } from './disk-spool.ts';
import type { EventEmitterPort } from './emitter-port.ts';
import { emitterInstruments, type DropReason, type EmitterInstruments, type EmitterStats } from './emitter-metrics.ts';
import { EmitterTracing } from './emitter-tracing.ts';
import { MemoryQueue } from './memory-queue.ts';
import { producerSettings } from './producer-settings.ts';
import { takeBatch, toRecord } from './record-batch.ts';

/**
 * The in-process emitter: `emit()` validates and enqueues, nothing else; one background pump owns Kafka.
 *
 * Ordering invariant (per-organization order is the contract consumers rely on): everything in the spool is
 * older than everything in the memory queue, and only one batch is ever in flight.
 * - `direct` mode (spool empty): batches go from memory straight to Kafka.
 * - When a send stays pending longer than `spillAfterMs`, or the queue passes half its capacity, the pump
 *   switches to `spooling`: the in-flight batch is written to the spool as its own segment, then the queue.
 *   From then on the memory queue only feeds the spool, and Kafka is fed from the spool, oldest first.
 *   While the in-flight send is pending the producer retries it itself (the idempotent producer keeps its
 *   sequence numbers, so the broker drops a copy it already has); when it completes its segment is dropped.
 * - A send that fails is acknowledged per partition: only the records of the partitions it did not write are
 *   sent again, in their order, and the spool keeps only those (a failed send ends the producer id the broker
 *   de-duplicates by, so a written record sent again would be a duplicate).
 * - When the spool is drained, the pump returns to `direct`.
 *
 * Invalid events are counted (`actionpulse_emitter_invalid_total{reason}`) and logged at most once per
 * interval with their field errors, never thrown: the caller is the agent runtime, which must not break.
 */
export interface EmitterDeps {
  /** The emitter makes its producer here and closes it; the port is the caller's to close. */
  kafka: KafkaPort;
  logger: Logger;
  meter?: Meter;
  /** Install SIGTERM/SIGINT handlers that flush (with the deadline) and then exit. */
  handleSignals?: boolean;
}

export type DurableResult = { ok: true; via: 'kafka' | 'spool' } | { ok: false; reason: DropReason | 'invalid' };

export interface Emitter extends EventEmitterPort {
  /** Like emit, but resolves once the event is in Kafka or in the spool (for HTTP ingest's 202). */
  emitDurable(event: ActionEvent): Promise<DurableResult>;
  stats(): EmitterStats;
  /** Readiness: Kafka reachable (its last send acknowledged, no send stuck) or the spool folder writable. */
  ready(): Promise<boolean>;
  /** Resolves when the emitter holds nothing (memory, spool, in flight), or after `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean>;
  /** Flushes until the deadline, spools the rest, disconnects. Safe to call twice. */
  close(deadlineMs?: number): Promise<void>;
}

interface Entry {
  event: ActionEvent;
  done?: (r: DurableResult) => void;
  /** The event's "create" span while it waits (only when traces are recorded). */
  span?: Span;
}

const LOG_INTERVAL_MS = 10_000;
const SPILL_CHUNK = 5000;
/** Waits between re-sends of a spooled batch that Kafka refused. */
const RESEND_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5000, multiplier: 2 };

export async function createEmitter(config: Config, deps: EmitterDeps): Promise<Emitter> {
  const spool = await DiskSpool.open({
    dir: config.spool.dir ?? join(config.dataDir, 'spool'),
    fsync: config.spool.fsync,
    fsyncIntervalMs: config.spool.fsyncIntervalMs,
    maxBytes: config.spool.maxBytes,
    segmentBytes: config.spool.segmentBytes,
    logger: deps.logger,
  });
  const emitter = new KafkaEmitter(config, deps, spool);
  emitter.start();
  return emitter;
}

class KafkaEmitter implements Emitter {
  private readonly queue = new MemoryQueue<Entry>();
  private readonly producer: RecordProducer;
  private readonly metrics: EmitterInstruments;
  private readonly log: Logger;
  private readonly topic: string;
  private readonly p: Config['producer'];
  private readonly tracing: EmitterTracing;
  private readonly capacity: number;
  private mode: 'direct' | 'spooling';
  /** Kafka acknowledged the last send. */
  private connected = false;
  private inflight: Entry[] | undefined;
  /** Set synchronously when a spill starts writing the in-flight batch, so the sender can await it. */
  private inflightSpooled: Promise<number | undefined> | undefined;
  private busySince: number | undefined;
  private spillChain: Promise<void> = Promise.resolve();
  private spilling = 0;
  private spillScheduled = false;
  private wake: (() => void) | undefined;
  private halted = false;
  /** Aborted when close() halts the pump, so back-off sleeps end at once instead of delaying exit. */
  private readonly halt = new AbortController();
  private closing: Promise<void> | undefined;
  private runDone: Promise<void> = Promise.resolve();
  private watchdog: NodeJS.Timeout | undefined;
  private readonly counts = { accepted: 0, invalid: 0, sent: 0, spooled: 0, dropped: 0 };
  private readonly lastLog = new Map<string, number>();
  private readonly signalHandler = (signal: NodeJS.Signals) => {
    this.log.info({ signal }, 'emitter: flushing before exit');
    void this.close().finally(() => process.exit(0));
  };

  constructor(
    config: Config,
    private readonly deps: EmitterDeps,
    private readonly spool: DiskSpool,
  ) {
    this.log = deps.logger.child({ component: 'emitter' });
    this.topic = config.kafka.eventsTopic;
    this.p = config.producer;
    this.capacity = config.spool.memoryQueueEvents;
    this.mode = spool.pendingRecords > 0 ? 'spooling' : 'direct';
    this.producer = deps.kafka.producer(producerSettings({ compression: config.producer.compression, retryForever: true }));
    this.metrics = emitterInstruments(deps.meter ?? noopMeter, () => this.stats());
    this.tracing = new EmitterTracing(this.topic, config.kafka.clientId);
  }

  start(): void {
    this.runDone = this.run().catch((err: unknown) => this.log.error({ err }, 'emitter pump stopped on a bug'));
    this.watchdog = setInterval(() => this.checkStall(), Math.min(250, this.p.spillAfterMs));
    this.watchdog.unref();
    if (this.deps.handleSignals) {
      process.once('SIGTERM', this.signalHandler);
      process.once('SIGINT', this.signalHandler);
    }
  }

  emit(event: ActionEvent): void {
    this.enqueue(event, undefined);
  }

  emitDurable(event: ActionEvent): Promise<DurableResult> {
    return new Promise((resolve) => this.enqueue(event, resolve));
  }

  private enqueue(event: ActionEvent, done: Entry['done']): void {
    const checked = validateEvent(event);
    if (!checked.ok) {
      this.counts.invalid++;
      this.metrics.invalid.add(1, { reason: checked.reason });
      this.logEvery(`invalid:${checked.reason}`, () =>
        this.log.warn({ reason: checked.reason, errors: formatErrors(checked.errors), invalidSoFar: this.counts.invalid }, 'emit() refused an invalid event'),
      );
      done?.({ ok: false, reason: 'invalid' });
      return;
    }
    if (this.halted) return this.drop([{ event: checked.event, done }], 'closed');
    if (this.queue.length >= this.capacity) return this.drop([{ event: checked.event, done }], 'queue_full');
    this.counts.accepted++;
    this.queue.push({ event: checked.event, done, span: this.tracing.creationSpan(checked.event) });
    if (this.mode === 'spooling' || this.queue.length * 2 >= this.capacity) this.scheduleSpill();
    if (this.wake) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
  }

  stats(): EmitterStats {
    return {
      ...this.counts,
      // An in-flight batch already spilled is counted in the spool, not twice.
      queued: this.queue.length + (this.inflight && !this.inflightSpooled ? this.inflight.length : 0),
      spoolRecords: this.spool.pendingRecords,
      spoolBytes: this.spool.bytes,
      mode: this.mode,
      connected: this.connected,
    };
  }

  async ready(): Promise<boolean> {
    if (this.connected && !this.stalled()) return true;
    try {
      await access(this.spool.dir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  private logEvery(key: string, fn: () => void): void {
    const now = Date.now();
    if (now - (this.lastLog.get(key) ?? 0) < LOG_INTERVAL_MS) return;
    this.lastLog.set(key, now);
    fn();
  }

  private drop(entries: Entry[], reason: DropReason): void {
    this.counts.dropped += entries.length;
    this.metrics.dropped.add(entries.length, { reason });
    for (const e of entries) e.done?.({ ok: false, reason });
    this.tracing.settle(entries, 'dropped', reason);
    this.logEvery(`drop:${reason}`, () => this.log.error({ reason, droppedSoFar: this.counts.dropped }, 'emitter dropped events'));
  }

  private async run(): Promise<void> {
    // No connect step: the producer connects on its first send, which stays pending while Kafka is unreachable
    // (the stall watchdog spools meanwhile).
    while (!this.halted) {
      if (this.mode === 'direct') await this.directStep();
      else await this.spoolStep();
    }
  }

  /** Spills when Kafka has been busy too long on one send (or unreachable) and events are waiting. */
  private checkStall(): void {
    if (this.mode !== 'direct' || this.busySince === undefined) return;
    if (Date.now() - this.busySince >= this.p.spillAfterMs && (this.queue.length > 0 || this.inflight)) this.scheduleSpill();
  }

  private scheduleSpill(): void {
    if (this.spillScheduled) return;
    this.spillScheduled = true;
    // A short delay groups many emits into one sequential write.
    setTimeout(() => {
      this.spillScheduled = false;
      void this.spill();
    }, 5).unref();
  }

  /** Moves the in-flight batch (own segment) and then the memory queue into the spool, keeping order. */
  private spill(): Promise<void> {
    this.spilling++;
    const run = this.spillChain.then(async () => {
      if (this.mode === 'direct') {
        if (this.queue.length * 2 < this.capacity && !this.stalled()) return;
        this.mode = 'spooling';
        this.log.warn({ queued: this.queue.length, inflight: this.inflight?.length ?? 0 }, 'Kafka is slow or down: spooling to disk');
      }
      if (this.inflight && !this.inflightSpooled) {
        this.inflightSpooled = this.writeToSpool(this.inflight, true);
        await this.inflightSpooled;
      }
      while (this.queue.length > 0) await this.writeToSpool(this.queue.take(SPILL_CHUNK), false);
    });
    this.spillChain = run.catch((err: unknown) => this.log.error({ err }, 'spill failed'));
    return this.spillChain.finally(() => {
      this.spilling--;
    });
  }

  private stalled(): boolean {
    return this.busySince !== undefined && Date.now() - this.busySince >= this.p.spillAfterMs;
  }

  private async writeToSpool(entries: Entry[], ownSegment: boolean): Promise<number | undefined> {
    const result = await this.spool.append(entries.map(spoolPayload), { ownSegment });
    if (!result.ok) {
      this.drop(entries, result.reason === 'spool_full' ? 'spool_full' : 'spool_write_failed');
      return undefined;
    }
    this.counts.spooled += entries.length;
    this.metrics.spooled.add(entries.length);
    for (const e of entries) {
      e.done?.({ ok: true, via: 'spool' });
      e.done = undefined;
    }
    this.tracing.settle(entries, 'spooled');
    return result.segmentId;
  }

  private async directStep(): Promise<void> {
    if (this.queue.length === 0) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        // Periodic wake-up so close() and mode changes are noticed without an emit.
        setTimeout(resolve, 100).unref();
      });
      this.wake = undefined;
      return;
    }
    if (this.queue.length < this.p.batchMaxEvents && this.p.lingerMs > 0) await sleep(this.p.lingerMs);
    if (this.mode !== 'direct' || this.halted) return;
    const { entries: batch, records } = takeBatch(this.queue, this.p.batchMaxEvents, this.p.batchMaxBytes, (e) => this.tracing.encode(e.event, e.span));
    this.inflight = batch;
    this.inflightSpooled = undefined;
    const result = await this.send(records);
    const spooled = this.inflightSpooled;
    const segment = spooled ? await spooled : undefined;
    if (result.ok) {
      this.inflight = undefined;
      this.inflightSpooled = undefined;
      if (segment !== undefined) await this.spool.discardSegment(segment);
      this.settleSent(batch);
      return;
    }
    const left = new Set(result.unwrittenRecords);
    const rest = batch.filter((_, i) => left.has(i));
    this.settleSent(batch.filter((_, i) => !left.has(i)));
    if (spooled) {
      // Already in the spool as its own segment: keep there only what was not written.
      if (segment !== undefined && rest.length < batch.length) await this.spool.replaceSegment(segment, rest.map(spoolPayload));
    } else {
      // Failed before any spill: what was not written goes to the spool first, ahead of everything still queued.
      this.inflight = rest;
      this.mode = 'spooling';
      await this.spill();
    }
    this.inflight = undefined;
    this.inflightSpooled = undefined;
  }

  /** Entries whose records Kafka acknowledged (a spilled entry was already answered and its span ended). */
  private settleSent(entries: Entry[]): void {
    for (const e of entries) e.done?.({ ok: true, via: 'kafka' });
    this.tracing.settle(entries, 'sent');
  }

  private async spoolStep(): Promise<void> {
    if (this.queue.length > 0) await this.spill();
    const batch = await this.spool.readBatch(this.p.batchMaxEvents, this.p.batchMaxBytes);
    if (!batch) {
      if (this.spool.pendingRecords === 0 && !this.spool.busy && this.spilling === 0) {
        this.mode = 'direct';
        this.log.info('spool drained: sending directly again');
      } else await sleep(20);
      return;
    }
    await this.sendFromSpool(batch);
  }

  private async sendFromSpool(first: SpoolBatch): Promise<void> {
    let batch = first;
    let records = batch.records.map((r) => toRecord(encodeEvent(JSON.parse(r.toString('utf8')) as ActionEvent)));
    for (let attempt = 1; ; attempt++) {
      const result = await this.send(records);
      if (result.ok) break;
      if (result.unwrittenRecords.length < records.length) {
        const left = new Set(result.unwrittenRecords);
        records = records.filter((_, i) => left.has(i));
        batch = await this.spool.replaceBatch(batch, batch.records.filter((_, i) => left.has(i)));
      }
      if (this.halted) return;
      await this.pause(backoffDelay(attempt, RESEND_BACKOFF));
    }
    await this.spool.ack(batch);
  }

  private async send(records: OutgoingRecord[]): Promise<SendResult> {
    const started = Date.now();
    this.busySince = started;
    try {
      const result = await this.tracing.send(records, () => this.producer.send(this.topic, records)).catch(
        (err: unknown): SendResult => ({
          ok: false,
          reason: 'unavailable',
          detail: (err as Error).message,
          written: [],
          unwritten: [],
          unwrittenRecords: records.map((_, i) => i),
        }),
      );
      const written = result.ok ? records.length : records.length - result.unwrittenRecords.length;
      this.counts.sent += written;
      if (written > 0) this.metrics.sent.add(written);
      this.connected = result.ok;
      if (result.ok) {
        this.metrics.sendLatency.record(Date.now() - started);
        this.metrics.batchSize.record(records.length);
      } else if (!this.halted) {
        this.logEvery('send', () =>
          this.log.warn({ reason: result.reason, err: result.detail, events: records.length, unwritten: result.unwrittenRecords.length }, 'Kafka send failed; will retry the unwritten partitions'),
        );
      }
      return result;
    } finally {
      this.busySince = undefined;
    }
  }

  private pause(ms: number): Promise<void> {
    return sleep(ms, this.halt.signal, { unref: true });
  }

  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.isEmpty()) return true;
      await sleep(20);
    }
    return this.isEmpty();
  }

  private isEmpty(): boolean {
    return this.queue.length === 0 && !this.inflight && this.spool.pendingRecords === 0 && !this.spool.busy && this.spilling === 0;
  }

  close(deadlineMs = this.p.shutdownDeadlineMs): Promise<void> {
    this.closing ??= this.doClose(deadlineMs);
    return this.closing;
  }

  private async doClose(deadlineMs: number): Promise<void> {
    process.removeListener('SIGTERM', this.signalHandler);
    process.removeListener('SIGINT', this.signalHandler);
    // A producer still connecting (a broker starting, its coordinator loading) gets the deadline too: closing right
    // after start must not turn a slow first connection into a spool that waits for the next start.
    const flushed = await this.drained(deadlineMs);
    this.halted = true;
    this.halt.abort();
    if (this.watchdog) clearInterval(this.watchdog);
    this.wake?.();
    if (!flushed) {
      // Whatever did not make it goes to the spool; the next start drains it first.
      this.mode = 'spooling';
      await this.spill();
      this.log.warn({ spooled: this.spool.pendingRecords }, 'shutdown deadline reached: remaining events left in the spool');
    }
    await this.producer.close().catch(() => undefined);
    await Promise.race([this.runDone, new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.spool.close();
  }
}

/** An entry as the spool keeps it: the event's JSON (re-encoded, with its trace ids, when it is sent). */
function spoolPayload(e: Entry): Buffer {
  return Buffer.from(JSON.stringify(e.event));
}
