import type { Counter, Histogram, Meter } from '@opentelemetry/api';

/** Plain counters the emitter keeps for `stats()` (tests, benchmarks, readiness) besides the OTel instruments. */
export interface EmitterStats {
  accepted: number;
  invalid: number;
  sent: number;
  spooled: number;
  dropped: number;
  queued: number;
  spoolRecords: number;
  spoolBytes: number;
  mode: 'direct' | 'spooling';
  connected: boolean;
}

export type DropReason = 'queue_full' | 'spool_full' | 'spool_write_failed' | 'closed';

export interface EmitterInstruments {
  invalid: Counter;
  sent: Counter;
  spooled: Counter;
  dropped: Counter;
  sendLatency: Histogram;
  batchSize: Histogram;
}

export function emitterInstruments(meter: Meter, observe: () => EmitterStats): EmitterInstruments {
  const queued = meter.createObservableGauge('actionpulse_emitter_queued_events', { description: 'Events waiting in the memory queue' });
  const spoolBytes = meter.createObservableGauge('actionpulse_emitter_spool_bytes', { description: 'Bytes in spool segment files', unit: 'By' });
  const spoolRecords = meter.createObservableGauge('actionpulse_emitter_spool_events', { description: 'Events in the spool not yet in Kafka' });
  meter.addBatchObservableCallback(
    (result) => {
      const s = observe();
      result.observe(queued, s.queued);
      result.observe(spoolBytes, s.spoolBytes);
      result.observe(spoolRecords, s.spoolRecords);
    },
    [queued, spoolBytes, spoolRecords],
  );
  return {
    invalid: meter.createCounter('actionpulse_emitter_invalid_total', { description: 'Events refused by the contract at emit()' }),
    sent: meter.createCounter('actionpulse_emitter_sent_total', { description: 'Events acknowledged by Kafka (acks=all)' }),
    spooled: meter.createCounter('actionpulse_emitter_spooled_total', { description: 'Events written to the disk spool' }),
    dropped: meter.createCounter('actionpulse_emitter_dropped_total', { description: 'Events lost, by reason (full queue or disk)' }),
    sendLatency: meter.createHistogram('actionpulse_emitter_send_latency_ms', {
      description: 'Kafka send latency per batch',
      unit: 'ms',
      advice: { explicitBucketBoundaries: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] },
    }),
    batchSize: meter.createHistogram('actionpulse_emitter_batch_size', {
      description: 'Events per Kafka send',
      advice: { explicitBucketBoundaries: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000] },
    }),
  };
}
