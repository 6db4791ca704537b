import { context, trace, TraceFlags, type Context, type Tracer } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from './logger.ts';

/**
 * Tracing for the pipeline itself: the executor's span is the root of an action's trace; its ids travel in
 * the event and the Kafka `traceparent` header, and every consumer records its processing as a child span,
 * so on-call can follow one action from the agent to ClickHouse, Mixpanel and the alert evaluator.
 * Spans are exported over OTLP/HTTP when an endpoint is configured; otherwise tracing stays a no-op.
 */
let active = false;

export interface TelemetryOptions {
  serviceName: string;
  /** OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces. */
  otlpEndpoint?: string;
  /** Extra processors (tests use an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
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
  const sdk = new NodeSDK({ serviceName: o.serviceName, spanProcessors: processors, instrumentations: [] });
  sdk.start();
  active = true;
  o.logger?.info({ otlp: Boolean(o.otlpEndpoint) }, 'tracing started');
  return {
    async shutdown() {
      active = false;
      await sdk.shutdown();
    },
  };
}

/** Whether spans go anywhere; hot paths skip span work entirely when they do not. */
export function tracingActive(): boolean {
  return active;
}

/** A context whose parent is the span that produced an event (from its trace ids). */
export function contextFromIds(traceId: string, spanId: string): Context {
  return trace.setSpanContext(context.active(), { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

export function pipelineTracer(): Tracer {
  return trace.getTracer('actionpulse-pipeline');
}
