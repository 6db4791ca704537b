/**
 * Whether the pipeline's own tracing SDK runs (set by telemetry.ts). Kept apart from telemetry.ts so hot paths
 * that only ask (the emitter) do not load the OpenTelemetry SDK: the runtime package imports the emitter.
 */
let active = false;

export function setTracingActive(value: boolean): void {
  active = value;
}

/** Whether spans go anywhere; hot paths skip span work entirely when they do not. */
export function tracingActive(): boolean {
  return active;
}
