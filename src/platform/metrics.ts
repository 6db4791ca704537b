import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * OpenTelemetry metrics for one process, exported in Prometheus text format on the service's own HTTP
 * server (`/metrics`) rather than on a second port: the exporter runs with `preventServerStart` and we
 * mount its request handler. Components take a `Meter`; tests without a scrape pass `noopMeter`.
 */
export interface Metrics {
  meter: Meter;
  /** Express-compatible `(req, res)` handler serving the Prometheus exposition. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  shutdown(): Promise<void>;
}

export function createMetrics(options: { serviceName?: string } = {}): Metrics {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
  const provider = new MeterProvider({ readers: [exporter] });
  return {
    meter: provider.getMeter(options.serviceName ?? 'actionpulse'),
    handler: (req, res) => exporter.getMetricsRequestHandler(req, res),
    shutdown: () => provider.shutdown(),
  };
}

export { noopMeter } from './noop-meter.ts';
