// With --test, installs the Debian packages the test suite needs when any is missing
// (scripts/setup-debian.sh: chromium for the browser test, kcat for librdkafka-produced batches).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.argv.includes('--test')) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const r = spawnSync('sh', [join(root, 'scripts/setup-debian.sh')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
