import { trace, type Tracer } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, type Sampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from './logger.ts';
import { setTracingActive } from './tracing-switch.ts';

export { tracingActive } from './tracing-switch.ts';

/**
 * Tracing for the pipeline itself. The executor's span is the root of an action's trace; the emitter adds
 * a "create" span per event under it, whose context the Kafka `traceparent` header carries; every
 * consumer group records a "process" span per batch linked to those contexts; the alert evaluator's
 * batches and each alert delivery have spans of their own (src/platform/kafka/messaging-spans.ts).
 * Sampling is the SDK's (parent-based by default, OTEL_TRACES_SAMPLER to change it): a message carries
 * the sampled flag of its creation span, never a forced one.
 * Spans are exported over OTLP/HTTP when an endpoint is configured; otherwise tracing stays a no-op.
 */

export interface TelemetryOptions {
  serviceName: string;
  /** OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces. */
  otlpEndpoint?: string;
  /** Extra processors (tests use an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  /** Overrides the SDK's sampler (default parent-based always-on, or OTEL_TRACES_SAMPLER). */
  sampler?: Sampler;
  logger?: Logger;
}

export interface Telemetry {
  shutdown(): Promise<void>;
}

export function startTelemetry(o: TelemetryOptions): Telemetry {
  const processors: SpanProcessor[] = [...(o.spanProcessors ?? [])];
  if (o.otlpEndpoint) processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: o.otlpEndpoint })));
  if (processors.length === 0) return { shutdown: async () => undefined };
  process.env.OTEL_SERVICE_NAME ??= o.serviceName;
  const sdk = new NodeSDK({ serviceName: o.serviceName, spanProcessors: processors, instrumentations: [], ...(o.sampler ? { sampler: o.sampler } : {}) });
  sdk.start();
  setTracingActive(true);
  o.logger?.info({ otlp: Boolean(o.otlpEndpoint) }, 'tracing started');
  return {
    async shutdown() {
      setTracingActive(false);
      await sdk.shutdown();
    },
  };
}

export function pipelineTracer(): Tracer {
  return trace.getTracer('actionpulse-pipeline');
}
