import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Secrets and customer data are redacted by path as a second line of defence;
 * the first is never putting them in a log call.
 */
export const REDACT_PATHS = [
  'token',
  'accessToken',
  'apiKey',
  'secret',
  'password',
  'authorization',
  '*.token',
  '*.apiKey',
  '*.secret',
  '*.password',
  '*.authorization',
  'headers.authorization',
  'headers["x-crm-api-key"]',
  'req.headers.authorization',
  'contact',
  '*.contact',
  'phone',
  '*.phone',
];

export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  return pino(
    { name: options.name ?? 'actionpulse', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    options.destination as never,
  );
}

/**
 * The agent runtime's logger when its host passes none: JSON lines on stderr, never stdout, which is the host
 * program's own output (a CLI's result, a protocol on stdio).
 */
export function createStderrLogger(level: string): Logger {
  return pino({ name: 'actionpulse', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.destination({ dest: 2, sync: true }));
}

/** A logger that writes nothing, for tests and benchmarks that assert on behaviour, not logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
