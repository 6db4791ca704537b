import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

/**
 * Something the operator can fix (the service is not running, no admin token, Kafka unreachable): printed as
 * one line that says how, without a stack trace. Exit codes from sysexits.h: 69 unavailable, 78 config.
 */
export class OperatorError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const EX_UNAVAILABLE = 69;
export const EX_CONFIG = 78;

/** node:util parseArgs, with unknown options reported as usage errors (exit 2) instead of stack traces. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Accepts ISO-8601 times and relative ones like `2h`, `30m`, `7d` (meaning "that long ago"). */
export function parseTime(value: string, now = Date.now()): number {
  const rel = /^(\d+)(s|m|h|d)$/.exec(value);
  if (rel) return now - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`not a time: '${value}' (use ISO-8601 like 2026-11-25T10:00:00Z, or 2h / 30m / 7d ago)`);
  return t;
}
