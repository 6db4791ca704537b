import type { Logger } from '../../platform/logger.ts';
import type { RejectedEvent, Sink, SinkBatch, SinkResult } from '../sink.ts';
import { toMixpanelRecord } from './event-mapping.ts';
import type { GroupProfileUpdater } from './group-profiles.ts';
import { ChunkBuilder, type ImportChunk } from './import-batches.ts';
import type { ImportOutcome, MixpanelImportClient } from './import-client.ts';

/**
 * Sends a Kafka batch to Mixpanel /import as requests of ≤ maxEvents records and ≤ maxBytes, several in
 * flight at once. Records are mapped and serialized one request at a time, when a request slot frees up: the
 * sink holds the bodies of the requests in flight, never the JSON of its whole batch. Strict-mode refusals
 * become dead letters with Mixpanel's message; 429/5xx/network make the whole write a `retry` (with the
 * server's delay) for the runner to back off — and the sink remembers which records of that batch were
 * already accepted, so a retry during a 429 storm resends only the rest.
 */
export interface MixpanelSinkOptions {
  client: MixpanelImportClient;
  logger: Logger;
  maxEvents: number;
  maxBytes: number;
  /** Requests of one write in flight at once (the client caps it globally too). */
  concurrency: number;
  groups?: GroupProfileUpdater;
  now?: () => number;
}

interface BatchProgress {
  settled: Set<number>;
  rejected: RejectedEvent[];
}

/** Partial progress kept for at most this many unfinished batches (one per partition in practice). */
const MAX_TRACKED_BATCHES = 256;

export class MixpanelSink implements Sink {
  readonly name = 'mixpanel';
  readonly stats = { requests: 0, imported: 0, rejected: 0, skipped: 0, retriedRequests: 0, splits: 0 };
  private readonly progress = new Map<string, BatchProgress>();

  constructor(private readonly o: MixpanelSinkOptions) {}

  async write(batch: SinkBatch, signal: AbortSignal): Promise<SinkResult> {
    const key = `${batch.topic}/${batch.partition}/${batch.firstOffset}-${batch.lastOffset}`;
    const progress = this.progress.get(key) ?? { settled: new Set<number>(), rejected: [] };
    const now = this.o.now?.() ?? Date.now();
    const failure = await this.sendAll(this.requests(batch, progress, now), batch, progress, now, signal);
    if (failure) {
      this.remember(key, progress);
      return { status: 'retry', error: new Error(`mixpanel: ${failure.message}`), retryInMs: failure.retryAfterMs };
    }
    this.progress.delete(key);
    if (progress.rejected.length === 0) return { status: 'ok' };
    this.stats.rejected += progress.rejected.length;
    return { status: 'reject', error: new Error(`mixpanel refused ${progress.rejected.length} record(s)`), events: progress.rejected };
  }

  /**
   * The batch's requests, each built when a worker asks for it. Events not yet settled are mapped in order;
   * those Mixpanel must not get (plumbing, or a record it would refuse) are settled as they are passed.
   */
  private *requests(batch: SinkBatch, progress: BatchProgress, now: number): Generator<ImportChunk, void, undefined> {
    const builder = new ChunkBuilder(this.o.maxEvents, this.o.maxBytes);
    for (let index = 0; index < batch.events.length; index++) {
      if (progress.settled.has(index)) continue;
      const event = batch.events[index];
      const mapped = toMixpanelRecord(event, now);
      if (mapped.kind === 'skip') {
        this.stats.skipped++;
        progress.settled.add(index);
      } else if (mapped.kind === 'invalid') {
        progress.settled.add(index);
        progress.rejected.push({ index, reason: 'mixpanel_rejected', detail: `${mapped.field}: ${mapped.message}` });
      } else {
        this.o.groups?.observe(event, now);
        const full = builder.add(index, mapped.record);
        if (full) yield full;
      }
    }
    const last = builder.flush();
    if (last) yield last;
  }

  /** One request of exactly these records (a half of a refused request): mapped again, as they were the first time. */
  private requestOf(batch: SinkBatch, indices: readonly number[], now: number): ImportChunk {
    const builder = new ChunkBuilder(Infinity, Infinity);
    for (const index of indices) {
      const mapped = toMixpanelRecord(batch.events[index], now);
      if (mapped.kind === 'record') builder.add(index, mapped.record);
    }
    return builder.flush() ?? { indices: [], body: Buffer.from('[]') };
  }

  /** Runs the requests with bounded concurrency; on the first transient failure, starts no new request. */
  private async sendAll(
    requests: Iterator<ImportChunk, void, undefined>,
    batch: SinkBatch,
    progress: BatchProgress,
    now: number,
    signal: AbortSignal,
  ): Promise<{ message: string; retryAfterMs?: number } | undefined> {
    // Halves of refused requests, sent before new ones.
    const splits: (readonly number[])[] = [];
    const next = (): ImportChunk | undefined => {
      const half = splits.shift();
      if (half) return this.requestOf(batch, half, now);
      const r = requests.next();
      return r.done ? undefined : r.value;
    };
    // An object, not a `let`: workers set it across awaits, which TypeScript's narrowing cannot follow.
    const state: { failure?: { message: string; retryAfterMs?: number } } = {};
    const worker = async () => {
      while (!state.failure) {
        if (signal.aborted) {
          state.failure = { message: 'stopping' };
          return;
        }
        const chunk = next();
        if (!chunk) return;
        this.stats.requests++;
        const outcome = await this.o.client.send(chunk.body, signal);
        const transient = this.apply(chunk.indices, outcome, progress, splits);
        if (transient) {
          this.stats.retriedRequests++;
          const earlier = state.failure as { retryAfterMs?: number } | undefined;
          const retryAfterMs = Math.max(earlier?.retryAfterMs ?? 0, transient.retryAfterMs ?? 0) || undefined;
          state.failure = { message: transient.message, retryAfterMs };
        }
      }
    };
    await Promise.all(Array.from({ length: this.o.concurrency }, worker));
    return state.failure;
  }

  private apply(indices: number[], outcome: ImportOutcome, progress: BatchProgress, splits: (readonly number[])[]): { message: string; retryAfterMs?: number } | undefined {
    switch (outcome.kind) {
      case 'ok':
        this.stats.imported += indices.length;
        for (const index of indices) progress.settled.add(index);
        return undefined;
      case 'partial': {
        const failed = new Map(outcome.failed.map((f) => [f.index, f]));
        for (const [i, index] of indices.entries()) {
          progress.settled.add(index);
          const f = failed.get(i);
          if (f) progress.rejected.push({ index, reason: 'mixpanel_rejected', detail: `${f.field ?? 'record'}: ${f.message}` });
          else this.stats.imported++;
        }
        return undefined;
      }
      case 'too_large':
      case 'bad_request':
        if (indices.length > 1) {
          // The request as a whole was refused: halve it until the offending record stands alone.
          this.stats.splits++;
          const mid = Math.ceil(indices.length / 2);
          splits.unshift(indices.slice(0, mid), indices.slice(mid));
          return undefined;
        }
        progress.settled.add(indices[0]);
        progress.rejected.push({ index: indices[0], reason: 'mixpanel_rejected', detail: outcome.message });
        return undefined;
      case 'retry':
        this.o.logger.debug({ status: outcome.status, err: outcome.message }, 'mixpanel import transient failure');
        return outcome;
    }
  }

  private remember(key: string, progress: BatchProgress): void {
    this.progress.delete(key);
    this.progress.set(key, progress);
    // A batch never retried again (rebalance moved its partition) must not pin memory forever.
    while (this.progress.size > MAX_TRACKED_BATCHES) this.progress.delete(this.progress.keys().next().value!);
  }

  async close(): Promise<void> {
    await this.o.groups?.drain();
    this.o.client.close();
  }
}
