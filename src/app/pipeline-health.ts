import express, { type Router } from 'express';
import type { Meter } from '@opentelemetry/api';
import type { KafkaPort } from '../platform/kafka/kafka-port.ts';
import { consumerLag } from '../consumers/clickhouse/consumer-lag.ts';
import type { ConsumerRunner } from '../consumers/consumer-runner.ts';
import type { Emitter } from '../producers/emitter.ts';

/**
 * The pipeline watching itself: consumer lag per group and partition, dead-letter counts, time since each
 * consumer last made progress, spool size — as Prometheus metrics and as /api/health for the dashboard's
 * health view. A consumer is "stalled" when it has work (lag > 0) and made no progress for `stallAfterMs`,
 * so on-call sees a stuck consumer within a minute, while an idle one (nothing to read) is healthy.
 */
export interface WatchedConsumer {
  name: string;
  groupId: string;
  runner: ConsumerRunner;
}

export interface ConsumerHealth {
  name: string;
  group: string;
  lag: number;
  lagByPartition: Record<string, number>;
  written: number;
  deadLettered: number;
  futureEvents: number;
  retries: number;
  secondsSinceProgress: number | null;
  stalled: boolean;
}

export interface PipelineHealth {
  status: 'ok' | 'degraded';
  consumers: ConsumerHealth[];
  emitter?: { queued: number; spoolRecords: number; spoolBytes: number; dropped: number; mode: string; connected: boolean };
  at: string;
}

export class HealthMonitor {
  private lagCache = new Map<string, { at: number; lag: Map<number, number> }>();
  /** When each consumer last wrote something or had nothing to do. */
  private progress = new Map<string, { written: number; at: number }>();

  constructor(
    private readonly o: { kafka: KafkaPort; topic: string; consumers: () => WatchedConsumer[]; emitter?: Emitter; stallAfterMs?: number; now?: () => number },
  ) {}

  private async lagOf(groupId: string): Promise<Map<number, number>> {
    const now = Date.now();
    const hit = this.lagCache.get(groupId);
    if (hit && now - hit.at < 5000) return hit.lag;
    const lag = await consumerLag(this.o.kafka, groupId, this.o.topic).catch(() => hit?.lag ?? new Map<number, number>());
    this.lagCache.set(groupId, { at: now, lag });
    return lag;
  }

  async check(): Promise<PipelineHealth> {
    const now = (this.o.now ?? Date.now)();
    const consumers = await Promise.all(
      this.o.consumers().map(async (c): Promise<ConsumerHealth> => {
        const lagMap = await this.lagOf(c.groupId);
        const lag = [...lagMap.values()].reduce((a, b) => a + b, 0);
        const written = c.runner.stats.written + c.runner.stats.deadLettered;
        const seen = this.progress.get(c.name);
        if (!seen || written !== seen.written || lag === 0) this.progress.set(c.name, { written, at: now });
        const since = this.progress.get(c.name)!.at;
        const stalled = lag > 0 && now - since > (this.o.stallAfterMs ?? 60_000);
        return {
          name: c.name,
          group: c.groupId,
          lag,
          lagByPartition: Object.fromEntries([...lagMap].map(([p, v]) => [String(p), v])),
          written: c.runner.stats.written,
          deadLettered: c.runner.stats.deadLettered,
          futureEvents: c.runner.stats.futureEvents,
          retries: c.runner.stats.retries,
          secondsSinceProgress: Math.round((now - since) / 1000),
          stalled,
        };
      }),
    );
    const s = this.o.emitter?.stats();
    return {
      status: consumers.some((c) => c.stalled) || (s?.dropped ?? 0) > 0 ? 'degraded' : 'ok',
      consumers,
      emitter: s && { queued: s.queued, spoolRecords: s.spoolRecords, spoolBytes: s.spoolBytes, dropped: s.dropped, mode: s.mode, connected: s.connected },
      at: new Date(now).toISOString(),
    };
  }

  /** Observable gauges read at scrape time. */
  register(meter: Meter): void {
    const lag = meter.createObservableGauge('actionpulse_consumer_lag', { description: 'Events not yet committed by the consumer group, per partition' });
    const since = meter.createObservableGauge('actionpulse_consumer_seconds_since_progress', { description: 'Seconds since the consumer last made progress (0 when idle with nothing to read)' });
    const stalled = meter.createObservableGauge('actionpulse_consumer_stalled', { description: '1 when the consumer has lag and made no progress for a minute' });
    const written = meter.createObservableCounter('actionpulse_consumer_written_total', { description: 'Events the sink accepted' });
    const dead = meter.createObservableCounter('actionpulse_consumer_dead_lettered_total', { description: 'Messages sent to the dead-letter topic' });
    const future = meter.createObservableCounter('actionpulse_consumer_future_events_total', {
      description: 'Events dead-lettered as timestamp_in_future: dated further ahead of this consumer clock than EVENT_FUTURE_ALLOWANCE_SECONDS',
    });
    meter.addBatchObservableCallback(
      async (r) => {
        const h = await this.check();
        for (const c of h.consumers) {
          for (const [partition, v] of Object.entries(c.lagByPartition)) r.observe(lag, v, { group: c.group, partition });
          r.observe(since, c.secondsSinceProgress ?? 0, { group: c.group });
          r.observe(stalled, c.stalled ? 1 : 0, { group: c.group });
          r.observe(written, c.written, { group: c.group });
          r.observe(dead, c.deadLettered, { group: c.group });
          r.observe(future, c.futureEvents, { group: c.group });
        }
      },
      [lag, since, stalled, written, dead, future],
    );
  }

  router(): Router {
    const router = express.Router();
    router.get('/api/health', async (_req, res) => {
      res.json(await this.check());
    });
    return router;
  }
}
