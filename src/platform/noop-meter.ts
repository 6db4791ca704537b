import { createNoopMeter, type Meter } from '@opentelemetry/api';

/** A meter that records nothing; apart from metrics.ts so its users do not load the metrics SDK. */
export const noopMeter: Meter = createNoopMeter();
