import type { z } from 'zod';
import { actionEventSchema, SCHEMA_VERSION, TIMESTAMP_IN_FUTURE, type ActionEvent } from './schema.ts';
import { compileFastCheck } from './fast-check.ts';
import { parseBoundedJson } from './bounded-json.ts';

/** Largest accepted serialised event. A real event is ~0.5 KB; anything near this is a bug upstream. */
export const MAX_EVENT_BYTES = 16 * 1024;

export interface FieldError {
  /** Dotted field path, e.g. `node_type`, or `` for the whole value. */
  path: string;
  message: string;
}

/**
 * Why a message could not be accepted; the stable codes the dead-letter topic and dashboards group by.
 * `timestamp_in_future`: the event is valid but for a time further ahead than the future allowance
 * (future-allowance.ts); it has a code of its own because the fix is the producer's clock, not its code.
 */
export type RejectReason = 'invalid_json' | 'oversized' | 'schema_invalid' | 'unsupported_schema_version' | typeof TIMESTAMP_IN_FUTURE;

export type ValidationResult =
  | { ok: true; event: ActionEvent }
  | { ok: false; reason: RejectReason; errors: FieldError[] };

function toFieldErrors(error: z.ZodError): FieldError[] {
  // Unknown fields get one error each, at their own path, like every other problem.
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key].map(String).join('.'), message: 'unknown field' }))
      : [{ path: issue.path.map(String).join('.'), message: issue.message }],
  );
}

/** Accept-only predicate compiled from actionEventSchema (undefined if it ever cannot be: zod alone then). */
const fastAccept = compileFastCheck(actionEventSchema);

/** Validates a parsed value against the contract and returns every problem, each with its field path. */
export function validateEvent(value: unknown): ValidationResult {
  // Valid events (nearly all) take the compiled check and keep their object; zod explains the rest.
  if (fastAccept?.(value)) return { ok: true, event: value as ActionEvent };
  const parsed = actionEventSchema.safeParse(value);
  if (parsed.success) return { ok: true, event: parsed.data };
  const version = (value as { schema_version?: unknown } | null)?.schema_version;
  const onlyFuture = parsed.error.issues.every((i) => i.code === 'custom' && i.params?.reason === TIMESTAMP_IN_FUTURE);
  const reason: RejectReason =
    typeof version === 'number' && version !== SCHEMA_VERSION ? 'unsupported_schema_version' : onlyFuture ? TIMESTAMP_IN_FUTURE : 'schema_invalid';
  return { ok: false, reason, errors: toFieldErrors(parsed.error) };
}

/** Decodes one serialised event (a Kafka value or an HTTP body element) and validates it. */
export function decodeEvent(bytes: Buffer | string | null | undefined): ValidationResult {
  if (bytes == null || bytes.length === 0) {
    return { ok: false, reason: 'invalid_json', errors: [{ path: '', message: 'empty message' }] };
  }
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  if (size > MAX_EVENT_BYTES) {
    return { ok: false, reason: 'oversized', errors: [{ path: '', message: `${size} bytes exceeds ${MAX_EVENT_BYTES}` }] };
  }
  const parsed = parseBoundedJson(bytes);
  if (!parsed.ok) {
    // Too deep is well-formed JSON that no event can be (an event is one flat object).
    const reason: RejectReason = parsed.problem === 'too_deep' ? 'schema_invalid' : 'invalid_json';
    return { ok: false, reason, errors: [{ path: '', message: parsed.message }] };
  }
  const value = parsed.value;
  return validateEvent(value);
}

export function formatErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.path || '(event)'}: ${e.message}`).join('; ');
}
