import type { ActionEvent } from '../events/index.ts';

/**
 * The one contract every destination implements. ClickHouse, Mixpanel and the alert evaluator differ
 * only behind `write`; reading Kafka, validating, dead-lettering, retrying and committing offsets is
 * the consumer runner's job, written once.
 */
export interface SinkBatch {
  readonly events: readonly ActionEvent[];
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets of the first and last message the batch came from (dedupe tokens derive from them). */
  readonly firstOffset: string;
  readonly lastOffset: string;
  /**
   * The Kafka message values `events` were decoded from, one per event in the same order (optional). A valid
   * value's JSON has exactly the contract's fields, so a sink whose rows mirror the contract may store these
   * bytes as they are instead of serialising every event again.
   */
  readonly values?: readonly Buffer[];
}

export interface RejectedEvent {
  /** Index in `batch.events`. */
  index: number;
  /** Stable code, e.g. `mixpanel_rejected`. */
  reason: string;
  detail: string;
}

export type SinkResult =
  | { status: 'ok' }
  /** Transient: back off, do not commit, write the same batch again. */
  | { status: 'retry'; error: Error; retryInMs?: number }
  /** Permanent for these events: dead-letter them; the rest of the batch counts as written. */
  | { status: 'reject'; error: Error; events: RejectedEvent[] };

export interface Sink {
  readonly name: string;
  /**
   * True for a sink that stores `values` as they are and reads `events` only on a fallback path. The runner
   * then validates each message without keeping the decoded object: `events` is decoded again from `values` on
   * first use, so a batch waiting for its write holds the bytes, not a second copy of every event as objects.
   */
  readonly storesValues?: boolean;
  write(batch: SinkBatch, signal: AbortSignal): Promise<SinkResult>;
  close(): Promise<void>;
}
