import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Secrets the local default run needs but a newcomer has not configured (the CRM token encryption key, the
 * admin token, an ingest HMAC secret): generated once, kept under the data folder with owner-only
 * permissions, reused on the next start so stored tokens stay readable. Production sets them by config.
 */
export function localSecret(dataDir: string, name: string, bytes = 32): string {
  const file = join(dataDir, 'secrets', name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const value = randomBytes(bytes).toString('hex');
  writeFileSync(file, value, { mode: 0o600 });
  return value;
}
