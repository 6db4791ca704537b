/**
 * How far ahead of the validating clock an event time may be. Producers' clocks drift a little; an event dated
 * further ahead is a clock bug, not an event, and downstream it would drag the alert evaluator's event time into
 * the future (empty steps evaluated, the real events that follow counted as late). Every validation uses this one
 * bound: `emit()`, HTTP ingest, each consumer, the alert evaluator (against its own clock).
 *
 * Module state rather than a parameter: the check is a refinement inside the zod contract (and inside the fast
 * check compiled from it), and a refinement takes no arguments. Each process sets it once at start-up from
 * `EVENT_FUTURE_ALLOWANCE_SECONDS`; until then it is the default.
 */
export const DEFAULT_FUTURE_ALLOWANCE_MS = 5 * 60_000;
/** The largest allowance the setting accepts: beyond an hour, a clock is wrong, not drifting. */
export const MAX_FUTURE_ALLOWANCE_MS = 3600_000;

let allowanceMs = DEFAULT_FUTURE_ALLOWANCE_MS;

export function setFutureAllowanceMs(ms: number): void {
  // Config validates the setting; anything else reaching here is a programming error.
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_FUTURE_ALLOWANCE_MS) {
    throw new RangeError(`future allowance must be whole milliseconds from 0 to ${MAX_FUTURE_ALLOWANCE_MS}, got ${ms}`);
  }
  allowanceMs = ms;
}

export function futureAllowanceMs(): number {
  return allowanceMs;
}

/** True when `timestamp` is at most the allowance ahead of `now` (the boundary itself is accepted). */
export function withinFutureAllowance(timestamp: number, now: number = Date.now()): boolean {
  return timestamp <= now + allowanceMs;
}

function duration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}

/** The field error of a timestamp beyond the allowance, for producers to act on. */
export function futureTimestampMessage(timestamp: unknown): string {
  // new Date() of a number beyond ±8.64e15 ms is an Invalid Date, whose toISOString() throws.
  const when = typeof timestamp === 'number' && Math.abs(timestamp) <= 8.64e15 ? new Date(timestamp).toISOString() : String(timestamp);
  return `${when} is more than ${duration(allowanceMs)} in the future by this service's clock (EVENT_FUTURE_ALLOWANCE_SECONDS=${allowanceMs / 1000}): send the time the event happened`;
}
