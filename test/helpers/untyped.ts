/**
 * A value as a plain JavaScript caller (or a model's tool call) may pass it, past the TypeScript types: what the
 * run-time validation at the boundary must refuse. The type is whatever the call site expects.
 */
export function untyped<T>(value: unknown): T {
  return value as T;
}
