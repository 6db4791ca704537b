import type { ActionEvent } from '../events/index.ts';

/**
 * What executors and services emit through. `emit` validates and enqueues; it never awaits I/O and
 * never throws for a delivery problem, so telemetry can neither slow nor break the agent runtime.
 */
export interface EventEmitterPort {
  emit(event: ActionEvent): void;
}

/** Records emitted events in memory: for unit tests and for the in-process demo's assertions. */
export class RecordingEmitter implements EventEmitterPort {
  readonly events: ActionEvent[] = [];
  emit(event: ActionEvent): void {
    this.events.push(event);
  }
}
