import type { Logger } from '../../platform/logger.ts';
import type { RejectedEvent, Sink, SinkBatch, SinkResult } from '../sink.ts';
import { toMixpanelRecord } from './event-mapping.ts';
import type { GroupProfileUpdater } from './group-profiles.ts';
import { chunkBody, chunkRecords, type ImportChunk, type PendingRecord } from './import-batches.ts';
import type { ImportOutcome, MixpanelImportClient } from './import-client.ts';

/**
 * Sends a Kafka batch to Mixpanel /import as requests of ≤ maxEvents records and ≤ maxBytes, several in
 * flight at once. Strict-mode refusals become dead letters with Mixpanel's message; 429/5xx/network make
 * the whole write a `retry` (with the server's delay) for the runner to back off — and the sink remembers
 * which records of that batch were already accepted, so a retry during a 429 storm resends only the rest.
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
    const pending: PendingRecord[] = [];
    batch.events.forEach((event, index) => {
      if (progress.settled.has(index)) return;
      const mapped = toMixpanelRecord(event, now);
      if (mapped.kind === 'skip') {
        this.stats.skipped++;
        progress.settled.add(index);
      } else if (mapped.kind === 'invalid') {
        progress.settled.add(index);
        progress.rejected.push({ index, reason: 'mixpanel_rejected', detail: `${mapped.field}: ${mapped.message}` });
      } else {
        pending.push({ index, insertId: mapped.record.properties.$insert_id, json: JSON.stringify(mapped.record) });
        this.o.groups?.observe(event, now);
      }
    });

    const failure = await this.sendAll(chunkRecords(pending, this.o.maxEvents, this.o.maxBytes), progress, signal);
    if (failure) {
      this.remember(key, progress);
      return { status: 'retry', error: new Error(`mixpanel: ${failure.message}`), retryInMs: failure.retryAfterMs };
    }
    this.progress.delete(key);
    if (progress.rejected.length === 0) return { status: 'ok' };
    this.stats.rejected += progress.rejected.length;
    return { status: 'reject', error: new Error(`mixpanel refused ${progress.rejected.length} record(s)`), events: progress.rejected };
  }

  /** Runs the requests with bounded concurrency; on the first transient failure, starts no new request. */
  private async sendAll(
    chunks: ImportChunk[],
    progress: BatchProgress,
    signal: AbortSignal,
  ): Promise<{ message: string; retryAfterMs?: number } | undefined> {
    const queue = [...chunks];
    // An object, not a `let`: workers set it across awaits, which TypeScript's narrowing cannot follow.
    const state: { failure?: { message: string; retryAfterMs?: number } } = {};
    const worker = async () => {
      for (let chunk = queue.shift(); chunk && !state.failure; chunk = queue.shift()) {
        if (signal.aborted) {
          state.failure = { message: 'stopping' };
          return;
        }
        this.stats.requests++;
        const outcome = await this.o.client.send(chunkBody(chunk), signal);
        const transient = this.apply(chunk, outcome, progress, queue);
        if (transient) {
          this.stats.retriedRequests++;
          const earlier = state.failure as { retryAfterMs?: number } | undefined;
          const retryAfterMs = Math.max(earlier?.retryAfterMs ?? 0, transient.retryAfterMs ?? 0) || undefined;
          state.failure = { message: transient.message, retryAfterMs };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, Math.max(1, queue.length)) }, worker));
    return state.failure;
  }

  private apply(chunk: ImportChunk, outcome: ImportOutcome, progress: BatchProgress, queue: ImportChunk[]): { message: string; retryAfterMs?: number } | undefined {
    switch (outcome.kind) {
      case 'ok':
        this.stats.imported += chunk.records.length;
        for (const r of chunk.records) progress.settled.add(r.index);
        return undefined;
      case 'partial': {
        const failed = new Map(outcome.failed.map((f) => [f.index, f]));
        for (const [i, r] of chunk.records.entries()) {
          progress.settled.add(r.index);
          const f = failed.get(i);
          if (f) progress.rejected.push({ index: r.index, reason: 'mixpanel_rejected', detail: `${f.field ?? 'record'}: ${f.message}` });
          else this.stats.imported++;
        }
        return undefined;
      }
      case 'too_large':
      case 'bad_request':
        if (chunk.records.length > 1) {
          // The request as a whole was refused: halve it until the offending record stands alone.
          this.stats.splits++;
          const mid = Math.ceil(chunk.records.length / 2);
          const halves = [chunk.records.slice(0, mid), chunk.records.slice(mid)];
          queue.unshift(...halves.map((records) => ({ records, bytes: 0 })));
          return undefined;
        }
        progress.settled.add(chunk.records[0].index);
        progress.rejected.push({ index: chunk.records[0].index, reason: 'mixpanel_rejected', detail: outcome.message });
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
