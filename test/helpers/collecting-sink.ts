import type { ActionEvent } from '../../src/events/index.ts';
import type { Sink, SinkBatch, SinkResult } from '../../src/consumers/sink.ts';

/** A sink that keeps what it is given, like OpenTelemetry's in-memory exporter: the runner under test is real. */
export class CollectingSink implements Sink {
  readonly name = 'collecting';
  readonly events: ActionEvent[] = [];
  readonly batches: SinkBatch[] = [];
  /** Results to return before accepting, e.g. a few `retry`s to exercise backoff. */
  readonly script: SinkResult[] = [];
  closed = false;

  /** `storesValues`: the runner then keeps no decoded events, and `batch.events` decodes them on first use. */
  constructor(readonly storesValues = false) {}

  async write(batch: SinkBatch): Promise<SinkResult> {
    const next = this.script.shift();
    if (next && next.status === 'retry') return next;
    this.batches.push(batch);
    if (next && next.status === 'reject') {
      const rejected = new Set(next.events.map((e) => e.index));
      batch.events.forEach((e, i) => rejected.has(i) || this.events.push(e));
      return next;
    }
    this.events.push(...batch.events);
    return { status: 'ok' };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
